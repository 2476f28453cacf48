"""The symbols a backtest can use, per market type."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.market_data.list_symbols import ListSymbols
from domain.errors import InvalidInput
from domain.exchange.market import Market, MarketType
from tests.support.fakes import FakeExchange


async def test_symbols_are_the_exchanges_markets_of_that_type_sorted() -> None:
    exchange = FakeExchange()
    exchange.markets[MarketType.SPOT]["ADAUSDT"] = Market(
        "ADAUSDT", "ADA", "USDT", MarketType.SPOT,
        Decimal("0.1"), Decimal("0.0001"), Decimal("0.1"), Decimal("5"),
    )  # fmt: skip

    assert await ListSymbols(exchange).execute("spot") == ["ADAUSDT", "BTCUSDT"]
    assert await ListSymbols(exchange).execute("futures") == ["BTCUSDT"]


async def test_a_market_type_other_than_spot_or_futures_is_invalid() -> None:
    exchange = FakeExchange()

    with pytest.raises(InvalidInput) as rejected:
        await ListSymbols(exchange).execute("margin")

    assert rejected.value.details == {"market_type": ["spot or futures"]}
    assert exchange.calls == []
