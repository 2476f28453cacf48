from __future__ import annotations

from domain.errors import InvalidInput
from domain.exchange.market import MarketType
from domain.ports.exchange_gateway import ExchangeGateway


class ListSymbols:
    """The symbols the exchange lists for a market type, sorted: what a backtest can use.

    The gateway caches the exchange's markets, so asking often costs no requests.
    """

    def __init__(self, exchange: ExchangeGateway) -> None:
        self._exchange = exchange

    async def execute(self, market_type: str) -> list[str]:
        try:
            kind = MarketType(market_type)
        except ValueError:
            raise InvalidInput(
                "Validation failed",
                details={"market_type": [" or ".join(m.value for m in MarketType)]},
            ) from None
        return sorted({market.symbol for market in await self._exchange.fetch_markets(kind)})
