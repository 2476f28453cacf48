"""For the tests of a real `tradebot serve` on the paper replay: one-minute BTCUSDT
candles (as a CSV file for `tradebot data import`, or imported by the same use case in
the test's own process when the import is not what is tested), and several servers
started at once."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from pathlib import Path

from adapters.persistence.engine import create_engine, create_session_factory
from adapters.persistence.sql_candle_store import SqlCandleStore
from application.market_data.import_candles import ImportCandles, ImportCandlesCommand
from domain.exchange.market import MarketType
from domain.market_data.timeframe import Timeframe
from domain.ports.candle_store import CandleKey
from entrypoints.migrations import upgrade
from tests.integration.test_live_server import LiveServer, running_server

START_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC
MINUTE = 60_000


def candles_csv(n: int) -> str:
    """A seeded random walk around a sine: timestamp_ms,open,high,low,close,volume."""
    rng = random.Random(7)
    price = 42_000.0
    rows = ["timestamp_ms,open,high,low,close,volume"]
    for i in range(n):
        close = max(1.0, price + 40 * math.sin(i / 7.0) + rng.gauss(0, 30))
        high = max(price, close) + abs(rng.gauss(0, 15))
        low = min(price, close) - abs(rng.gauss(0, 15))
        rows.append(f"{START_MS + i * MINUTE},{price:.2f},{high:.2f},{low:.2f},{close:.2f},1.5")
        price = close
    return "\n".join(rows) + "\n"


def write_candles(path: Path, n: int) -> None:
    path.write_text(candles_csv(n))


async def migrate_and_import(database_url: str, n: int) -> None:
    """What `tradebot db upgrade` then `tradebot data import` of `candles_csv(n)` as
    BTCUSDT 1m do (the paper exchange's candles are stored under Binance's name)."""
    upgrade(database_url)
    engine = create_engine(database_url)
    key = CandleKey("binance", MarketType.SPOT, "BTCUSDT", Timeframe("1m"))
    try:
        store = SqlCandleStore(create_session_factory(engine))
        await ImportCandles(store).execute(ImportCandlesCommand(key, candles_csv(n)))
    finally:
        await engine.dispose()


@contextmanager
def running_servers(*servers: tuple[Path, dict[str, str]]) -> Iterator[list[LiveServer]]:
    """`running_server(directory, **env)` for each, started at the same time rather than
    one after the other (most of a start is its imports); all are stopped on exit."""
    managers = [running_server(directory, **env) for directory, env in servers]
    with ExitStack() as stack, ThreadPoolExecutor(len(managers)) as pool:
        started = [pool.submit(manager.__enter__) for manager in managers]
        wait(started)
        for manager, future in zip(managers, started, strict=True):
            if future.exception() is None:
                stack.push(manager.__exit__)
        yield [future.result() for future in started]  # the first failure, if any
