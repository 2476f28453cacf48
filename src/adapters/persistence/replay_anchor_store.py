"""The paper replay's anchor row: created once, by whichever process starts first."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from adapters.exchange.replay.replay_clock import ReplayAnchor
from adapters.persistence.tables import paper_replay
from domain.ports.candle_store import CandleStore

log = logging.getLogger(__name__)
HISTORY_CANDLES = 300  # by default the replay starts this far into the stored data


class ReplayAnchorStore:
    def __init__(
        self, session_factory: async_sessionmaker[Any], candles: CandleStore, exchange_id: str
    ) -> None:
        self._sessions = session_factory
        self._candles = candles
        self._exchange_id = exchange_id

    async def load_or_create(
        self, speed: float, start: datetime | None, wall_now: datetime
    ) -> ReplayAnchor | None:
        """The stored anchor; else a new one starting at `start`, or HISTORY_CANDLES
        into the oldest stored series; None while nothing is stored to replay."""
        stored = await self._load()
        if stored is not None:
            if stored.speed != speed:
                log.warning(
                    "paper replay runs at the stored speed %sx, not %sx", stored.speed, speed
                )
            return stored
        if start is not None:
            start_ms = int(start.timestamp() * 1000)
        else:
            series = [
                s for s in await self._candles.series() if s.key.exchange == self._exchange_id
            ]
            if not series:
                return None
            oldest = min(series, key=lambda s: s.first_open_ms)
            last = oldest.last_open_ms
            start_ms = min(
                oldest.first_open_ms + HISTORY_CANDLES * oldest.key.timeframe.milliseconds, last
            )
        try:
            async with self._sessions() as session, session.begin():
                await session.execute(
                    insert(paper_replay).values(
                        id=1, replay_start_ms=start_ms, wall_start=wall_now, speed=speed
                    )
                )
        except IntegrityError:
            pass  # another process anchored first: theirs is the replay
        anchor = await self._load()
        if anchor is not None:
            log.info(
                "paper replay anchored: market time %s at %sx",
                anchor.market_time(anchor.wall_start).isoformat(),
                anchor.speed,
            )
        return anchor

    async def _load(self) -> ReplayAnchor | None:
        async with self._sessions() as session:
            row = (
                await session.execute(select(paper_replay).where(paper_replay.c.id == 1))
            ).first()
        if row is None:
            return None
        return ReplayAnchor(row.replay_start_ms, row.wall_start, row.speed)
