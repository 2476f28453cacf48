"""How many bots are in each status, over all users: the `tradebot_bots` gauge."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.tables import bot_states
from domain.ports.bot_status_counts import BotStatusCounts


class SqlBotStatusCounts(BotStatusCounts):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def counts(self) -> dict[str, int]:
        query = select(bot_states.c.status, func.count()).group_by(bot_states.c.status)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {str(status): int(count) for status, count in rows}
