from __future__ import annotations

from dataclasses import dataclass

from domain.ports.unit_of_work import UnitOfWork
from domain.users.email import Email
from domain.users.errors import UserNotFound
from domain.users.user import User


class ListUsers:
    """Every account, oldest first (operators' view)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(self, limit: int = 10_000, offset: int = 0) -> list[User]:
        async with self._uow:
            return await self._uow.users.list(limit=limit, offset=offset)


@dataclass(frozen=True, slots=True)
class SetUserActiveCommand:
    email: str
    active: bool


class SetUserActive:
    """Deactivate (no login, tokens refused) or reactivate an account by email."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(self, command: SetUserActiveCommand) -> User:
        email = Email(command.email)
        async with self._uow:
            user = await self._uow.users.get_by_email(email)
            if user is None:
                raise UserNotFound(details={"email": email.value})
            if command.active:
                user.activate()
            else:
                user.deactivate()
            await self._uow.users.update(user)
            await self._uow.commit()
        return user
