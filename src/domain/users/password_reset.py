from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.users.errors import InvalidResetToken

RESET_TOKEN_LIFETIME = timedelta(hours=1)


@dataclass(eq=False, slots=True)
class PasswordResetRequest:
    """A pending reset. Only the token's hash is kept; the token itself goes out by mail."""

    user_id: int
    token_hash: str
    expires_at: datetime
    created_at: datetime
    used_at: datetime | None = None
    id: int | None = None

    @classmethod
    def issue(cls, user_id: int, token_hash: str, now: datetime) -> PasswordResetRequest:
        return cls(
            user_id=user_id,
            token_hash=token_hash,
            expires_at=now + RESET_TOKEN_LIFETIME,
            created_at=now,
        )

    def redeem(self, now: datetime) -> None:
        """Mark the request used; a used or expired request cannot be redeemed."""
        if self.used_at is not None or now >= self.expires_at:
            raise InvalidResetToken()
        self.used_at = now
