"""`tradebot worker` as operators run it: real processes on PostgreSQL sharing the bots
through leases, killed with SIGKILL at the worst moments, on the paper exchange fed by
the replay of stored candles (so that candles close every second or so)."""

from __future__ import annotations

import itertools
import math
import signal
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import func, select

from adapters.exchange.replay.replay_clock import ReplayClock
from adapters.persistence.tables import order_intents, paper_orders, trades
from adapters.rate_limit.limits_rate_limiter import DisabledRateLimiter
from adapters.security.argon2_hasher import fast_test_hasher
from domain.exchange.market import MarketType
from domain.market_data.candle import Candle
from domain.market_data.timeframe import Timeframe
from domain.ports.candle_store import CandleKey
from entrypoints.container import Container, build_container, close_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration.bots_api import create_bot, sign_up
from tests.integration.worker_processes import Workers, evaluations, worker_env
from tests.support.fakes import OutboxMailer

HOUR = 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
REPLAY_START = T0 + 48 * HOUR  # two days of history before the replay starts
POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def wave(n: int) -> list[Candle]:
    candles = []
    for i in range(n):
        close = round(100 + 10 * math.sin(i / 3.0), 2)
        open_ = round(100 + 10 * math.sin((i - 1) / 3.0), 2)
        high, low = max(open_, close) + 0.4, min(open_, close) - 0.4
        candles.append(Candle(T0 + i * HOUR, open_, high, low, close, 1.0))
    return candles


def replay_settings(settings: Settings, seconds_per_candle: float) -> Settings:
    return msgspec.structs.replace(
        settings,
        exchange="paper",
        paper_feed="replay",
        paper_replay_speed=3600.0 / seconds_per_candle,
        paper_replay_start=datetime.fromtimestamp(REPLAY_START / 1000, UTC),
        auto_migrate=False,
    )


def process_env(settings: Settings, tmp_path: Path, **extra: str) -> dict[str, str]:
    """A worker on the paper exchange fed by the replay of the stored candles."""
    assert settings.paper_replay_start is not None
    return worker_env(
        settings,
        tmp_path,
        TRADEBOT_EXCHANGE="paper",
        TRADEBOT_PAPER_FEED="replay",
        TRADEBOT_PAPER_REPLAY_SPEED=str(settings.paper_replay_speed),
        TRADEBOT_PAPER_REPLAY_START=settings.paper_replay_start.isoformat(),
        **extra,
    )


@pytest.fixture
def replay(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Container]:
    container = build_container(replay_settings(settings, request.param))
    container.password_hasher.override(fast_test_hasher())
    container.rate_limiter.override(DisabledRateLimiter())
    container.mailer.override(OutboxMailer())
    yield container
    container.unwire()


@pytest.fixture
async def http(replay: Container) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(replay), client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await close_container(replay)


async def store_candles(replay: Container, n: int) -> None:
    key = CandleKey("binance", MarketType.SPOT, "BTCUSDT", Timeframe("1h"))
    await replay.candle_store().upsert(key, wave(n))
    await replay.candle_store().mark_covered(key, T0, T0 + n * HOUR - 1)


def wait_for(condition: Callable[[], bool], *logs: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, [path.read_text()[-2000:] for path in logs]
        time.sleep(0.1)


async def sleep_until_before_a_close(replay: Container, seconds: float) -> None:
    """Until `seconds` before the next candle closes in replay time."""
    clock = replay.market_clock()
    assert isinstance(clock, ReplayClock)
    await clock.ensure_anchored()
    now_ms = clock.now().timestamp() * 1000
    to_close = ((now_ms // HOUR + 1) * HOUR - now_ms) / 1000 / replay.settings().paper_replay_speed
    candle = HOUR / 1000 / replay.settings().paper_replay_speed
    time.sleep((to_close - seconds) % candle)


async def count(replay: Container, table: Any) -> int:
    async with replay.engine().connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar())


SECONDS_PER_CANDLE_SHARED = 1.0
LEASE_SECONDS = 2.0


@POSTGRESQL
@pytest.mark.parametrize("replay", [SECONDS_PER_CANDLE_SHARED], indirect=True)
async def test_two_workers_share_fifty_bots_once_per_candle_and_one_takes_over_a_dead_one(
    http: httpx.AsyncClient, replay: Container, tmp_path: Path
) -> None:
    env = process_env(replay.settings(), tmp_path, TRADEBOT_WORKER_LEASE_SECONDS=str(LEASE_SECONDS))
    logs = {name: tmp_path / f"worker-{name}.log" for name in ("a", "b")}
    with Workers([(env, logs["a"]), (env, logs["b"])]) as workers:
        await store_candles(replay, 400)
        headers = await sign_up(http, "fleet@example.com")
        for n in range(50):
            bot = await create_bot(
                http, headers, name=f"bot {n}", strategy="ema_crossover", ema_fast=2 + n % 3,
                ema_slow=5 + n % 4, position_size_perc=10.0,
            )  # fmt: skip
            started = await http.post(f"/api/v1/bot-configs/{bot['id']}/start", headers=headers)
            assert started.status_code == 200, started.text
        a, b = workers.start(), workers.start()
        try:
            # Both workers evaluate bots for a few candles, then one dies between two
            # candles: a worker killed after committing an evaluation but before logging
            # it would leave a gap in the logs that the test would take for a skip.
            wait_for(lambda: all(evaluations(path) for path in logs.values()), *logs.values())
            time.sleep(2 * SECONDS_PER_CANDLE_SHARED)
            await sleep_until_before_a_close(replay, 0.3)
            a.send_signal(signal.SIGKILL)
            a.wait(10)
            killed_at = datetime.now(UTC)
            time.sleep(LEASE_SECONDS + 5 * SECONDS_PER_CANDLE_SHARED)
        finally:
            for process in (a, b):
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            assert b.wait(30) == 0, logs["b"].read_text()[-3000:]

    by_worker = {name: evaluations(path) for name, path in logs.items()}
    assert by_worker["a"] and by_worker["b"], "both workers evaluated bots before the kill"
    per_bot: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for entries in by_worker.values():
        for entry in entries:
            per_bot[entry["bot"]].append(entry)
    assert len(per_bot) == 50
    single = total = 0
    for bot_id, entries in per_bot.items():
        entries.sort(key=lambda e: e["after_ms"])
        # No candle twice, none skipped: each evaluation starts where the previous ended.
        for previous, current in itertools.pairwise(entries):
            assert current["after_ms"] == previous["through_ms"], (bot_id, previous, current)
        total += len(entries)
        single += sum(e["through_ms"] - e["after_ms"] == HOUR for e in entries)
    assert single >= 0.8 * total, f"{single} of {total} evaluations covered one candle"
    # Every bot the dead worker held was evaluated again by the survivor within the lease.
    held_by_a = {e["bot"] for e in by_worker["a"]}
    for bot_id in held_by_a:
        after_kill = [
            e["time"] for e in by_worker["b"] if e["bot"] == bot_id and e["time"] > killed_at
        ]
        assert after_kill, f"bot {bot_id} was never taken over"
        delay = (min(after_kill) - killed_at).total_seconds()
        assert delay <= LEASE_SECONDS + 2 * SECONDS_PER_CANDLE_SHARED + 1, (bot_id, delay)


# Each crash waits for decisions of the bot, one every ten candles or more of the wave.
SECONDS_PER_CANDLE_CRASH = 0.125
LEASE_SECONDS_CRASH = 1.0  # the shortest: after a kill, the next worker waits for the bot


@POSTGRESQL
@pytest.mark.parametrize("replay", [SECONDS_PER_CANDLE_CRASH], indirect=True)
async def test_sigkill_between_decision_order_and_record_never_duplicates_nor_loses_a_fill(
    http: httpx.AsyncClient, replay: Container, tmp_path: Path
) -> None:
    await store_candles(replay, 2000)
    headers = await sign_up(http, "crash@example.com")
    bot = await create_bot(
        http, headers, strategy="ema_crossover", ema_fast=2, ema_slow=3, position_size_perc=20.0
    )
    await http.post(f"/api/v1/bot-configs/{bot['id']}/start", headers=headers)
    log_path = tmp_path / "worker.log"
    survivor_log = tmp_path / "survivor.log"

    def env(**extra: str) -> dict[str, str]:
        lease = str(LEASE_SECONDS_CRASH)
        return process_env(
            replay.settings(), tmp_path, TRADEBOT_WORKER_LEASE_SECONDS=lease, **extra
        )

    # Killed right after the decisions are committed (before the order), then right
    # after an order comes back (before it is recorded), several times in a row.
    crashes = ["intents_committed=1", "order_sent=1", "intents_committed=2", "order_sent=2"]
    runs = [(env(TRADEBOT_FAILPOINTS=failpoint), log_path) for failpoint in crashes]
    with Workers([*runs, (env(), survivor_log)]) as workers:
        for failpoint in crashes:
            worker = workers.start()
            assert worker.wait(60) == -signal.SIGKILL, (failpoint, log_path.read_text()[-3000:])
        survivor = workers.start()
        # It takes over what the last crash left, then goes on for a few candles.
        wait_for(lambda: len(evaluations(survivor_log)) >= 3, survivor_log)
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(30) == 0, survivor_log.read_text()[-3000:]

    intents = await count(replay, order_intents)
    orders = await count(replay, paper_orders)
    async with replay.engine().connect() as connection:
        statuses = dict(
            (
                await connection.execute(
                    select(order_intents.c.status, func.count()).group_by(order_intents.c.status)
                )
            ).all()
        )
        distinct = select(func.count(func.distinct(paper_orders.c.client_order_id)))
        distinct_orders = (await connection.execute(distinct)).scalar()
        never_sent = select(order_intents.c.client_order_id).where(
            order_intents.c.status == "expired"
        )
        expired_ids = set((await connection.execute(never_sent)).scalars())
        placed_ids = set(
            (await connection.execute(select(paper_orders.c.client_order_id))).scalars()
        )
    filled = statuses.get("filled", 0)
    assert intents >= len(crashes), "every crashed run made at least one decision"
    # A decision killed before its order and found a candle later expired unsent (a
    # candle is an eighth of a second here); every other one filled.
    assert set(statuses) <= {"filled", "expired"}, statuses
    assert not expired_ids & placed_ids, "an expired decision never reaches the exchange"
    assert orders == distinct_orders == filled, "exactly one exchange order per decision"
    assert await count(replay, trades) == filled, "every fill is a trade"
