from __future__ import annotations

from typing import Protocol

from domain.users.password_reset import PasswordResetRequest


class PasswordResetRepository(Protocol):
    """Pending password resets, looked up by the hash of their token."""

    async def add(self, request: PasswordResetRequest) -> PasswordResetRequest: ...

    async def get_by_token_hash(self, token_hash: str) -> PasswordResetRequest | None: ...

    async def save_redemption(self, request: PasswordResetRequest) -> bool:
        """Record that the request was used, unless it was used meanwhile.

        False when another transaction redeemed it first: the check and the
        write are one atomic step, so a token works once even under races.
        """
        ...

    async def invalidate_for_user(self, user_id: int) -> None:
        """Drop every pending reset of the user (after a successful reset)."""
        ...
