from __future__ import annotations

from dataclasses import dataclass

from domain.ports.clock import Clock
from domain.ports.password_hasher import PasswordHasher
from domain.ports.unit_of_work import UnitOfWork
from domain.users.email import Email
from domain.users.errors import EmailAlreadyRegistered
from domain.users.password_policy import ensure_strong_password
from domain.users.user import User


@dataclass(frozen=True, slots=True)
class RegisterUserCommand:
    email: str
    password: str


class RegisterUser:
    """Open an account: valid email, strong password, one account per email (any case)."""

    def __init__(self, uow: UnitOfWork, hasher: PasswordHasher, clock: Clock) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock

    async def execute(self, command: RegisterUserCommand) -> User:
        email = Email(command.email)
        ensure_strong_password(command.password)
        async with self._uow:
            if await self._uow.users.get_by_email(email) is not None:
                raise EmailAlreadyRegistered()
        password_hash = await self._hasher.hash(command.password)
        async with self._uow:
            user = await self._uow.users.add(
                User(email=email, password_hash=password_hash, created_at=self._clock.now())
            )
            await self._uow.commit()
        return user
