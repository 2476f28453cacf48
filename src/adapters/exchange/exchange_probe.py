from __future__ import annotations

from domain.ports.exchange_gateway import ExchangeGateway
from domain.ports.readiness_probe import ReadinessProbe


class ExchangeProbe(ReadinessProbe):
    name = "exchange"

    def __init__(self, exchange: ExchangeGateway) -> None:
        self._exchange = exchange

    async def check(self) -> None:
        await self._exchange.ping()
