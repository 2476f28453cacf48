"""Run a queued optimisation job to its end, in the background of the API process."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from application.backtesting.optimization_plan import SweepPlan
from application.market_data.ensure_candles import EnsureCandles
from domain.backtesting.optimization import (
    INTERRUPTED,
    Leaderboard,
    OptimizationJob,
    RankedSet,
)
from domain.errors import DomainError, InvalidInput
from domain.events import optimization_completed, optimization_progress
from domain.ports.candle_store import CandleKey, CandleStore
from domain.ports.clock import Clock
from domain.ports.event_bus import EventBus
from domain.ports.parameter_sweep import ParameterSweep
from domain.ports.unit_of_work import UnitOfWork
from domain.trading.simulation import CandleSeries

logger = logging.getLogger("tradebot.optimization")

# Sets per chunk: progress is stored and published after each. About CHUNK_WORK candle
# steps of kernel work a chunk (a fraction of a second), within these bounds.
MIN_CHUNK = 250
MAX_CHUNK = 5_000
CHUNK_WORK = 20_000_000


def chunk_size(candles: int, max_chunk: int = MAX_CHUNK) -> int:
    return min(max_chunk, max(MIN_CHUNK, CHUNK_WORK // max(candles, 1)))


@dataclass(frozen=True, slots=True)
class OptimizationRun:
    """A stored, queued job and what it runs."""

    job: OptimizationJob
    key: CandleKey
    start_ms: int
    end_ms: int
    initial_capital: float
    plan: SweepPlan


class JobGone(Exception):
    """The stored job stopped being queued or running under this run (failed elsewhere,
    or deleted with its user): the run stops without writing."""


class RunOptimization:
    def __init__(
        self,
        uow: UnitOfWork,
        candles: CandleStore,
        ensure_candles: EnsureCandles,
        sweep: ParameterSweep,
        events: EventBus,
        clock: Clock,
        max_chunk: int = MAX_CHUNK,
    ) -> None:
        self._uow = uow
        self._candles = candles
        self._ensure = ensure_candles
        self._sweep = sweep
        self._events = events
        self._clock = clock
        self._max_chunk = max_chunk

    async def execute(self, run: OptimizationRun) -> None:
        """queued → running → completed with the top-N sets, progress stored and published
        after each chunk; failed with the reason on any error, and failed "interrupted"
        when cancelled (shutdown). Never raises but the cancellation itself."""
        job = run.job
        try:
            job.start(self._clock.now())
            await self._store(job)
            await self._publish_progress(job)
            series = await self._series(run)
            leaderboard = Leaderboard(job.metric, job.top_n)
            plan, size = run.plan, chunk_size(len(series), self._max_chunk)
            for first in range(0, job.total_sets, size):
                last = min(first + size, job.total_sets)
                outcome = await self._sweep.run(
                    series,
                    plan.strategy,
                    plan.strategy_params[first:last],
                    plan.risks[first:last],
                    run.initial_capital,
                )
                leaderboard.add(
                    first, outcome.final_capital, outcome.trades, outcome.wins, run.initial_capital
                )
                job.advance(last)
                await self._store(job)
                await self._publish_progress(job)
            job.complete(_ranked(leaderboard, plan), self._clock.now())
            await self._store(job)
        except JobGone:
            return
        except asyncio.CancelledError:
            await self._fail(job, INTERRUPTED)
            raise
        except DomainError as exc:
            await self._fail(job, _reason(exc))
            return
        except Exception:
            logger.exception("optimisation job %s failed", job.id)
            await self._fail(job, "internal error")
            return
        await self._publish_completed(job)

    async def _series(self, run: OptimizationRun) -> CandleSeries:
        await self._ensure.execute(run.key, run.start_ms, run.end_ms)
        series = await self._candles.read(run.key, run.start_ms, run.end_ms)
        if len(series) == 0:
            raise InvalidInput(
                "No candles for this range",
                details={"start_date": ["the exchange has no candles in this range"]},
            )
        return series

    async def _store(self, job: OptimizationJob) -> None:
        async with self._uow:
            if not await self._uow.optimization_jobs.update(job):
                raise JobGone()
            await self._uow.commit()

    async def _fail(self, job: OptimizationJob, reason: str) -> None:
        if not job.active:
            return
        job.fail(reason, self._clock.now())
        try:
            await self._store(job)
        except JobGone:
            return
        except Exception:
            logger.exception("could not record the failure of optimisation job %s", job.id)
            return
        await self._publish_completed(job)

    async def _publish_progress(self, job: OptimizationJob) -> None:
        assert job.id is not None
        await self._events.publish(
            optimization_progress(job.user_id, job.id, job.done_sets, job.total_sets)
        )

    async def _publish_completed(self, job: OptimizationJob) -> None:
        assert job.id is not None
        await self._events.publish(optimization_completed(job.user_id, job.id, job.status.value))


def _ranked(leaderboard: Leaderboard, plan: SweepPlan) -> list[RankedSet]:
    return [
        RankedSet(rank=rank, index=index, parameters=plan.parameters(index), score=score)
        for rank, (index, score) in enumerate(leaderboard.ranking(), start=1)
    ]


def _reason(exc: DomainError) -> str:
    """The error as one line: its message and what its details say."""
    details: Any = exc.details
    if isinstance(details, dict) and details:
        said = "; ".join(
            f"{name}: {', '.join(map(str, value)) if isinstance(value, list) else value}"
            for name, value in details.items()
        )
        return f"{exc.message} ({said})"
    return exc.message
