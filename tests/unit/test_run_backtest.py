"""RunBacktest with fakes: stored candles, the numba kernel, an in-memory unit of work."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from adapters.backtest.numba_kernel import NumbaBacktestKernel
from application.backtesting.manage_backtests import (
    BacktestNotFound,
    DeleteBacktest,
    GetBacktest,
    ListBacktests,
)
from application.backtesting.run_backtest import RunBacktest, RunBacktestCommand
from application.market_data.ensure_candles import EnsureCandles
from application.pagination import PageRequest
from domain.errors import InvalidInput
from domain.exchange.market import MarketType
from domain.market_data.candle import Candle
from domain.market_data.timeframe import Timeframe
from domain.ports.candle_store import CandleKey
from domain.trading.risk_engine import ExitReason, Side
from tests.support.fakes import FakeClock, FakeExchange, FakeUnitOfWork, InMemoryCandleStore

HOUR = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
KEY = CandleKey("binance", MarketType.SPOT, "BTCUSDT", Timeframe("1h"))
DAY = date(2024, 1, 1)
PARAMETERS = {
    "ema_fast": 2,
    "ema_slow": 3,
    "stop_loss_perc": 2,
    "take_profit_perc": 4,
    "position_size_perc": 100,
}


def candle(i: int, open_: float, high: float, low: float, close: float) -> Candle:
    return Candle(T0 + i * HOUR, open_, high, low, close, 1.0)


def day_of_candles() -> list[Candle]:
    """2024-01-01 hour by hour, hour 10 missing, with one candle on each neighbouring day
    that the backtest must not read (they would change the EMAs)."""
    candles = [candle(-1, 50.0, 50.0, 50.0, 50.0), candle(24, 500.0, 500.0, 500.0, 500.0)]
    for i in range(24):
        if i == 10:
            continue
        if i < 4:
            candles.append(candle(i, 100.0, 100.0, 100.0, 100.0))
        elif i == 4:  # the fast EMA crosses above the slow one: a long at 110
            candles.append(candle(i, 100.0, 110.0, 100.0, 110.0))
        elif i == 5:  # reaches the 4 % target, 114.4
            candles.append(candle(i, 110.0, 115.0, 109.0, 114.0))
        else:
            candles.append(candle(i, 114.0, 114.5, 113.5, 114.0))
    return candles


class Subject:
    def __init__(self) -> None:
        self.uow = FakeUnitOfWork()
        self.exchange = FakeExchange()
        self.store = InMemoryCandleStore()
        self.clock = FakeClock()
        self.use_case = RunBacktest(
            uow=self.uow,
            exchange=self.exchange,
            candles=self.store,
            ensure_candles=EnsureCandles(self.exchange, self.store, self.clock),
            kernel=NumbaBacktestKernel(),
            clock=self.clock,
            exchange_id="binance",
        )


@pytest.fixture
async def subject() -> Subject:
    subject = Subject()
    await subject.store.upsert(KEY, day_of_candles())
    await subject.store.mark_covered(KEY, T0 - HOUR, T0 + 25 * HOUR - 1)
    return subject


def command(**changes: Any) -> RunBacktestCommand:
    base = RunBacktestCommand(
        user_id=7,
        symbol="BTCUSDT",
        interval="1h",
        start_date=DAY,
        end_date=DAY,
        strategy="ema_crossover",
        parameters=PARAMETERS,
    )
    return replace(base, **changes)


async def test_a_hand_computed_day_gives_one_winning_trade_and_is_stored(
    subject: Subject,
) -> None:
    stages: list[str] = []

    backtest = await subject.use_case.execute(command(), lambda stage, _: stages.append(stage))

    quantity = 10_000 / (110 * 1.001)
    proceeds = quantity * 114.4 * (1 - 0.001)
    pnl = proceeds - 10_000
    assert len(backtest.trades) == 1
    trade = backtest.trades[0]
    assert trade.side is Side.LONG
    assert (trade.entry_time_ms, trade.exit_time_ms) == (T0 + 4 * HOUR, T0 + 5 * HOUR)
    assert trade.exit_reason is ExitReason.TAKE_PROFIT
    assert trade.exit_price == pytest.approx(114.4, rel=1e-12)
    assert trade.pnl == pytest.approx(pnl, rel=1e-12)
    m = backtest.metrics
    assert m.final_capital == pytest.approx(proceeds, rel=1e-12)
    assert m.total_return == pytest.approx(pnl / 100, rel=1e-9)
    assert (m.total_trades, m.winning_trades, m.losing_trades, m.win_rate) == (1, 1, 0, 100.0)
    assert m.total_fees == pytest.approx(quantity * (110 + 114.4) * 0.001, rel=1e-12)
    assert m.profit_factor is None
    assert m.exposure == pytest.approx(1 / 23 * 100)
    assert [(d.period, d.trades, d.wins) for d in m.daily_results] == [("2024-01-01", 1, 1)]
    assert m.daily_results[0].pnl == pytest.approx(pnl, rel=1e-12)
    assert [p.period for p in m.monthly_results] == ["2024-01"]
    assert backtest.candles == 23
    assert backtest.gaps == [(T0 + 10 * HOUR, T0 + 10 * HOUR)]
    assert backtest.equity_curve[0].time_ms == T0
    assert backtest.equity_curve[-1].equity == pytest.approx(proceeds, rel=1e-12)
    assert (backtest.market_type, backtest.leverage) == (MarketType.SPOT, 1)
    assert backtest.parameters == PARAMETERS
    assert backtest.id == 1
    assert subject.uow.commits == 1
    assert subject.uow.committed_backtests[1].metrics == m
    assert stages[-1] == "metrics"
    assert "simulation" in stages
    assert "fetch_candles" not in subject.exchange.calls


async def test_stored_backtests_are_listed_newest_first_and_only_to_their_owner(
    subject: Subject,
) -> None:
    first = await subject.use_case.execute(command())
    subject.clock.current = subject.clock.current.replace(hour=13)
    second = await subject.use_case.execute(command())
    await subject.use_case.execute(command(user_id=8))

    page = await ListBacktests(subject.uow).execute(7, PageRequest())

    assert page.total == 2
    assert [s.id for s in page.items] == [second.id, first.id]
    assert page.items[1].total_return == first.metrics.total_return
    assert first.id is not None
    with pytest.raises(BacktestNotFound):
        await GetBacktest(subject.uow).execute(8, first.id)
    with pytest.raises(BacktestNotFound):
        await DeleteBacktest(subject.uow).execute(8, first.id)
    await DeleteBacktest(subject.uow).execute(7, first.id)
    assert (await ListBacktests(subject.uow).execute(7, PageRequest())).total == 1


async def test_a_rejected_request_asks_the_exchange_nothing_and_stores_nothing(
    subject: Subject,
) -> None:
    with pytest.raises(InvalidInput) as rejected:
        await subject.use_case.execute(command(parameters={"colour": 3, "ema_fast": 2}))

    assert rejected.value.details == {"parameters.colour": ["unknown parameter"]}
    with pytest.raises(InvalidInput) as wrong_interval:
        await subject.use_case.execute(command(interval="7m"))
    assert set(wrong_interval.value.details) == {"interval"}
    assert subject.exchange.calls == []
    assert subject.uow.committed_backtests == {}
