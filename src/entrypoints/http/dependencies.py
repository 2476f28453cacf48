"""Bridges from Litestar's DI to the container kept on `app.state` (see STYLE.md, Wiring)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from application.auth.authenticate import Authenticate
from domain.users.errors import InvalidToken
from domain.users.user import User
from entrypoints.http.request_limits import count_user_request

USER_ID_STATE_KEY = "user_id"


def use_case(name: str) -> Provide:
    """A Litestar dependency that builds the named use case from the container per request."""

    def provide(state: State) -> Any:
        return getattr(state.container, name)()

    provide.__name__ = f"provide_{name}"
    return Provide(provide, sync_to_thread=False)


def user_use_case(name: str) -> Provide:
    """`use_case` for routes with a `current_user` dependency: built once the user is known.

    Depending on `current_user` also puts it in a later batch than the user: Litestar
    resolves independent dependencies of one batch concurrently, in a task group that
    costs more per request than building the use case."""

    build = use_case(name).dependency

    def provide(state: State, current_user: NamedDependency[Any]) -> Any:
        return build(state)

    provide.__name__ = f"provide_{name}"
    return Provide(provide, sync_to_thread=False)


async def provide_current_user(request: Request[Any, Any, Any]) -> User:
    """The user of the bearer token, or 401; 429 past the per-user limit.

    Records the id for the access log."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("Not authenticated")
    authenticate: Authenticate = request.app.state.container.authenticate()
    user = await authenticate.execute(token.strip())
    request.scope.setdefault("state", {})[USER_ID_STATE_KEY] = user.id
    assert user.id is not None
    await count_user_request(request, user.id)
    return user


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"
