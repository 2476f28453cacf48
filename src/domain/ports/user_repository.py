from __future__ import annotations

from typing import Protocol

from domain.users.email import Email
from domain.users.user import User


class UserRepository(Protocol):
    """Users, inside the current unit of work. Nothing is committed here."""

    async def add(self, user: User) -> User:
        """Persist a new user and return it with its id; EmailAlreadyRegistered on a duplicate."""
        ...

    async def get(self, user_id: int) -> User | None: ...

    async def get_by_email(self, email: Email) -> User | None: ...

    async def update(self, user: User) -> None: ...

    async def list(self, limit: int, offset: int) -> list[User]: ...
