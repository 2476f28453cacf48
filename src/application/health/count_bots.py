from __future__ import annotations

from domain.bots.bot_state import BotStatus
from domain.ports.bot_status_counts import BotStatusCounts


class CountBotsByStatus:
    """Bots per status over all users (the `tradebot_bots` gauge of `/metrics`)."""

    def __init__(self, counts: BotStatusCounts) -> None:
        self._counts = counts

    async def execute(self) -> dict[str, int]:
        """Every status, zero included, so that a series never vanishes from a dashboard."""
        counts = await self._counts.counts()
        return {status.value: counts.get(status.value, 0) for status in BotStatus}
