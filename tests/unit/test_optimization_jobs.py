"""Optimisation jobs with fakes: the ranking, the job's lifecycle, and the use cases that
start, run, read and (on a restart) interrupt jobs."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.backtesting.manage_optimizations import (
    FailInterruptedOptimizations,
    GetOptimization,
)
from application.backtesting.optimization_plan import (
    OptimizeCommand,
    optimization_grid,
    plan_sweep,
)
from application.backtesting.run_backtest import RunBacktestCommand, backtest_settings
from application.backtesting.run_optimization import (
    MAX_CHUNK,
    MIN_CHUNK,
    RunOptimization,
    chunk_size,
)
from application.backtesting.start_optimization import RETRY_AFTER_SECONDS, StartOptimization
from application.market_data.ensure_candles import EnsureCandles
from domain.backtesting.optimization import (
    INTERRUPTED,
    Leaderboard,
    OptimizationJob,
    OptimizationJobFinished,
    OptimizationJobNotFound,
    OptimizationMetric,
    OptimizationStatus,
    SetScore,
    TooManyOptimizationJobs,
)
from domain.backtesting.parameter_grid import GridTooLarge, ValueRange
from domain.errors import InvalidInput
from domain.exchange.market import MarketType
from domain.market_data.candle import Candle
from domain.market_data.timeframe import Timeframe
from domain.ports.candle_store import CandleKey
from domain.ports.parameter_sweep import ParameterSweep, SweepOutcome
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries
from domain.trading.strategies import StrategyParams
from tests.support.fakes import (
    FakeClock,
    FakeExchange,
    FakeUnitOfWork,
    InMemoryCandleStore,
    RecordingEventBus,
)

HOUR = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
KEY = CandleKey("binance", MarketType.SPOT, "BTCUSDT", Timeframe("1h"))
BASE = {"ema_slow": 30, "take_profit_perc": 4}


class ScoringSweep(ParameterSweep):
    """Scores a set from its parameters alone, so that a test knows the ranking: capital
    grows with ema_fast and the stop loss; trades and wins tie a lot on purpose."""

    def __init__(self) -> None:
        self.chunks: list[int] = []

    async def run(
        self,
        candles: CandleSeries,
        strategy: str,
        param_sets: Sequence[StrategyParams],
        risks: Sequence[RiskParams],
        initial_capital: float,
    ) -> SweepOutcome:
        self.chunks.append(len(param_sets))
        pairs = list(zip(param_sets, risks, strict=True))
        return SweepOutcome(
            final_capital=[initial_capital + 10 * p.ema_fast + r.stop_loss_perc for p, r in pairs],
            trades=[p.ema_fast % 3 + 1 for p, _ in pairs],
            wins=[p.ema_fast % 2 for p, _ in pairs],
        )

    async def close(self) -> None:
        return None


class StalledSweep(ScoringSweep):
    """Never finishes a chunk: the job stays running until it is cancelled."""

    async def run(self, *args: Any, **kwargs: Any) -> SweepOutcome:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class CollectedTasks:
    """Background work held until the test runs it."""

    def __init__(self) -> None:
        self.pending: list[Coroutine[Any, Any, None]] = []

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self.pending.append(work)

    async def run_all(self) -> None:
        work, self.pending = self.pending, []
        for coroutine in work:
            await coroutine

    async def close(self) -> None:
        for coroutine in self.pending:
            coroutine.close()


class Subject:
    def __init__(self, sweep: ParameterSweep | None = None, max_jobs: int = 2) -> None:
        self.uow = FakeUnitOfWork()
        self.exchange = FakeExchange()
        self.store = InMemoryCandleStore()
        self.clock = FakeClock()
        self.events = RecordingEventBus()
        self.sweep = sweep or ScoringSweep()
        self.tasks = CollectedTasks()
        self.start = StartOptimization(
            uow=self.uow,
            exchange=self.exchange,
            clock=self.clock,
            tasks=self.tasks,
            run_optimization=self.runner,
            exchange_id="binance",
            max_jobs_per_user=max_jobs,
        )

    def runner(self) -> RunOptimization:
        return RunOptimization(
            uow=self.uow,
            candles=self.store,
            ensure_candles=EnsureCandles(self.exchange, self.store, self.clock),
            sweep=self.sweep,
            events=self.events,
            clock=self.clock,
            max_chunk=4,
        )

    async def store_candles(self, hours: int = 48) -> None:
        candles = [
            Candle(T0 + i * HOUR, 100.0, 101.0, 99.0, 100.0 + i % 5, 1.0) for i in range(hours)
        ]
        await self.store.upsert(KEY, candles)
        await self.store.mark_covered(KEY, T0, T0 + hours * HOUR - 1)

    async def job(self, job_id: int, user_id: int = 1) -> OptimizationJob:
        return await GetOptimization(self.uow).execute(user_id, job_id)


def command(
    ranges: dict[str, Any] | None = None, user_id: int = 1, **changes: Any
) -> OptimizeCommand:
    backtest = RunBacktestCommand(
        user_id=user_id,
        symbol="BTCUSDT",
        interval="1h",
        start_date=date(2024, 1, 1),
        end_date=date(2024, 1, 2),
        parameters=dict(BASE),
    )
    return OptimizeCommand(
        backtest=replace(backtest, **changes),
        ranges=ranges or {"ema_fast": ValueRange(5, 9, 2), "stop_loss_perc": [1.0, 2.0]},
        metric="final_capital",
        top_n=4,
    )


# -- ranking ------------------------------------------------------------------------------


@given(
    scores=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 4)), min_size=1, max_size=60),
    size=st.integers(1, 8),
    batch=st.integers(1, 7),
    metric=st.sampled_from(list(OptimizationMetric)),
)
def test_the_leaderboard_keeps_the_best_sets_best_first_and_ties_in_grid_order(
    scores: list[tuple[int, int]], size: int, batch: int, metric: OptimizationMetric
) -> None:
    # Few distinct values: ties everywhere. Batches as the chunks of a job.
    capitals = [1000.0 + 100 * c for c, _ in scores]
    trades = [t for _, t in scores]
    wins = [min(t, c % 3) for c, t in scores]
    board = Leaderboard(metric, size)
    for first in range(0, len(scores), batch):
        end = first + batch
        board.add(first, capitals[first:end], trades[first:end], wins[first:end], 1000.0)

    every = [SetScore.of(capitals[i], trades[i], wins[i], 1000.0) for i in range(len(scores))]
    expected = sorted(range(len(scores)), key=lambda i: (-getattr(every[i], metric.value), i))
    assert [index for index, _ in board.ranking()] == expected[:size]
    assert [score for _, score in board.ranking()] == [every[i] for i in expected[:size]]


def test_a_set_scores_like_a_single_backtests_metrics() -> None:
    score = SetScore.of(11_000.0, 4, 3, 10_000.0)

    assert score == SetScore(
        final_capital=11_000.0,
        total_return=pytest.approx(10.0),
        total_trades=4,
        winning_trades=3,
        losing_trades=1,
        win_rate=75.0,
    )
    assert SetScore.of(9_000.0, 0, 0, 10_000.0).win_rate == 0.0


def test_a_nan_result_ranks_below_every_number() -> None:
    board = Leaderboard(OptimizationMetric.FINAL_CAPITAL, 3)
    board.add(0, [math.nan, -1e300, 5.0], [1, 1, 1], [0, 0, 0], 1.0)

    assert [index for index, _ in board.ranking()] == [2, 1, 0]


def test_a_leaderboard_holds_one_to_one_hundred_sets() -> None:
    for size in (0, 101):
        with pytest.raises(InvalidInput):
            Leaderboard(OptimizationMetric.WIN_RATE, size)


# -- the job ------------------------------------------------------------------------------


def new_job(**changes: Any) -> OptimizationJob:
    fields: dict[str, Any] = {
        "user_id": 1,
        "request": {},
        "metric": OptimizationMetric.TOTAL_RETURN,
        "top_n": 3,
        "total_sets": 10,
        "created_at": FakeClock().now(),
    }
    return OptimizationJob(**{**fields, **changes})


def test_a_job_goes_queued_running_completed_and_then_stays() -> None:
    job, now = new_job(), FakeClock().now()
    assert (job.status, job.active, job.progress) == (OptimizationStatus.QUEUED, True, 0.0)

    job.start(now)
    job.advance(4)
    assert (job.status, job.progress, job.started_at) == (OptimizationStatus.RUNNING, 0.4, now)
    with pytest.raises(ValueError, match="done_sets"):
        job.advance(3)
    job.complete([], now + timedelta(seconds=1))

    assert (job.status, job.done_sets, job.results, job.active) == (
        OptimizationStatus.COMPLETED,
        10,
        [],
        False,
    )
    for move in (lambda: job.start(now), lambda: job.advance(10), lambda: job.fail("x", now)):
        with pytest.raises(OptimizationJobFinished):
            move()


def test_a_queued_or_running_job_can_fail_with_its_reason() -> None:
    queued, running, now = new_job(), new_job(), FakeClock().now()
    running.start(now)

    for job in (queued, running):
        job.fail(INTERRUPTED, now)
        assert (job.status, job.error, job.finished_at) == (
            OptimizationStatus.FAILED,
            INTERRUPTED,
            now,
        )
        with pytest.raises(OptimizationJobFinished):
            job.complete([], now)


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"top_n": 0}, "top_n"), ({"top_n": 101}, "top_n"), ({"total_sets": 0}, "ranges")],
)
def test_a_job_refuses_impossible_sizes(changes: dict[str, int], field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        new_job(**changes)

    assert field in raised.value.details


def test_a_job_is_its_id_and_an_unsaved_one_equals_no_other() -> None:
    stored, copy, other = new_job(id=7), new_job(id=7, done_sets=3), new_job(id=8)

    assert stored == copy and hash(stored) == hash(copy)
    assert stored != other and new_job() != new_job()
    with pytest.raises(InvalidInput) as raised:
        new_job(done_sets=11)
    assert raised.value.details == {"done_sets": ["0 to 10"]}


def test_chunks_are_bounded_and_shrink_as_series_grow() -> None:
    assert chunk_size(100) == MAX_CHUNK
    assert chunk_size(10_000_000) == MIN_CHUNK
    assert MIN_CHUNK < chunk_size(20_000) < MAX_CHUNK
    assert chunk_size(100, max_chunk=4) == 4


# -- starting and running -----------------------------------------------------------------


async def test_a_job_is_queued_then_runs_in_chunks_to_its_top_sets_with_progress_events() -> None:
    subject = Subject()
    await subject.store_candles()

    job = await subject.start.execute(command())

    assert (job.id, job.status, job.total_sets) == (1, OptimizationStatus.QUEUED, 6)
    assert (await subject.job(1)).status is OptimizationStatus.QUEUED
    assert len(subject.tasks.pending) == 1
    await subject.tasks.run_all()

    done = await subject.job(1)
    assert done.status is OptimizationStatus.COMPLETED
    assert done.done_sets == 6 and done.started_at is not None and done.finished_at is not None
    assert subject.sweep.chunks == [4, 2]  # type: ignore[attr-defined]
    assert done.results is not None
    # Capital = 10,000 + 10 * ema_fast + stop loss: ema_fast 9 best, then the bigger stop.
    assert [(r.rank, r.parameters) for r in done.results] == [
        (1, {**BASE, "ema_fast": 9, "stop_loss_perc": 2.0}),
        (2, {**BASE, "ema_fast": 9, "stop_loss_perc": 1.0}),
        (3, {**BASE, "ema_fast": 7, "stop_loss_perc": 2.0}),
        (4, {**BASE, "ema_fast": 7, "stop_loss_perc": 1.0}),
    ]
    assert done.results[0].score.final_capital == 10_092.0
    assert [(e.type, e.data) for e in subject.events.published] == [
        ("optimization_progress", {"job_id": 1, "done": 0, "total": 6}),
        ("optimization_progress", {"job_id": 1, "done": 4, "total": 6}),
        ("optimization_progress", {"job_id": 1, "done": 6, "total": 6}),
        ("optimization_completed", {"job_id": 1, "status": "completed"}),
    ]
    assert done.request["ranges"] == {
        "ema_fast": {"min": 5, "max": 9, "step": 2},
        "stop_loss_perc": [1.0, 2.0],
    }


async def test_every_combination_is_checked_as_a_single_backtest_and_named_as_a_range() -> None:
    subject = Subject()
    # ema_fast must stay below ema_slow (30): the combination with 31 is refused.
    with pytest.raises(InvalidInput) as raised:
        await subject.start.execute(
            command({"ema_fast": [10, 31], "stop_loss_perc": ValueRange(1, 2, 1)})
        )

    assert raised.value.details == {
        "ranges.ema_fast": ["must be below ema_slow (with ema_fast=31, stop_loss_perc=1.0)"]
    }
    assert subject.uow.committed_optimization_jobs == {}
    assert subject.tasks.pending == []


@pytest.mark.parametrize(
    ("ranges", "field", "message"),
    [
        ({"rsi_period": [14, 600]}, "ranges.rsi_period", "from 2 to 500"),
        ({"leverage": [1, 5]}, "ranges.leverage", "above 1 only for futures"),
        ({"max_daily_trades": [5, 51]}, "ranges.max_daily_trades", "1 to 50"),
        ({"fee_perc": [0.1, 60]}, "ranges.fee_perc", "a percentage from 0 to 50"),
        ({"ema_slow": [20]}, "ranges.ema_slow", "also set in parameters: give it once"),
        ({"trailing_stop_active": [1]}, "ranges.trailing_stop_active", "not a numeric"),
        ({"name": [1]}, "ranges.name", "not a numeric backtest parameter"),
    ],
)
async def test_a_value_a_single_backtest_refuses_is_refused_for_its_range(
    ranges: dict[str, Any], field: str, message: str
) -> None:
    subject = Subject()

    with pytest.raises(InvalidInput) as raised:
        await subject.start.execute(command(ranges))

    assert field in raised.value.details
    assert message in raised.value.details[field][0]


async def test_the_grid_cap_is_checked_before_anything_is_stored() -> None:
    subject = Subject()
    big = {"rsi_period": ValueRange(2, 500, 1), "stop_loss_perc": ValueRange(0.1, 100, 0.1)}

    with pytest.raises(GridTooLarge) as raised:
        await subject.start.execute(command(big))

    assert raised.value.details["ranges"][0].startswith("499,000 combinations")
    assert subject.uow.committed_optimization_jobs == {}


async def test_the_request_is_checked_like_a_backtests_before_the_grid() -> None:
    subject = Subject()
    future = subject.clock.now().date() + timedelta(days=1)

    with pytest.raises(InvalidInput) as interval:
        await subject.start.execute(command(interval="7m"))
    with pytest.raises(InvalidInput) as dates:
        await subject.start.execute(command(end_date=future))
    with pytest.raises(InvalidInput) as metric:
        await subject.start.execute(replace(command(), metric="sharpe"))

    assert "interval" in interval.value.details
    assert "end_date" in dates.value.details
    assert metric.value.details == {
        "metric": ["one of total_return, win_rate, total_trades, final_capital"]
    }


async def test_a_user_at_the_limit_must_wait_for_a_job_to_finish() -> None:
    subject = Subject(max_jobs=2)
    await subject.store_candles()
    await subject.start.execute(command())
    await subject.start.execute(command())

    with pytest.raises(TooManyOptimizationJobs) as raised:
        await subject.start.execute(command())
    assert raised.value.retry_after_seconds == RETRY_AFTER_SECONDS
    assert len(subject.uow.committed_optimization_jobs) == 2
    other = await subject.start.execute(command(user_id=2))
    assert other.user_id == 2

    await subject.tasks.run_all()
    again = await subject.start.execute(command())
    assert again.status is OptimizationStatus.QUEUED
    await subject.tasks.close()


async def test_a_job_without_candles_fails_with_the_reason_and_says_so_on_the_stream() -> None:
    subject = Subject()
    await subject.start.execute(command())

    await subject.tasks.run_all()

    failed = await subject.job(1)
    assert failed.status is OptimizationStatus.FAILED
    assert failed.error == (
        "No candles for this range (start_date: the exchange has no candles in this range)"
    )
    assert subject.events.published[-1].data == {"job_id": 1, "status": "failed"}


async def test_a_cancelled_job_is_recorded_as_interrupted() -> None:
    subject = Subject(sweep=StalledSweep())
    await subject.store_candles()
    await subject.start.execute(command())
    task = asyncio.create_task(subject.tasks.run_all())
    while (await subject.job(1)).status is not OptimizationStatus.RUNNING:
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    job = await subject.job(1)
    assert (job.status, job.error) == (OptimizationStatus.FAILED, INTERRUPTED)


async def test_unfinished_jobs_fail_as_interrupted_at_start_and_finished_ones_stay() -> None:
    subject = Subject(max_jobs=5)
    await subject.store_candles()
    await subject.start.execute(command())  # runs to completion below
    await subject.tasks.run_all()
    queued = await subject.start.execute(command())
    running = await subject.start.execute(command(user_id=2))
    await subject.tasks.close()  # neither runs: one stays queued, one is made running
    subject.tasks.pending = []
    async with subject.uow:
        job = await subject.uow.optimization_jobs.get(2, running.id or 0)
        assert job is not None
        job.start(subject.clock.now())
        await subject.uow.optimization_jobs.update(job)
        await subject.uow.commit()
    subject.events.published.clear()

    failed = await FailInterruptedOptimizations(
        subject.uow, subject.events, subject.clock
    ).execute()

    assert failed == 2
    assert (await subject.job(1)).status is OptimizationStatus.COMPLETED
    for user_id, job_id in ((1, queued.id), (2, running.id)):
        assert job_id is not None
        stopped = await subject.job(job_id, user_id)
        assert (stopped.status, stopped.error) == (OptimizationStatus.FAILED, INTERRUPTED)
    assert [(e.user_id, e.data["status"]) for e in subject.events.published] == [
        (1, "failed"),
        (2, "failed"),
    ]


async def test_another_users_job_is_not_found() -> None:
    subject = Subject()
    await subject.start.execute(command())

    with pytest.raises(OptimizationJobNotFound):
        await subject.job(1, user_id=2)
    with pytest.raises(OptimizationJobNotFound):
        await subject.job(2)
    await subject.tasks.close()


def test_each_set_gets_the_params_a_single_backtest_of_its_parameters_runs_with() -> None:
    backtest = RunBacktestCommand(
        user_id=1,
        symbol="BTCUSDT",
        interval="1h",
        start_date=date(2024, 1, 1),
        end_date=date(2024, 1, 2),
        market_type="futures",
        strategy="custom",
        parameters={
            "custom_ema_slow": 40,
            "custom_rsi_period": 10,
            "custom_rsi_oversold": 25,
            "custom_rsi_overbought": 75,
            "stop_loss_perc": 3,
        },
    )
    grid = optimization_grid(
        {
            "custom_ema_fast": [5, 8],
            "custom_stop_loss": ValueRange(1, 2, 0.5),
            "leverage": [2, 20],
            "fee_perc": [0.02, 0.05],
            "trailing_stop_perc": [1.5],
        }
    )
    now = FakeClock().now()

    plan = plan_sweep(backtest, grid, now)

    assert plan.size == grid.size == 24
    assert (plan.strategy, plan.symbol, plan.market_type) == (
        "custom",
        "BTCUSDT",
        MarketType.FUTURES,
    )
    for i in range(plan.size):
        config, risk = backtest_settings(replace(backtest, parameters=plan.parameters(i)), now)
        assert plan.strategy_params[i] == config.strategy_params()
        assert plan.risks[i] == risk
