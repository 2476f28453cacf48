"""The bot worker on the paper exchange fed by the replay of stored candles: the same
code path as production (leases, EvaluateBot, paper fills), with the wall clock under
the test's control so that replay time steps from one candle close to the next."""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest
from dependency_injector import providers
from sqlalchemy import select

from adapters.persistence.tables import order_intents
from adapters.rate_limit.limits_rate_limiter import DisabledRateLimiter
from adapters.security.argon2_hasher import fast_test_hasher
from application.api_keys.exchange_account import paper_account
from application.live.bot_worker import BotWorker
from domain.bots.bot_state import BotStatus
from domain.exchange.market import MarketType
from domain.exchange.order import OrderRequest, OrderSide, OrderType
from domain.market_data.candle import Candle
from domain.market_data.timeframe import Timeframe
from domain.ports.candle_store import CandleKey
from domain.trading.risk_engine import ExitReason, Side
from domain.trading.simulation import CandleSeries, simulate
from entrypoints.container import Container, build_container, close_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration.bots_api import create_bot, sign_up
from tests.support.fakes import FakeClock, OutboxMailer

HOUR = 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
# Enough for each parity case below to enter and exit at least twice, once by a risk
# rule (each case checks it). The backtest opens nothing on its last candle while a live
# bot would: no case may have an entry signal there (so 80 or 85 would not do).
CANDLES = 90
# The cases whose walk runs longer: far enough for a risk exit that the live bot takes
# between candle closes, at the previous close (checked).
EXIT_BETWEEN_CLOSES = {("ema_crossover", "spot"): 160}
SPEED = 3600.0  # one replayed hour per wall second
# Near the real time: access tokens are checked against it too.
WALL_START = datetime.now(UTC).replace(microsecond=0)


def walk(n: int, seed: int) -> list[Candle]:
    """A seeded random walk with trends, so that every rule fires somewhere."""
    rng = random.Random(seed)
    candles = []
    price = 100.0
    for i in range(n):
        drift = 0.6 * math.sin(i / 9.0)
        close = round(max(1.0, price + drift + rng.gauss(0, 1.2)), 4)
        high = round(max(price, close) + abs(rng.gauss(0, 0.8)), 4)
        low = round(min(price, close) - abs(rng.gauss(0, 0.8)), 4)
        candles.append(Candle(T0 + i * HOUR, price, high, low, close, 1.0))
        price = close
    return candles


@pytest.fixture
def wall() -> FakeClock:
    return FakeClock(WALL_START)


@pytest.fixture
def replay(settings: Settings, wall: FakeClock) -> Iterator[Container]:
    container = build_container(
        msgspec.structs.replace(
            settings,
            exchange="paper",
            paper_feed="replay",
            paper_replay_speed=SPEED,
            paper_replay_start=datetime.fromtimestamp(T0 / 1000, UTC),
            paper_futures_balance=settings.paper_spot_balance,
        )
    )
    container.password_hasher.override(fast_test_hasher())
    container.rate_limiter.override(DisabledRateLimiter())
    container.mailer.override(OutboxMailer())
    container.clock.override(providers.Object(wall))
    # Replay semantics: a bot's series starts where it starts trading (no history),
    # so that its backtest over the same candles is the comparison.
    container.evaluate_bot.add_kwargs(history_candles=0)
    yield container
    container.unwire()


@pytest.fixture
async def http(replay: Container) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(replay), client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await close_container(replay)


async def store(replay: Container, candles: list[Candle]) -> None:
    for market_type in MarketType:
        key = CandleKey("binance", market_type, "BTCUSDT", Timeframe("1h"))
        await replay.candle_store().upsert(key, candles)
        await replay.candle_store().mark_covered(key, T0, T0 + len(candles) * HOUR - 1)


async def run_replay(worker: BotWorker, wall: FakeClock, candles: int) -> None:
    """Step replay time to just after each candle's close and let the worker act."""
    for closed in range(1, candles + 1):
        wall.current = WALL_START + timedelta(seconds=closed * HOUR / 1000 / SPEED + 0.001)
        await worker.tick()


def backtest_fills(config: Any, candles: list[Candle]) -> list[tuple[str, tuple[float, ...], str]]:
    """(side, the prices a live bot may fill at, reason) of every fill the backtest
    makes, minus the final forced close that a live bot never makes."""
    series = CandleSeries(
        [c.open_time_ms for c in candles], [c.open for c in candles], [c.high for c in candles],
        [c.low for c in candles], [c.close for c in candles],
    )  # fmt: skip
    result = simulate(
        series,
        config.strategy,
        config.strategy_params(),
        config.risk_params(),
        float(config.initial_capital),
    )
    fills = []
    for t in result.trades:
        long = t.side is Side.LONG
        fills.append(("BUY" if long else "SELL", (t.entry_price,), "entry"))
        if t.exit_reason is ExitReason.END_OF_DATA:
            continue
        prices: tuple[float, ...] = (t.exit_price,)
        if t.exit_reason is not ExitReason.SIGNAL:
            # A live bot sees prices, not candles: a rule hit inside a candle is filled at
            # the last price when the worker looks, the candle's close, or already at the
            # previous close when that price was beyond the (ratcheted) level.
            prices = (candles[t.exit_index].close, candles[t.exit_index - 1].close)
        fills.append(("SELL" if long else "BUY", prices, t.exit_reason.value))
    return fills


async def intent_reasons(replay: Container, bot_id: int) -> list[str]:
    async with replay.engine().connect() as connection:
        rows = await connection.execute(
            select(order_intents.c.reason)
            .where(order_intents.c.bot_config_id == bot_id)
            .order_by(order_intents.c.id)
        )
        return [row.reason for row in rows]


STRATEGIES = {
    "ema_crossover": {"ema_fast": 3, "ema_slow": 8},
    "ema_rsi": {"ema_fast": 3, "ema_slow": 8, "rsi_period": 5, "rsi_overbought": 80},
    "rsi_reversion": {"rsi_period": 4, "rsi_oversold": 35, "rsi_overbought": 65},
    "ema_trend": {"ema_period": 6},
    "custom": {
        "custom_ema_fast": 4,
        "custom_ema_slow": 9,
        "custom_rsi_period": 5,
        "custom_rsi_oversold": 30,
        "custom_rsi_overbought": 75,
    },
}


SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@SQLITE
@pytest.mark.parametrize("market_type", ["spot", "futures"])
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
async def test_a_bot_run_by_the_worker_on_the_replay_makes_its_backtests_decisions(
    http: httpx.AsyncClient, replay: Container, wall: FakeClock, strategy: str, market_type: str
) -> None:
    await check_parity(http, replay, wall, strategy, market_type)


@POSTGRESQL
async def test_the_worker_makes_the_backtests_decisions_on_postgresql_too(
    http: httpx.AsyncClient, replay: Container, wall: FakeClock
) -> None:
    await check_parity(http, replay, wall, "ema_rsi", "futures")


async def check_parity(
    http: httpx.AsyncClient, replay: Container, wall: FakeClock, strategy: str, market_type: str
) -> None:
    n = EXIT_BETWEEN_CLOSES.get((strategy, market_type), CANDLES)
    candles = walk(n, seed=len(strategy) * 7 + len(market_type))
    await store(replay, candles)
    headers = await sign_up(http, f"{strategy}-{market_type}@example.com")
    extra = {"leverage": 3} if market_type == "futures" else {}
    bot = await create_bot(
        http, headers, strategy=strategy, position_type=market_type, initial_capital=1000,
        position_size_perc=50.0, stop_loss_perc=2.0, take_profit_perc=3.0,
        trailing_stop_active=True, trailing_stop_perc=2.5, max_daily_trades=50,
        **STRATEGIES[strategy], **extra,
    )  # fmt: skip
    started = await http.post(f"/api/v1/bot-configs/{bot['id']}/start", headers=headers)
    assert started.json()["status"] == "pending"

    await run_replay(replay.bot_worker(), wall, n)

    user_id = (await http.get("/api/v1/auth/me", headers=headers)).json()["id"]
    config = await replay.get_bot_config().execute(user_id, bot["id"])
    expected = backtest_fills(config, candles)
    trades = (await http.get("/api/v1/trades/?limit=500", headers=headers)).json()
    recorded = sorted(trades, key=lambda t: (t["timestamp"], t["id"]))
    assert len(expected) >= 4, "the candles must make the strategy trade"
    reasons = {reason for _, _, reason in expected}
    assert reasons & {"stop_loss", "take_profit", "trailing_stop"}, "risk exits must be covered"
    assert [t["side"] for t in recorded] == [side for side, _, _ in expected]
    assert await intent_reasons(replay, bot["id"]) == [reason for _, _, reason in expected]
    for trade, (_, prices, _) in zip(recorded, expected, strict=True):
        assert any(trade["price"] == pytest.approx(p, rel=1e-7) for p in prices), (trade, prices)
    if (strategy, market_type) in EXIT_BETWEEN_CLOSES:
        assert any(
            len(prices) == 2
            and trade["price"] == pytest.approx(prices[1], rel=1e-7)
            and trade["price"] != pytest.approx(prices[0], rel=1e-7)
            for trade, (_, prices, _) in zip(recorded, expected, strict=True)
        ), "a risk exit at the previous close"
    state = (await http.get(f"/api/v1/bot-states/{bot['id']}", headers=headers)).json()
    assert state["status"] in {BotStatus.RUNNING.value, BotStatus.WAITING.value}
    assert state["last_run_at"] is not None


@SQLITE
async def test_the_worker_leaves_stopped_bots_alone_and_a_restarted_bot_goes_on(
    http: httpx.AsyncClient, replay: Container, wall: FakeClock
) -> None:
    candles = walk(60, seed=3)
    await store(replay, candles)
    headers = await sign_up(http, "stopper@example.com")
    bot = await create_bot(http, headers, strategy="ema_crossover", ema_fast=3, ema_slow=8)
    await http.post(f"/api/v1/bot-configs/{bot['id']}/start", headers=headers)
    worker = replay.bot_worker()
    await run_replay(worker, wall, 10)
    state = (await http.get(f"/api/v1/bot-states/{bot['id']}", headers=headers)).json()
    assert state["status"] == "running"
    ran_at = state["last_run_at"]
    await http.post(f"/api/v1/bot-configs/{bot['id']}/stop", headers=headers)
    wall.advance(timedelta(seconds=5))  # five replayed hours
    assert await worker.tick() == 0
    state = (await http.get(f"/api/v1/bot-states/{bot['id']}", headers=headers)).json()
    assert (state["status"], state["last_run_at"]) == ("stopped", ran_at)
    await http.post(f"/api/v1/bot-configs/{bot['id']}/start", headers=headers)
    assert await worker.tick() == 1
    state = (await http.get(f"/api/v1/bot-states/{bot['id']}", headers=headers)).json()
    assert state["status"] == "running"
    assert state["last_run_at"] != ran_at


@SQLITE
async def test_a_worker_taking_a_bot_pauses_it_when_its_position_is_gone_until_corrected(
    http: httpx.AsyncClient, replay: Container, wall: FakeClock
) -> None:
    candles = walk(CANDLES, seed=11)
    await store(replay, candles)
    headers = await sign_up(http, "reconcile@example.com")
    user_id = (await http.get("/api/v1/auth/me", headers=headers)).json()["id"]
    bot = await create_bot(
        http, headers, strategy="ema_crossover", ema_fast=3, ema_slow=8, initial_capital=1000,
        position_size_perc=50.0, stop_loss_perc=None, take_profit_perc=None,
    )  # fmt: skip
    await http.post(f"/api/v1/bot-configs/{bot['id']}/start", headers=headers)
    worker = replay.bot_worker()
    state: dict[str, Any] = {}
    for closed in range(1, CANDLES + 1):
        wall.current = WALL_START + timedelta(seconds=closed * HOUR / 1000 / SPEED + 0.001)
        await worker.tick()
        state = (await http.get(f"/api/v1/bot-states/{bot['id']}", headers=headers)).json()
        if state["in_position"]:
            break
    assert state["in_position"], "the walk makes the bot buy"

    # Sold by hand on the exchange while no worker was looking.
    account = paper_account(user_id)
    held = await replay.exchange().fetch_spot_free(account, "BTC")
    await replay.exchange().create_order(
        account,
        OrderRequest("BTCUSDT", MarketType.SPOT, OrderSide.SELL, OrderType.MARKET, held, "byhand1"),
    )
    restarted = replay.bot_worker()  # a new worker process: it reconciles first
    wall.advance(timedelta(seconds=0.5))
    await restarted.tick()
    state = (await http.get(f"/api/v1/bot-states/{bot['id']}", headers=headers)).json()
    assert state["status"] == "paused"
    assert state["last_error_message"].startswith("Reconciliation with the exchange: the bot")
    assert "the spot wallet has 0 BTC free" in state["last_error_message"]

    corrected = await http.put(
        f"/api/v1/bot-states/{bot['id']}", json={"in_position": False}, headers=headers
    )
    assert corrected.status_code == 200, corrected.text
    await http.post(f"/api/v1/bot-configs/{bot['id']}/start", headers=headers)
    wall.advance(timedelta(seconds=1))
    await replay.bot_worker().tick()
    state = (await http.get(f"/api/v1/bot-states/{bot['id']}", headers=headers)).json()
    assert (state["status"], state["in_position"]) == ("running", False)


@SQLITE
async def test_a_bot_waits_on_its_daily_trade_cap_and_runs_again_after_midnight_utc(
    http: httpx.AsyncClient, replay: Container, wall: FakeClock
) -> None:
    candles = walk(CANDLES, seed=5)
    await store(replay, candles)
    headers = await sign_up(http, "daily@example.com")
    bot = await create_bot(
        http, headers, strategy="ema_crossover", ema_fast=3, ema_slow=8, max_daily_trades=1,
        stop_loss_perc=None, take_profit_perc=None,
    )  # fmt: skip
    await http.post(f"/api/v1/bot-configs/{bot['id']}/start", headers=headers)
    worker = replay.bot_worker()
    seen: list[tuple[int, str, int]] = []  # (replayed day, status, daily trades)
    for closed in range(1, CANDLES + 1):
        wall.current = WALL_START + timedelta(seconds=closed * HOUR / 1000 / SPEED + 0.001)
        await worker.tick()
        state = (await http.get(f"/api/v1/bot-states/{bot['id']}", headers=headers)).json()
        day = (T0 + closed * HOUR) // (24 * HOUR)
        seen.append((day, state["status"], state["daily_trades_count"]))
    waiting_days = {day for day, status, _ in seen if status == "waiting"}
    assert waiting_days, "one entry a day makes the bot wait"
    followed = 0
    for day in waiting_days:
        assert all(count <= 1 for d, _, count in seen if d == day)
        next_day = [(status, count) for d, status, count in seen if d == day + 1]
        if next_day:
            # The first look of the new day: counters at zero, running again.
            assert next_day[0] == ("running", 0)
            followed += 1
    assert followed, "a waiting day is followed by a replayed day"
