"""The price feed: one upstream poll per symbol whatever the number of listeners."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

from application.market_data.price_feed import PriceFeed
from domain.exchange.market import MarketType
from domain.exchange.ticker import Ticker
from tests.support.fakes import FakeExchange

SPOT = MarketType.SPOT


class CountingExchange(FakeExchange):
    def __init__(self) -> None:
        super().__init__()
        self.tickers = 0

    async def fetch_ticker(self, market_type: MarketType, symbol: str) -> Ticker:
        self._touch("fetch_ticker")
        self.tickers += 1
        price = Decimal(100 + self.tickers)
        return Ticker(symbol, price, price, price, datetime.now(UTC))


async def test_two_listeners_of_one_symbol_share_one_poll_that_stops_with_the_last() -> None:
    exchange = CountingExchange()
    feed = PriceFeed(exchange, poll_seconds=0.05)
    first, second = feed.listen(SPOT, "BTCUSDT"), feed.listen(SPOT, "BTCUSDT")
    a = [await asyncio.wait_for(anext(first), 1) for _ in range(3)]
    b = [await asyncio.wait_for(anext(second), 1) for _ in range(3)]
    assert [u.ticker.last for u in a] == [u.ticker.last for u in b]  # type: ignore[union-attr]
    assert feed.polling() == {(SPOT, "BTCUSDT")}
    await first.aclose()
    assert feed.polling() == {(SPOT, "BTCUSDT")}
    await second.aclose()
    assert feed.polling() == set()
    stopped_at = exchange.tickers
    await asyncio.sleep(0.2)
    assert exchange.tickers == stopped_at


async def test_each_symbol_has_its_own_poll() -> None:
    feed = PriceFeed(CountingExchange(), poll_seconds=0.05)
    btc, eth = feed.listen(SPOT, "BTCUSDT"), feed.listen(SPOT, "ETHUSDT")
    assert (await asyncio.wait_for(anext(eth), 1)).ticker.symbol == "ETHUSDT"  # type: ignore[union-attr]
    assert feed.polling() == {(SPOT, "BTCUSDT"), (SPOT, "ETHUSDT")}
    await btc.aclose()
    await eth.aclose()


async def test_a_listener_that_does_not_read_keeps_only_the_newest_prices() -> None:
    feed = PriceFeed(CountingExchange(), poll_seconds=0.01, buffer=2)
    idle = feed.listen(SPOT, "BTCUSDT")
    await asyncio.sleep(0.2)
    first = await asyncio.wait_for(anext(idle), 1)
    assert first.ticker is not None and first.ticker.last > 103
    await idle.aclose()


async def test_an_unreachable_exchange_is_reported_to_listeners_and_polling_goes_on() -> None:
    exchange = CountingExchange()
    exchange.unavailable = True
    feed = PriceFeed(exchange, poll_seconds=0.02)
    listener = feed.listen(SPOT, "BTCUSDT")
    update = await asyncio.wait_for(anext(listener), 1)
    assert (update.ticker, update.error) == (None, "Exchange unavailable")
    exchange.unavailable = False
    while (update := await asyncio.wait_for(anext(listener), 1)).ticker is None:
        pass
    assert update.ticker.symbol == "BTCUSDT"
    await listener.aclose()
