"""Bridges from Litestar's DI to the container kept on `app.state` (see STYLE.md, Wiring)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State

from application.auth.authenticate import Authenticate
from application.auth.login import Login
from application.auth.register_user import RegisterUser
from application.auth.request_password_reset import RequestPasswordReset
from application.auth.reset_password import ResetPassword
from application.health.check_readiness import CheckReadiness
from domain.users.errors import InvalidToken
from domain.users.user import User

USER_ID_STATE_KEY = "user_id"


def provide_register_user(state: State) -> RegisterUser:
    return state.container.register_user()  # type: ignore[no-any-return]


def provide_login(state: State) -> Login:
    return state.container.login()  # type: ignore[no-any-return]


def provide_request_password_reset(state: State) -> RequestPasswordReset:
    return state.container.request_password_reset()  # type: ignore[no-any-return]


def provide_reset_password(state: State) -> ResetPassword:
    return state.container.reset_password()  # type: ignore[no-any-return]


def provide_check_readiness(state: State) -> CheckReadiness:
    return state.container.check_readiness()  # type: ignore[no-any-return]


async def provide_current_user(request: Request[Any, Any, Any]) -> User:
    """The user of the bearer token, or 401. Records the id for the access log."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("Not authenticated")
    authenticate: Authenticate = request.app.state.container.authenticate()
    user = await authenticate.execute(token.strip())
    request.scope.setdefault("state", {})[USER_ID_STATE_KEY] = user.id
    return user


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"
