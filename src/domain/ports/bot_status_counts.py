from __future__ import annotations

from typing import Protocol


class BotStatusCounts(Protocol):
    async def counts(self) -> dict[str, int]:
        """How many bots, over all users, are in each status that has any."""
        ...
