"""How many bots are in each status, over all users: the `tradebot_bots` gauge."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.tables import bot_states
from domain.bots.bot_state import BotStatus


class SqlBotStatusCounts:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def counts(self) -> dict[str, int]:
        """Every status, zero included, so that a series never vanishes from a dashboard."""
        query = select(bot_states.c.status, func.count()).group_by(bot_states.c.status)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        counts = {status.value: 0 for status in BotStatus}
        counts.update({str(status): int(count) for status, count in rows})
        return counts
