"""Who is opening an event stream: a bearer token in the Authorization header, or a
one-time ticket in `?ticket=`. A JWT in a URL is refused (URLs end up in logs)."""

from __future__ import annotations

import re

from application.auth.authenticate import Authenticate
from domain.errors import AuthenticationFailed
from domain.ports.stream_tickets import StreamTickets
from domain.ports.unit_of_work import UnitOfWork
from domain.users.user import User

_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
URL_TOKEN_PARAMETERS = ("token", "access_token", "jwt", "authorization")


class StreamAuthenticationFailed(AuthenticationFailed):
    message = "Not authenticated"


class AuthenticateStream:
    def __init__(self, uow: UnitOfWork, authenticate: Authenticate, tickets: StreamTickets) -> None:
        self._uow = uow
        self._authenticate = authenticate
        self._tickets = tickets

    async def issue_ticket(self, user: User) -> str:
        assert user.id is not None
        return await self._tickets.issue(user.id)

    async def execute(
        self, authorization: str | None, ticket: str | None, url_parameters: set[str]
    ) -> User:
        if url_parameters & set(URL_TOKEN_PARAMETERS) or (ticket and _JWT.match(ticket)):
            raise StreamAuthenticationFailed(
                "Tokens in URLs are refused: use POST /api/v1/auth/stream-ticket and ?ticket="
            )
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return await self._authenticate.execute(token.strip())
            raise StreamAuthenticationFailed()
        if not ticket:
            raise StreamAuthenticationFailed()
        user_id = await self._tickets.redeem(ticket)
        if user_id is None:
            raise StreamAuthenticationFailed("Invalid, used or expired stream ticket")
        async with self._uow:
            user = await self._uow.users.get(user_id)
        if user is None or not user.is_active:
            raise StreamAuthenticationFailed()
        return user

    async def still_allowed(self, user: User) -> bool:
        """An open stream may go on: its user is still active and has not reset their
        password (which revokes every token) since the stream opened."""
        assert user.id is not None
        async with self._uow:
            current = await self._uow.users.get(user.id)
        return (
            current is not None
            and current.is_active
            and current.token_version == user.token_version
        )
