from __future__ import annotations

from domain.ports.access_tokens import AccessTokenCodec
from domain.ports.unit_of_work import UnitOfWork
from domain.users.errors import InvalidToken
from domain.users.user import User


class Authenticate:
    """Resolve a bearer token to its active user.

    A token is refused when its signature, algorithm or expiry is wrong, when
    the user is gone or inactive, or when the password was reset after it was
    issued (the token's version is older than the user's).
    """

    def __init__(self, uow: UnitOfWork, tokens: AccessTokenCodec) -> None:
        self._uow = uow
        self._tokens = tokens

    async def execute(self, token: str) -> User:
        claims = self._tokens.verify(token)
        async with self._uow:
            user = await self._uow.users.get(claims.user_id)
        if user is None or not user.is_active or user.token_version != claims.token_version:
            raise InvalidToken()
        return user
