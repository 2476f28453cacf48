from __future__ import annotations

import secrets

from domain.ports.clock import Clock
from domain.ports.password_hasher import PasswordHasher
from domain.ports.unit_of_work import UnitOfWork
from domain.users.email import Email
from domain.users.errors import EmailAlreadyRegistered
from domain.users.user import User

# Owns what operators run from the command line (a backtest needs an owner).
CLI_ACCOUNT_EMAIL = "cli@tradebot.local"


class EnsureLocalAccount:
    """The id of a local account, created on first use.

    The account is created inactive, with a random password that is hashed and
    forgotten, so nobody can log in as it. An operator who wants its backtests in
    the API can `tradebot users activate` it and reset its password.
    """

    def __init__(self, uow: UnitOfWork, hasher: PasswordHasher, clock: Clock) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock

    async def execute(self, email: str = CLI_ACCOUNT_EMAIL) -> int:
        address = Email(email)
        existing = await self._find(address)
        if existing is not None:
            return existing
        password_hash = await self._hasher.hash(secrets.token_urlsafe(32))
        user = User(
            email=address,
            password_hash=password_hash,
            created_at=self._clock.now(),
            is_active=False,
        )
        try:
            async with self._uow:
                user = await self._uow.users.add(user)
                await self._uow.commit()
        except EmailAlreadyRegistered:
            # Another command created it meanwhile.
            found = await self._find(address)
            assert found is not None
            return found
        assert user.id is not None
        return user.id

    async def _find(self, address: Email) -> int | None:
        async with self._uow:
            user = await self._uow.users.get_by_email(address)
        return user.id if user is not None else None
