from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.users.email import Email
from domain.users.errors import InactiveUser


@dataclass(eq=False, slots=True)
class User:
    """An account. Identity equality: two objects are the same user when their ids match."""

    email: Email
    password_hash: str
    created_at: datetime
    is_active: bool = True
    # Bumped by every password reset; tokens carry it, so older tokens stop working.
    token_version: int = 0
    id: int | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, User) and self.id is not None and self.id == other.id

    def __hash__(self) -> int:
        return hash(("User", self.id))

    def ensure_can_log_in(self) -> None:
        if not self.is_active:
            raise InactiveUser()

    def change_password(self, new_hash: str) -> None:
        self.password_hash = new_hash
        self.token_version += 1

    def deactivate(self) -> None:
        self.is_active = False

    def activate(self) -> None:
        self.is_active = True
