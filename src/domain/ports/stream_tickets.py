from __future__ import annotations

from typing import Protocol


class StreamTickets(Protocol):
    """One-time tickets that let a browser's EventSource or WebSocket authenticate
    without putting a JWT in a URL: valid for a few seconds, single use, one user's."""

    async def issue(self, user_id: int) -> str: ...

    async def redeem(self, ticket: str) -> int | None:
        """The ticket's user, once: None when unknown, used or expired."""
        ...
