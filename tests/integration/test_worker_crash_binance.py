"""`tradebot worker` trading through ccxt against the loopback Binance stub, killed
with SIGKILL right after committing its decisions and right after an order came back,
several times in a row: the stub ends with exactly one order per decision, matched to
its intent (side and amount) and to exactly one trade.

Binance candles close in real time, so the bots are set up as if they had been running
and had not yet seen the newest closed minute: the first evaluation of each bot after a
(re)start decides at once, with no waiting; half of them enter, half (already holding
coins) take their profit."""

from __future__ import annotations

import signal
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import msgspec
import pytest
from sqlalchemy import func, select

from adapters.persistence.tables import order_intents, trades
from adapters.rate_limit.limits_rate_limiter import DisabledRateLimiter
from adapters.security.argon2_hasher import fast_test_hasher
from domain.trading.risk_engine import Side, TradingState
from entrypoints.container import Container, build_container, close_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration import exchange_fixtures
from tests.integration.binance_stub import BinanceStub
from tests.integration.bots_api import create_bot, sign_up
from tests.integration.worker_processes import Workers, worker_env
from tests.support.fakes import OutboxMailer

binance_stub = exchange_fixtures.binance_stub

MINUTE = 60_000
KEY = "CrashKey0123456789abcdefGHIJ"
SECRET = "CrashSecret0123456789abcdefKLMN"
BOTS = 4
LEASE_SECONDS = 1.0
# Flat, then up through the slow EMA: a cross up (entry) for a flat bot, and through the
# take profit of a bot holding coins bought at 100.
CLOSES = [100.0] * 38 + [99.0, 110.0]
HELD = Decimal("4")
POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
async def api(settings: Settings, binance_stub: BinanceStub) -> AsyncIterator[Container]:
    container = build_container(
        msgspec.structs.replace(
            settings, exchange="binance", binance_base_url=binance_stub.base_url
        )
    )
    container.password_hasher.override(fast_test_hasher())
    container.rate_limiter.override(DisabledRateLimiter())
    container.mailer.override(OutboxMailer())
    yield container
    await close_container(container)
    container.unwire()


@POSTGRESQL
async def test_sigkill_around_binance_orders_never_duplicates_an_order_nor_loses_a_fill(
    api: Container, binance_stub: BinanceStub, tmp_path: Path
) -> None:
    newest_closed = (int(time.time() * 1000) // MINUTE - 1) * MINUTE
    first = newest_closed - (len(CLOSES) - 1) * MINUTE
    rows = [[first + i * MINUTE, c, c + 0.5, c - 0.5, c, 1.0] for i, c in enumerate(CLOSES)]
    binance_stub.set_klines("BTCUSDT", "spot", rows)
    binance_stub.set_price("BTCUSDT", "100")
    holders = BOTS // 2
    binance_stub.add_account(KEY, SECRET, spot={"USDT": "100000", "BTC": str(HELD * holders)})

    transport = httpx.ASGITransport(app=create_app(api), client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        headers = await sign_up(http, "crash.binance@example.com")
        key = await http.post(
            "/api/v1/api-keys/", json={"api_key": KEY, "secret_key": SECRET}, headers=headers
        )
        assert key.status_code == 201, key.text
        user_id = (await http.get("/api/v1/auth/me", headers=headers)).json()["id"]
        for n in range(BOTS):
            bot = await create_bot(
                http, headers, name=f"bot {n}", timeframe="1m", strategy="ema_crossover",
                ema_fast=2, ema_slow=5, position_size_perc=50.0, stop_loss_perc=None,
                take_profit_perc=5.0, api_key_id=key.json()["id"],
            )  # fmt: skip
            await http.post(f"/api/v1/bot-configs/{bot['id']}/start", headers=headers)
            async with api.uow() as uow:
                state = await uow.bot_states.get(user_id, bot["id"])
                assert state is not None
                state.series_start_ms = first
                state.last_candle_ms = newest_closed - MINUTE
                if n < holders:  # bought at 100 some candles ago
                    state.engine = holding(newest_closed)
                await uow.bot_states.update(state)
                await uow.commit()

    base_env = worker_env(
        api.settings(),
        tmp_path,
        TRADEBOT_EXCHANGE="binance",
        TRADEBOT_BINANCE_BASE_URL=binance_stub.base_url,
        TRADEBOT_WORKER_CONCURRENCY="1",  # bots one after another: each kill lands as planned
        TRADEBOT_WORKER_LEASE_SECONDS=str(LEASE_SECONDS),
    )
    log_path = tmp_path / "worker.log"
    # After the first bot commits its two decisions; after its first order returns (not
    # recorded); after its second; after the second bot commits; after its second order.
    crashes = [
        "intents_committed=1",
        "order_sent=1",
        "order_sent=1",
        "intents_committed=1",
        "order_sent=1",
    ]
    envs = [{**base_env, "TRADEBOT_FAILPOINTS": failpoint} for failpoint in crashes]
    with Workers([(env, log_path) for env in [*envs, base_env]]) as workers:
        for failpoint in crashes:
            worker = workers.start()
            assert worker.wait(60) == -signal.SIGKILL, (failpoint, log_path.read_text()[-3000:])
            # The next worker starts once the lease of the bot the dead one was evaluating
            # has run out, so that it goes on with that bot.
            time.sleep(LEASE_SECONDS)
        survivor = workers.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and await _count(api, trades) < BOTS:
            time.sleep(0.1)
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(30) == 0, log_path.read_text()[-3000:]

    orders = binance_stub.orders(KEY)
    async with api.engine().connect() as connection:
        intents = (await connection.execute(select(order_intents))).all()
        recorded = (await connection.execute(select(trades))).all()
    assert len(intents) == BOTS, "one decision per bot"
    assert {i.status for i in intents} == {"filled"}
    assert sorted(i.reason for i in intents) == ["entry"] * holders + ["take_profit"] * holders
    # Matched, not counted: each order is one intent's (side and amount) and one trade's.
    by_client_id = {i.client_order_id: i for i in intents}
    assert len(orders) == len(by_client_id) == BOTS
    step = binance_stub.markets["spot"]["BTCUSDT"].step_size
    for order in orders:
        intent = by_client_id[order.client_order_id]
        assert order.side.lower() == intent.side
        assert 0 <= intent.amount - order.orig_qty < step  # the amount, to the lot size
        [trade] = [t for t in recorded if t.binance_order_id == str(order.order_id)]
        assert (trade.bot_config_id, trade.quantity_filled) == (
            intent.bot_config_id, order.executed_qty,
        )  # fmt: skip
    assert len(recorded) == BOTS, "every fill is a trade, once"


def holding(newest_closed: int) -> TradingState:
    """A bot that bought HELD coins at 100 some candles ago (its take profit at 105)."""
    return TradingState(
        cash=1000.0 - 400.0, side=Side.LONG, quantity=float(HELD), entry_price=100.0,
        entry_index=30, entry_cost=400.0, take_profit_price=105.0, extreme_price=100.0,
        day=newest_closed // 86_400_000, day_start_equity=1000.0,
    )  # fmt: skip


async def _count(api: Container, table: object) -> int:
    async with api.engine().connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar())
