"""The exchange's clock: candles close by it, not by ours alone. The offset is measured
through the exchange at most once a minute and kept when a measurement fails."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.errors import DomainError
from domain.ports.clock import Clock
from domain.ports.exchange_gateway import ExchangeGateway

REMEASURE_AFTER = timedelta(minutes=1)


class ExchangeTime:
    """`exchange` None: our clock is taken as the exchange's (a test's fake clock)."""

    def __init__(self, exchange: ExchangeGateway | None, clock: Clock) -> None:
        self._exchange = exchange
        self._clock = clock
        self._offset_ms = 0
        self._measured_at: datetime | None = None

    @property
    def offset_ms(self) -> int:
        return self._offset_ms

    async def now_ms(self) -> int:
        before = self._clock.now()
        due = self._measured_at is None or before - self._measured_at >= REMEASURE_AFTER
        if self._exchange is not None and due:
            self._measured_at = before
            try:
                server_ms = await self._exchange.fetch_server_time_ms()
            except DomainError:
                server_ms = None
            if server_ms is not None:
                after = self._clock.now()
                midpoint_ms = (before.timestamp() + after.timestamp()) * 500
                self._offset_ms = int(server_ms - midpoint_ms)
        return int(self._clock.now().timestamp() * 1000) + self._offset_ms
