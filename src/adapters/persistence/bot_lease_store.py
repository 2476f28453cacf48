"""Bot leases in the bot_states rows themselves.

PostgreSQL: the due rows are selected `FOR UPDATE SKIP LOCKED`, so concurrent
workers each lock a disjoint batch without waiting on one another, then the
lease is written in the same transaction. SQLite (one writer at a time) has no
row locks; there the conditional UPDATE ... RETURNING alone decides, and it is
also kept on PostgreSQL as a second guard.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from adapters.persistence.tables import bot_states
from domain.bots.bot_state import ACTIVE_STATUSES, BotStatus
from domain.ports.bot_leases import BotLeases, BotRef

_ACTIVE = sorted(s.value for s in ACTIVE_STATUSES)


def _free(now: datetime) -> Any:
    return or_(bot_states.c.lease_owner.is_(None), bot_states.c.lease_expires_at < now)


class SqlBotLeases(BotLeases):
    def __init__(self, session_factory: async_sessionmaker[Any]) -> None:
        self._sessions = session_factory

    async def claim_due(
        self, owner: str, due_ms: int, now: datetime, lease_seconds: float, limit: int
    ) -> list[BotRef]:
        due = or_(
            bot_states.c.status == BotStatus.PENDING.value,
            bot_states.c.due_ms.is_(None),
            bot_states.c.due_ms <= due_ms,
        )
        candidates = (
            select(bot_states.c.id)
            .where(bot_states.c.status.in_(_ACTIVE), due, _free(now))
            .order_by(bot_states.c.due_ms.asc().nulls_first(), bot_states.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self._sessions() as session, session.begin():
            ids = list((await session.execute(candidates)).scalars())
            if not ids:
                return []
            rows = await session.execute(
                update(bot_states)
                .where(bot_states.c.id.in_(ids), _free(now))
                .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds))
                .returning(bot_states.c.user_id, bot_states.c.bot_config_id)
            )
            return [BotRef(row.user_id, row.bot_config_id) for row in rows]

    async def renew(
        self, owner: str, bots: Sequence[BotRef], now: datetime, lease_seconds: float
    ) -> None:
        if not bots:
            return
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(bot_states)
                .where(
                    bot_states.c.lease_owner == owner,
                    bot_states.c.bot_config_id.in_([b.bot_config_id for b in bots]),
                )
                .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
            )

    async def release(self, owner: str, bot: BotRef, next_due_ms: int | None) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(bot_states)
                .where(
                    and_(
                        bot_states.c.bot_config_id == bot.bot_config_id,
                        bot_states.c.user_id == bot.user_id,
                        bot_states.c.lease_owner == owner,
                    )
                )
                .values(lease_owner=None, lease_expires_at=None, due_ms=next_due_ms)
            )

    async def release_all(self, owner: str) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(bot_states)
                .where(bot_states.c.lease_owner == owner)
                .values(lease_owner=None, lease_expires_at=None)
            )
