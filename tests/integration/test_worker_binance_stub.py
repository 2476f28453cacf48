"""The bot worker trading through the real ccxt gateway against the loopback Binance stub:
orders with deterministic client ids, fills recorded as trades, the futures set-up calls,
and what exchange errors do to the bot. The market clock is fake and steps from one
candle close to the next; the stub fills market orders at the close of the candle just
closed, so live fills are the backtest's decisions at the prices a live bot gets."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest
from dependency_injector import providers
from sqlalchemy import select

from adapters.persistence.tables import order_intents
from adapters.persistence.tables import trades as trades_table
from adapters.rate_limit.limits_rate_limiter import DisabledRateLimiter
from adapters.security.argon2_hasher import fast_test_hasher
from application.live.bot_worker import BotWorker
from application.live.exchange_time import ExchangeTime
from domain.bots.order_intent import client_order_id
from domain.market_data.candle import Candle
from domain.trading.risk_engine import ExitReason, Side
from domain.trading.simulation import CandleSeries, simulate
from entrypoints.container import Container, build_container, close_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration import exchange_fixtures
from tests.integration.binance_stub import BinanceStub
from tests.integration.bots_api import BOT_STATES, TRADES, create_bot, sign_up
from tests.integration.fill_pnl import pnl_of_round_trips
from tests.integration.test_bot_worker import walk
from tests.support.fakes import FakeClock, OutboxMailer

# The shared fixture, bound here so that pytest finds it in this module.
binance_stub = exchange_fixtures.binance_stub

HOUR = 3_600_000
KEY = "WorkerKey0123456789abcdefGHIJ"
SECRET = "WorkerSecret0123456789abcdefKLMN"
# On this walk the bot below exits by every rule within 18 candles, and as a futures bot
# goes short and reverses to long at one close (the tests check both).
CANDLES, SEED = 18, 1150
BOT: dict[str, Any] = {
    "strategy": "ema_crossover", "ema_fast": 2, "ema_slow": 5, "position_size_perc": 50.0,
    "stop_loss_perc": 1.5, "take_profit_perc": 3.0, "trailing_stop_active": True,
    "trailing_stop_perc": 2.0, "max_daily_trades": 50,
}  # fmt: skip
FUTURES_BOT = {**BOT, "position_type": "futures", "leverage": 3}
RISK_EXITS = {"stop_loss", "take_profit", "trailing_stop"}
TIMEOUT_SECONDS = 0.5
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@dataclasses.dataclass(frozen=True)
class Expected:
    """A backtest fill as a live bot makes it: its candle and place among that candle's."""

    index: int
    sequence: int
    side: str
    reason: str


def expected_fills(config: Any, candles: list[Candle]) -> list[Expected]:
    """The backtest's fills, minus the final forced close that a live bot never makes."""
    series = CandleSeries(
        [c.open_time_ms for c in candles], [c.open for c in candles], [c.high for c in candles],
        [c.low for c in candles], [c.close for c in candles],
    )  # fmt: skip
    result = simulate(
        series, config.strategy, config.strategy_params(), config.risk_params(),
        float(config.initial_capital),
    )  # fmt: skip
    fills: list[tuple[int, str, str]] = []
    for t in result.trades:
        long = t.side is Side.LONG
        fills.append((t.entry_index, "BUY" if long else "SELL", "entry"))
        if t.exit_reason is not ExitReason.END_OF_DATA:
            fills.append((t.exit_index, "SELL" if long else "BUY", t.exit_reason.value))
    return [
        Expected(index, [i for i, _, _ in fills[:n]].count(index), side, reason)
        for n, (index, side, reason) in enumerate(fills)
    ]


@dataclasses.dataclass
class Live:
    http: httpx.AsyncClient
    container: Container
    stub: BinanceStub
    clock: FakeClock
    worker: BotWorker
    candles: list[Candle]
    headers: dict[str, str] = dataclasses.field(default_factory=dict)

    async def start_bot(self, spot: Any = None, futures: Any = None, **fields: Any) -> int:
        """A user with a stub account behind a stored key, and a started bot on that key."""
        self.stub.add_account(KEY, SECRET, spot=spot, futures=futures)
        self.headers = await sign_up(self.http, "trader@example.com")
        body = {"api_key": KEY, "secret_key": SECRET}
        key = await self.http.post("/api/v1/api-keys/", json=body, headers=self.headers)
        assert key.status_code == 201, key.text
        bot = await create_bot(self.http, self.headers, api_key_id=key.json()["id"], **fields)
        start = f"/api/v1/bot-configs/{bot['id']}/start"
        started = await self.http.post(start, headers=self.headers)
        assert started.json()["status"] == "pending", started.text
        bot_id: int = bot["id"]
        return bot_id

    async def close(self, index: int) -> int:
        """Candle `index` closes at the stub's price; the worker acts on it."""
        self.stub.set_price("BTCUSDT", repr(self.candles[index].close))
        closed_ms = self.candles[index].open_time_ms + HOUR
        self.clock.current = datetime.fromtimestamp(closed_ms / 1000 + 1, UTC)
        return await self.worker.tick()

    async def later(self, seconds: float) -> int:
        """The same candle, `seconds` later: the worker looks at what is due."""
        self.clock.advance(timedelta(seconds=seconds))
        return await self.worker.tick()

    async def run(self, indices: range) -> None:
        for index in indices:
            await self.close(index)

    def client_ids(self, bot_id: int, expected: list[Expected]) -> list[str]:
        at = [self.candles[e.index].open_time_ms for e in expected]
        return [client_order_id(bot_id, t, e.sequence) for t, e in zip(at, expected, strict=True)]

    async def expected(self, bot_id: int) -> list[Expected]:
        user_id = (await self.http.get("/api/v1/auth/me", headers=self.headers)).json()["id"]
        config = await self.container.get_bot_config().execute(user_id, bot_id)
        return expected_fills(config, self.candles)

    async def state(self, bot_id: int) -> Any:
        response = await self.http.get(f"{BOT_STATES}{bot_id}", headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def trades(self) -> list[dict[str, Any]]:
        trades = (await self.http.get(f"{TRADES}?limit=500", headers=self.headers)).json()
        return sorted(trades, key=lambda t: (t["timestamp"], t["id"]))

    async def stored_trades(self) -> list[Any]:
        """The trade rows as stored (exact Decimals), oldest first."""
        query = select(trades_table).order_by(trades_table.c.timestamp, trades_table.c.id)
        async with self.container.engine().connect() as connection:
            return list(await connection.execute(query))

    async def intents(self, bot_id: int) -> list[Any]:
        query = select(order_intents).where(order_intents.c.bot_config_id == bot_id)
        async with self.container.engine().connect() as connection:
            return list(await connection.execute(query.order_by(order_intents.c.id)))


@pytest.fixture
async def live(settings: Settings, binance_stub: BinanceStub) -> AsyncIterator[Live]:
    # Near the real time (access tokens are checked against it); the candles open at the
    # next full hour, and the clock steps past each one's close.
    clock = FakeClock(datetime.now(UTC))
    first = (int(clock.now().timestamp() * 1000) // HOUR + 1) * HOUR
    candles = [
        dataclasses.replace(c, open_time_ms=first + i * HOUR)
        for i, c in enumerate(walk(CANDLES, SEED))
    ]
    rows = [[c.open_time_ms, c.open, c.high, c.low, c.close, c.volume] for c in candles]
    binance_stub.set_klines("BTCUSDT", "spot", rows)
    binance_stub.set_klines("BTCUSDT", "futures", rows)
    container = build_container(
        msgspec.structs.replace(
            settings,
            exchange="binance",
            binance_base_url=binance_stub.base_url,
            exchange_timeout_seconds=TIMEOUT_SECONDS,
        )
    )
    container.password_hasher.override(fast_test_hasher())
    container.rate_limiter.override(DisabledRateLimiter())
    container.mailer.override(OutboxMailer())
    container.clock.override(providers.Object(clock))
    # The stub answers in real time; the test's clock is the exchange's here.
    container.exchange_time.override(providers.Object(ExchangeTime(None, clock)))
    # The bot's series starts with its first candle, so its backtest is the comparison.
    container.evaluate_bot.add_kwargs(history_candles=0)
    transport = httpx.ASGITransport(app=create_app(container), client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Live(http, container, binance_stub, clock, container.bot_worker(), candles)
    await close_container(container)
    container.unwire()


def position(stub: BinanceStub, path: str) -> int:
    """Where the first request to `path` is in the stub's log."""
    first = stub.requests_to(path, "POST")[0]
    return next(n for n, r in enumerate(stub.requests) if r is first)


@POSTGRESQL  # the other tests run on SQLite
async def test_spot_entries_and_exits_reach_the_stub_with_deterministic_ids_and_become_trades(
    live: Live,
) -> None:
    bot_id = await live.start_bot(**BOT)
    # Two round trips.
    expected = (await live.expected(bot_id))[:4]
    assert [e.reason == "entry" for e in expected] == [True, False] * 2

    await live.run(range(expected[-1].index + 1))

    ids = live.client_ids(bot_id, expected)
    orders = live.stub.orders(KEY)
    assert [o.client_order_id for o in orders] == ids
    assert {(o.market_type, o.type, o.status) for o in orders} == {("spot", "MARKET", "FILLED")}
    assert [o.side for o in orders] == [e.side for e in expected]
    sent = live.stub.requests_to("/api/v3/order", "POST")
    assert [r.params["newClientOrderId"] for r in sent] == ids
    trades = await live.trades()
    assert [t["binance_order_id"] for t in trades] == [str(o.order_id) for o in orders]
    assert [t["side"] for t in trades] == [e.side for e in expected]
    closes = [live.candles[e.index].close for e in expected]
    assert [t["price"] for t in trades] == pytest.approx(closes, rel=1e-6)
    assert [t["quantity_filled"] for t in trades] == [float(o.executed_qty) for o in orders]
    assert (await live.state(bot_id))["status"] == "running"


@SQLITE
async def test_stop_loss_take_profit_and_trailing_stop_exits_are_sent_to_the_stub(
    live: Live,
) -> None:
    bot_id = await live.start_bot(**BOT)
    expected = await live.expected(bot_id)
    reasons = [e.reason for e in expected]
    assert set(reasons) >= RISK_EXITS, "the candles must fire every risk rule"

    await live.run(range(expected[-1].index + 1))

    intents = await live.intents(bot_id)
    assert [i.reason for i in intents] == reasons
    assert [i.client_order_id for i in intents] == live.client_ids(bot_id, expected)
    assert {i.status for i in intents} == {"filled"}
    by_client_id = {o.client_order_id: o for o in live.stub.orders(KEY)}
    for intent in intents:
        order = by_client_id[intent.client_order_id]
        assert intent.exchange_order_id == str(order.order_id)
        assert order.side == ("BUY" if intent.reason == "entry" else "SELL")
    # Every exit's PnL is its fills' (and its entry's), exactly; not the engine's guess.
    orders = [by_client_id[i.client_order_id] for i in intents]
    assert [t.pnl for t in await live.stored_trades() if t.side == "SELL"] == (
        pnl_of_round_trips(orders)
    )


@SQLITE
async def test_a_futures_bot_transfers_and_sets_leverage_before_its_first_futures_order(
    live: Live,
) -> None:
    bot_id = await live.start_bot(
        spot={"USDT": "5000"}, futures={"USDT": "0"}, auto_transfer_funds=True,
        transfer_amount=1000, **FUTURES_BOT,
    )  # fmt: skip
    # A short, reversed to a long at one close (two orders), then the long's exit.
    expected = (await live.expected(bot_id))[:4]
    assert [(e.side, e.reason == "entry", e.sequence) for e in expected] == [
        ("SELL", True, 0), ("BUY", False, 0), ("BUY", True, 1), ("SELL", False, 0)
    ]  # fmt: skip

    await live.run(range(expected[-1].index + 1))

    transfers = live.stub.requests_to("/sapi/v1/asset/transfer", "POST")
    assert [(r.params["type"], r.params["asset"], r.status) for r in transfers] == [
        ("MAIN_UMFUTURE", "USDT", 200)
    ]
    assert float(transfers[0].params["amount"]) == 1000
    leverage = live.stub.requests_to("/fapi/v1/leverage", "POST")
    assert [(r.params["symbol"], r.params["leverage"]) for r in leverage] == [("BTCUSDT", "3")]
    stub = live.stub
    assert stub.account(KEY).leverage == {"BTCUSDT": 3}
    assert stub.account(KEY).spot_free["USDT"] == 4000
    assert position(stub, "/sapi/v1/asset/transfer") < position(stub, "/fapi/v1/leverage")
    assert position(stub, "/fapi/v1/leverage") < position(stub, "/fapi/v1/order")
    assert stub.requests_to("/api/v3/order") == []
    orders = stub.orders(KEY)
    assert [o.client_order_id for o in orders] == live.client_ids(bot_id, expected)
    assert {o.market_type for o in orders} == {"futures"}
    assert [(o.side, o.reduce_only) for o in orders] == [
        (e.side, e.reason != "entry") for e in expected
    ]
    trades = await live.trades()
    assert [t["binance_order_id"] for t in trades] == [str(o.order_id) for o in orders]
    assert (await live.state(bot_id))["status"] == "running"


async def first_entry(live: Live, bot_id: int) -> int:
    return next(e.index for e in await live.expected(bot_id) if e.reason == "entry")


@SQLITE
async def test_revoked_credentials_stop_the_bot_at_its_next_order_with_a_clear_error(
    live: Live,
) -> None:
    bot_id = await live.start_bot(**BOT)
    entry = await first_entry(live, bot_id)
    await live.run(range(entry))
    live.stub.remove_account(KEY)

    await live.close(entry)

    state = await live.state(bot_id)
    assert state["status"] == "stopped"
    # Ours and the exchange's own words: the check against the account, before any
    # decision, finds the key refused; no order is sent with it.
    assert state["last_error_message"].startswith("Invalid API credentials: Invalid API-key")
    assert live.stub.orders() == []
    assert all(i.status != "pending" for i in await live.intents(bot_id))
    assert await live.close(entry + 1) == 0


@SQLITE
async def test_insufficient_funds_stop_the_bot_with_a_clear_error(live: Live) -> None:
    bot_id = await live.start_bot(spot={"USDT": "100"}, **BOT)  # the bot spends 500
    entry = await first_entry(live, bot_id)

    await live.run(range(entry + 1))

    state = await live.state(bot_id)
    assert state["status"] == "stopped"
    assert state["last_error_message"].startswith("Insufficient funds")
    assert "(sending buy BTCUSDT)" in state["last_error_message"]
    assert live.stub.orders(KEY) == []
    assert await live.trades() == []
    assert await live.close(entry + 1) == 0


async def until_placed(stub: BinanceStub, client_id: str) -> None:
    """The stub answers a slow request late but still places the order: wait for it."""
    for _ in range(500):
        if any(o.client_order_id == client_id for o in stub.orders(KEY)):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"order {client_id} never reached the stub")


@SQLITE
@pytest.mark.parametrize(("fault", "posts"), [("http_500", ["http_500", None]), ("slow", ["slow"])])
async def test_an_exchange_failure_keeps_the_bot_running_and_never_duplicates_the_order(
    live: Live, fault: str, posts: list[str | None]
) -> None:
    bot_id = await live.start_bot(**BOT)
    expected = await live.expected(bot_id)
    entry = expected[0].index
    assert expected[1].index == entry + 1
    await live.run(range(entry))
    # One failing order request: a 5xx before the order is placed, or an answer that
    # comes after the gateway gave up although the order is placed.
    live.stub.inject_fault(
        fault, path_prefix="/api/v3/order", times=1, delay_seconds=2 * TIMEOUT_SECONDS
    )

    await live.close(entry)

    state = await live.state(bot_id)
    assert (state["status"], state["last_error_message"]) == ("running", None)
    [intent] = await live.intents(bot_id)
    assert intent.status == "pending"
    if fault == "slow":
        await until_placed(live.stub, intent.client_order_id)
    # Asked for again soon, within the candle: found (slow) or sent again (5xx), once.
    await live.later(seconds=31)
    await live.close(entry + 1)

    sent = live.stub.requests_to("/api/v3/order", "POST")
    retried = [r.fault for r in sent if r.params["newClientOrderId"] == intent.client_order_id]
    assert retried == posts
    # The entry once, then the next candle's decision (its stop loss).
    orders = live.stub.orders(KEY)
    assert [o.client_order_id for o in orders] == live.client_ids(bot_id, expected[:2])
    assert [t["binance_order_id"] for t in await live.trades()] == [str(o.order_id) for o in orders]
    assert {i.status for i in await live.intents(bot_id)} == {"filled"}
    assert (await live.state(bot_id))["status"] == "running"


@SQLITE
async def test_a_stopped_bot_is_not_evaluated_and_sends_nothing_to_the_stub(live: Live) -> None:
    bot_id = await live.start_bot(**BOT)
    entry = await first_entry(live, bot_id)
    await live.run(range(entry + 1))
    ran_at = (await live.state(bot_id))["last_run_at"]
    stop = await live.http.post(f"/api/v1/bot-configs/{bot_id}/stop", headers=live.headers)
    assert stop.json()["status"] == "stopped"
    live.stub.clear_requests()
    orders = len(live.stub.orders(KEY))

    evaluated = [await live.close(index) for index in range(entry + 1, CANDLES)]

    assert evaluated == [0] * (CANDLES - entry - 1)
    assert live.stub.requests == []
    assert len(live.stub.orders(KEY)) == orders == 1
    assert (await live.state(bot_id))["last_run_at"] == ran_at


@SQLITE
async def test_a_spot_exit_sells_the_coins_left_after_binance_took_the_buys_fee(
    live: Live,
) -> None:
    bot_id = await live.start_bot(spot={"USDT": "10000"}, **BOT)  # no BTC beside the bot's
    first_exit = next(e.index for e in await live.expected(bot_id) if e.reason != "entry")

    await live.run(range(first_exit + 1))

    buy, sell = live.stub.orders(KEY)
    assert buy.fills[0]["commissionAsset"] == "BTC"
    left = buy.executed_qty - Decimal(buy.fills[0]["commission"])
    assert (sell.side, sell.status) == ("SELL", "FILLED")
    assert left - Decimal("0.00001") < sell.executed_qty <= left  # the market's step
    filled = [t["quantity_filled"] for t in await live.trades()]
    assert filled == [float(buy.executed_qty), float(sell.executed_qty)]
    state = await live.state(bot_id)
    assert (state["status"], state["in_position"]) == ("running", False)
    assert state["last_error_message"] is None
