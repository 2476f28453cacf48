"""Market time for the paper replay: stored candles played back `speed` times faster
than the wall clock, from an anchor that every process shares through the database."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.ports.clock import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReplayAnchor:
    replay_start_ms: int
    wall_start: datetime
    speed: float

    def market_time(self, wall_now: datetime) -> datetime:
        elapsed = (wall_now - self.wall_start).total_seconds() * self.speed
        return datetime.fromtimestamp(self.replay_start_ms / 1000, UTC) + timedelta(seconds=elapsed)


# Returns the shared anchor, creating it if it can (None while there is nothing to replay).
AnchorSource = Callable[[datetime], Awaitable[ReplayAnchor | None]]


class ReplayClock(Clock):
    """Wall time until anchored (no candles stored yet), replay time after."""

    def __init__(self, wall: Clock, anchor_source: AnchorSource) -> None:
        self._wall = wall
        self._anchor_source = anchor_source
        self.anchor: ReplayAnchor | None = None

    async def ensure_anchored(self) -> None:
        if self.anchor is None:
            self.anchor = await self._anchor_source(self._wall.now())
            if self.anchor is None:
                log.warning("paper replay: no stored candles yet (tradebot data import)")

    def now(self) -> datetime:
        if self.anchor is None:
            return self._wall.now()
        return self.anchor.market_time(self._wall.now())

    def wall_now(self) -> datetime:
        return self._wall.now()
