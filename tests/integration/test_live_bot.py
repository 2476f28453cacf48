"""A paper bot evaluated candle by candle through the real use case: its orders and
trades are the backtest's, and a crash between decision and order never duplicates."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import msgspec
import pytest
from dependency_injector import providers

from adapters.exchange.paper.paper_exchange import PaperExchange, PaperSettings
from application.live.evaluate_bot import EvaluateBot
from domain.bots.bot_state import BotStatus
from domain.exchange.market import MarketType
from domain.exchange.ticker import Ticker
from domain.market_data.candle import Candle
from domain.market_data.timeframe import Timeframe
from domain.ports.candle_store import CandleKey
from domain.trading.risk_engine import ExitReason
from domain.trading.simulation import CandleSeries, simulate
from entrypoints.container import Container
from entrypoints.settings import Settings
from tests.integration.bots_api import create_bot, sign_up
from tests.support.fakes import FakeClock, FakeExchange

HOUR = 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


class ReplayedPrices(FakeExchange):
    """Market data for the paper exchange: the close of the newest closed candle."""

    def __init__(self) -> None:
        super().__init__()
        self.last = Decimal(1)

    async def fetch_ticker(self, market_type: MarketType, symbol: str) -> Ticker:
        return Ticker(symbol, self.last, self.last, self.last, datetime.now(UTC))


def wave(n: int) -> list[Candle]:
    candles = []
    for i in range(n):
        close = round(100 + 10 * math.sin(i / 4.0), 2)
        open_ = round(100 + 10 * math.sin((i - 1) / 4.0), 2)
        candles.append(
            Candle(T0 + i * HOUR, open_, max(open_, close) + 0.5, min(open_, close) - 0.5, close, 1)
        )
    return candles


@pytest.fixture
def prices() -> ReplayedPrices:
    return ReplayedPrices()


@pytest.fixture
def paper(container: Container, settings: Settings, prices: ReplayedPrices) -> Container:
    container.settings.override(msgspec.structs.replace(settings, exchange="paper"))
    container.exchange.override(
        providers.Object(
            PaperExchange(prices, container.session_factory(), container.clock(), PaperSettings())
        )
    )
    return container


async def test_a_replayed_paper_bot_trades_exactly_like_its_backtest(
    client: httpx.AsyncClient, paper: Container, prices: ReplayedPrices
) -> None:
    headers = await sign_up(client, "live@example.com")
    user_id = (await client.get("/api/v1/auth/me", headers=headers)).json()["id"]
    bot = await create_bot(
        client, headers, strategy="ema_crossover", ema_fast=2, ema_slow=3,
        position_size_perc=100.0, stop_loss_perc=3.0, take_profit_perc=None,
    )  # fmt: skip
    assert (await client.post(f"/api/v1/bot-configs/{bot['id']}/start", headers=headers)).json()[
        "status"
    ] == "pending"
    candles = wave(48)
    key = CandleKey("binance", MarketType.SPOT, "BTCUSDT", Timeframe("1h"))
    store = paper.candle_store()
    await store.upsert(key, candles)
    await store.mark_covered(key, T0, T0 + 48 * HOUR - 1)
    clock = FakeClock(datetime.fromtimestamp(T0 / 1000, UTC))
    paper.clock.override(providers.Object(clock))
    evaluate: EvaluateBot = paper.evaluate_bot(history_candles=0)
    for closed in range(1, 49):
        clock.current = datetime.fromtimestamp((T0 + closed * HOUR) / 1000, UTC) + timedelta(
            seconds=5
        )
        prices.last = Decimal(repr(candles[closed - 1].close))
        await evaluate.execute(user_id, bot["id"])

    series = CandleSeries(
        [c.open_time_ms for c in candles], [c.open for c in candles], [c.high for c in candles],
        [c.low for c in candles], [c.close for c in candles],
    )  # fmt: skip
    config = await paper.get_bot_config().execute(user_id, bot["id"])
    backtest = simulate(
        series, config.strategy, config.strategy_params(), config.risk_params(), 1000.0
    )
    expected = []
    for t in backtest.trades:
        expected.append(("BUY", t.entry_price))
        if t.exit_reason is not ExitReason.END_OF_DATA:
            expected.append(("SELL", t.exit_price))
    trades = (await client.get("/api/v1/trades/?limit=500", headers=headers)).json()
    recorded = sorted(trades, key=lambda t: (t["timestamp"], t["id"]))
    assert len(backtest.trades) >= 2
    assert [t["side"] for t in recorded] == [side for side, _ in expected]
    assert [t["price"] for t in recorded] == pytest.approx([price for _, price in expected])
    exits = [t for t in recorded if t["side"] == "SELL"]
    closed = [t for t in backtest.trades if t.exit_reason is not ExitReason.END_OF_DATA]
    assert [t["pnl"] for t in exits] == pytest.approx([t.pnl for t in closed])
    state = (await client.get(f"/api/v1/bot-states/{bot['id']}", headers=headers)).json()
    assert state["status"] in {BotStatus.RUNNING.value, BotStatus.WAITING.value}
    async with paper.uow() as uow:
        assert await uow.order_intents.pending() == []


class FlakyOrders:
    """The paper exchange, except that the next order answers are lost: the order is
    placed (`after`) or not (`before`) and the caller hears only ExchangeUnavailable."""

    def __init__(self, inner: PaperExchange) -> None:
        self._inner = inner
        self.lose: list[str] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    async def create_order(self, account, request):  # type: ignore[no-untyped-def]
        from domain.exchange.errors import ExchangeUnavailable

        mode = self.lose.pop(0) if self.lose else None
        if mode == "before":
            raise ExchangeUnavailable()
        order = await self._inner.create_order(account, request)
        if mode == "after":
            raise ExchangeUnavailable()
        return order


async def test_lost_order_answers_never_duplicate_an_order_nor_lose_a_fill(
    client: httpx.AsyncClient, paper: Container, prices: ReplayedPrices
) -> None:
    from sqlalchemy import func, select

    from adapters.persistence.tables import paper_orders

    flaky = FlakyOrders(paper.exchange())
    paper.exchange.override(providers.Object(flaky))
    headers = await sign_up(client, "crash@example.com")
    user_id = (await client.get("/api/v1/auth/me", headers=headers)).json()["id"]
    bot = await create_bot(
        client, headers, strategy="ema_crossover", ema_fast=2, ema_slow=3,
        position_size_perc=100.0, stop_loss_perc=3.0, take_profit_perc=None,
    )  # fmt: skip
    await client.post(f"/api/v1/bot-configs/{bot['id']}/start", headers=headers)
    candles = wave(48)
    key = CandleKey("binance", MarketType.SPOT, "BTCUSDT", Timeframe("1h"))
    store = paper.candle_store()
    await store.upsert(key, candles)
    await store.mark_covered(key, T0, T0 + 48 * HOUR - 1)
    clock = FakeClock(datetime.fromtimestamp(T0 / 1000, UTC))
    paper.clock.override(providers.Object(clock))
    evaluate: EvaluateBot = paper.evaluate_bot(history_candles=0)
    # Every order is first lost (alternately before and after reaching the exchange).
    flaky.lose = ["before", "after"] * 20
    for closed in range(1, 49):
        clock.current = datetime.fromtimestamp((T0 + closed * HOUR) / 1000, UTC)
        prices.last = Decimal(repr(candles[closed - 1].close))
        await evaluate.execute(user_id, bot["id"])
        # The retry after the "crash", once a missing order can no longer arrive.
        clock.advance(timedelta(seconds=31))
        await evaluate.execute(user_id, bot["id"])

    async with paper.uow() as uow:
        assert await uow.order_intents.pending() == []
    async with paper.engine().connect() as connection:
        orders = (await connection.execute(select(func.count()).select_from(paper_orders))).scalar()
    trades = (await client.get("/api/v1/trades/?limit=500", headers=headers)).json()
    assert orders == len(trades)
    assert len({t["binance_order_id"] for t in trades}) == len(trades)
    assert len(trades) >= 2


async def test_between_candle_closes_a_crossed_stop_is_sold_at_the_last_price(
    client: httpx.AsyncClient, paper: Container, prices: ReplayedPrices
) -> None:
    from sqlalchemy import select

    from adapters.persistence.tables import order_intents

    headers = await sign_up(client, "ticker@example.com")
    user_id = (await client.get("/api/v1/auth/me", headers=headers)).json()["id"]
    bot = await create_bot(
        client, headers, strategy="ema_crossover", ema_fast=2, ema_slow=3,
        position_size_perc=100.0, stop_loss_perc=3.0, take_profit_perc=None,
    )  # fmt: skip
    await client.post(f"/api/v1/bot-configs/{bot['id']}/start", headers=headers)
    candles = wave(48)
    key = CandleKey("binance", MarketType.SPOT, "BTCUSDT", Timeframe("1h"))
    await paper.candle_store().upsert(key, candles)
    await paper.candle_store().mark_covered(key, T0, T0 + 48 * HOUR - 1)
    clock = FakeClock(datetime.fromtimestamp(T0 / 1000, UTC))
    paper.clock.override(providers.Object(clock))
    evaluate: EvaluateBot = paper.evaluate_bot(history_candles=0)
    state = None
    for closed in range(1, 49):
        clock.current = datetime.fromtimestamp((T0 + closed * HOUR) / 1000, UTC)
        prices.last = Decimal(repr(candles[closed - 1].close))
        await evaluate.execute(user_id, bot["id"])
        state = (await client.get(f"/api/v1/bot-states/{bot['id']}", headers=headers)).json()
        if state["in_position"]:
            break
    assert state is not None and state["in_position"], "the wave makes the bot buy"
    stop = state["stop_loss_price"]

    # Half an hour later the price is through the stop: sold now, at that price.
    clock.advance(timedelta(minutes=30))
    prices.last = Decimal(repr(round(stop * 0.99, 2)))
    await evaluate.execute(user_id, bot["id"])

    state = (await client.get(f"/api/v1/bot-states/{bot['id']}", headers=headers)).json()
    assert state["in_position"] is False
    trades = (await client.get("/api/v1/trades/", headers=headers)).json()
    assert trades[0]["side"] == "SELL"
    assert trades[0]["price"] == pytest.approx(round(stop * 0.99, 2))
    assert trades[0]["pnl"] < 0
    async with paper.engine().connect() as connection:
        reasons = (await connection.execute(select(order_intents.c.reason))).scalars().all()
    assert reasons == ["entry", "stop_loss"]
