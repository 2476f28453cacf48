"""Live evaluations per second on one worker: 1,000 paper bots on 1m candles.

The whole path a worker takes for each bot on every candle close: lease, load the bot,
settle (nothing pending), advance its stored engine and indicators over the new candle,
check the last price, store, give the lease back; on SQLite, in one process. Run twice
in the same run: bots whose series began one year ago (525,600 candles stored) and bots
whose series began a day ago. An evaluation reads only the candles closed since the last
one, so the two must cost the same (the ratio is the point; the target is <= 1.5).
"""

from __future__ import annotations

import asyncio
import math
import os
import platform
import random
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from dependency_injector import providers
from sqlalchemy import update

from adapters.exchange.paper.paper_exchange import PaperExchange
from adapters.persistence.tables import bot_states
from domain.bots.bot_config import BotConfig
from domain.bots.bot_state import BotState, BotStatus
from domain.exchange.market import Market, MarketType
from domain.exchange.ticker import Ticker
from domain.market_data.candle import Candle
from domain.market_data.timeframe import Timeframe
from domain.ports.candle_store import CandleKey
from domain.trading.risk_engine import TradingState
from domain.trading.strategy_state import signals_over
from domain.users.email import Email
from domain.users.user import User
from entrypoints.container import build_container, close_container
from entrypoints.migrations import upgrade
from entrypoints.settings import Settings

MINUTE = 60_000
YEAR = 525_600
DAY = 1_440
BOTS = int(os.environ.get("TRADEBOT_BENCH_LIVE_BOTS", "1000"))
NEWEST = 1_735_689_600_000 + YEAR * MINUTE  # the last candle of 2025, 1m
KEY = CandleKey("binance", MarketType.SPOT, "BTCUSDT", Timeframe("1m"))
TARGET_PER_SECOND = 2_000


class FakeClock:
    """Market time set by the benchmark: every bot sees the same candle close."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


def candles(n: int, seed: int = 20) -> list[Candle]:
    """A deterministic series with realistic returns (a GARCH-like volatility walk)."""
    rng = random.Random(seed)
    price, vol = 60_000.0, 0.0008
    rows = []
    start = NEWEST - (n - 1) * MINUTE
    for i in range(n):
        vol = max(0.0002, min(0.004, vol * (0.97 + 0.06 * rng.random())))
        close = price * math.exp(rng.gauss(0, vol))
        high = max(price, close) * (1 + abs(rng.gauss(0, vol / 2)))
        low = min(price, close) * (1 - abs(rng.gauss(0, vol / 2)))
        rows.append(Candle(start + i * MINUTE, price, high, low, close, 1.0))
        price = close
    return rows


class StaticMarket:
    """Public market data for the paper exchange: one market, the newest close."""

    def __init__(self, last: float) -> None:
        self.last = Decimal(repr(last))
        self.market = Market(
            "BTCUSDT", "BTC", "USDT", MarketType.SPOT,
            Decimal("0.00001"), Decimal("0.01"), Decimal("0.00001"), Decimal("5"),
        )  # fmt: skip

    async def fetch_market(self, market_type: MarketType, symbol: str) -> Market:
        return self.market

    async def fetch_markets(self, market_type: MarketType) -> Sequence[Market]:
        return [self.market]

    async def fetch_ticker(self, market_type: MarketType, symbol: str) -> Ticker:
        return Ticker("BTCUSDT", self.last, self.last, self.last, datetime.now(UTC))

    async def fetch_candles(self, *args: Any, **kwargs: Any) -> list[Candle]:
        return []

    async def fetch_server_time_ms(self) -> int | None:
        return None

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


async def add_bots(container: Any, history: int, series: list[Candle], first_id: int) -> None:
    """BOTS running bots that have seen every candle but the newest two."""
    closes = [c.close for c in series[-history:-2]]
    now = datetime.fromtimestamp(NEWEST / 1000, UTC)
    config = BotConfig(
        user_id=1, name="bench", symbol="BTCUSDT", timeframe="1m", created_at=now,
        updated_at=now, strategy="ema_rsi", position_size_perc=20.0, max_daily_trades=50,
    )  # fmt: skip
    signals, _ = signals_over(closes, config.strategy, config.strategy_params())
    async with container.uow() as uow:
        for n in range(BOTS):
            stored = await uow.bot_configs.add(BotConfig(**{**_fields(config), "name": f"b{n}"}))
            assert stored.id is not None
            await uow.bot_states.add(
                BotState(
                    stored.id, 1, now, status=BotStatus.RUNNING,
                    engine=TradingState(cash=1000.0, day=(NEWEST - MINUTE) // 86_400_000),
                    series_start_ms=NEWEST - (history - 1) * MINUTE,
                    last_candle_ms=NEWEST - 2 * MINUTE, signals=signals, reconciled_at=now,
                )
            )  # fmt: skip
        await uow.commit()


def _fields(config: BotConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in BotConfig.__dataclass_fields__}


async def measure(container: Any, clock: FakeClock) -> tuple[int, float]:
    """The worker's steady state: its first look at the bots (which also compares them
    with the exchange) at one close, then the next close, timed."""
    worker = container.bot_worker()
    clock.current = datetime.fromtimestamp(NEWEST / 1000 + 5, UTC)
    await worker.tick()
    clock.current = datetime.fromtimestamp((NEWEST + MINUTE) / 1000 + 5, UTC)
    started = time.perf_counter()
    evaluated = await worker.tick()
    return evaluated, time.perf_counter() - started


async def run() -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="tradebot-live-bench-"))
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{workdir}/bench.db",
        jwt_secret="bench-secret-" + "b" * 40,
        fernet_keys=(Fernet.generate_key().decode(),),
        data_dir=str(workdir),
        exchange="paper",
        worker_concurrency=int(os.environ.get("TRADEBOT_BENCH_LIVE_CONCURRENCY", "8")),
    )
    await asyncio.to_thread(upgrade, settings.database_url)
    container = build_container(settings)
    clock = FakeClock(datetime.fromtimestamp(NEWEST / 1000, UTC))
    container.clock.override(providers.Object(clock))
    series = candles(YEAR)
    market = StaticMarket(series[-1].close)
    container.exchange.override(
        providers.Object(PaperExchange(market, container.session_factory(), clock))  # type: ignore[arg-type]
    )
    store = container.candle_store()
    loaded = time.perf_counter()
    for start in range(0, len(series), 20_000):
        await store.upsert(KEY, series[start : start + 20_000])
    await store.mark_covered(KEY, series[0].open_time_ms, NEWEST + MINUTE - 1)
    load_seconds = time.perf_counter() - loaded
    async with container.uow() as uow:
        await uow.users.add(User(Email("bench@example.com"), "x", clock.now()))
        await uow.commit()

    rows = []
    for label, history in (("one year of history", YEAR), ("one day of history", DAY)):
        await add_bots(container, history, series, 0)
        evaluated, seconds = await measure(container, clock)
        rows.append(
            {
                "history": label,
                "candles_in_series": history,
                "bots_evaluated": evaluated,
                "seconds": round(seconds, 3),
                "evaluations_per_second": round(evaluated / seconds, 1),
                "ms_per_evaluation": round(seconds / max(evaluated, 1) * 1000, 3),
            }
        )
        async with container.engine().begin() as connection:  # out of the next run's way
            await connection.execute(update(bot_states).values(status=BotStatus.STOPPED.value))
    await close_container(container)
    ratio = rows[0]["ms_per_evaluation"] / rows[1]["ms_per_evaluation"]  # type: ignore[operator]
    return {
        "benchmark": "live_evaluations",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "bots": BOTS,
        "candles_stored": YEAR,
        "candle_load_seconds": round(load_seconds, 1),
        "rows": rows,
        "year_over_day_cost_ratio": round(ratio, 3),
        "target_evaluations_per_second": TARGET_PER_SECOND,
    }


def main() -> dict[str, object]:
    result = asyncio.run(run())
    print(f"\nLive evaluations, {BOTS} paper bots on 1m candles, one worker process (SQLite)")
    print(f"{'history':<22}{'evaluated':>10}{'seconds':>9}{'evals/s':>10}{'ms/eval':>9}")
    for row in result["rows"]:  # type: ignore[attr-defined]
        print(
            f"{row['history']:<22}{row['bots_evaluated']:>10}{row['seconds']:>9}"
            f"{row['evaluations_per_second']:>10}{row['ms_per_evaluation']:>9}"
        )
    print(
        f"cost per evaluation, one year / one day of history: {result['year_over_day_cost_ratio']}"
    )
    return result


if __name__ == "__main__":
    main()
