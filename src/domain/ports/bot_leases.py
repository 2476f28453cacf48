from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class BotRef:
    user_id: int
    bot_config_id: int


class BotLeases(Protocol):
    """Which worker evaluates which bot. A bot is held by at most one worker at a time;
    a lease that is not renewed expires, and another worker may take the bot."""

    async def claim_due(
        self, owner: str, due_ms: int, now: datetime, lease_seconds: float, limit: int
    ) -> list[BotRef]:
        """Lease up to `limit` active bots that are due by market time `due_ms` (pending
        bots are always due) and held by nobody, or by a lease expired at `now`."""
        ...

    async def renew(
        self, owner: str, bots: Sequence[BotRef], now: datetime, lease_seconds: float
    ) -> None: ...

    async def release(self, owner: str, bot: BotRef, next_due_ms: int | None) -> None:
        """Give the bot back, due again at `next_due_ms` (market time)."""
        ...

    async def release_all(self, owner: str) -> None: ...
