"""Start a parameter optimisation: check it as every backtest is checked, queue it as the
user's job (within their limit of unfinished jobs), and run it in the background."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC
from typing import Any

from application.backtesting.optimization_plan import (
    OptimizeCommand,
    optimization_grid,
    plan_sweep,
)
from application.backtesting.run_backtest import backtest_timeframe, backtest_window
from application.backtesting.run_optimization import OptimizationRun, RunOptimization
from domain.backtesting.optimization import (
    OptimizationJob,
    OptimizationMetric,
    TooManyOptimizationJobs,
)
from domain.backtesting.parameter_grid import ValueRange
from domain.errors import InvalidInput
from domain.ports.background_tasks import BackgroundTasks
from domain.ports.candle_store import CandleKey
from domain.ports.clock import Clock
from domain.ports.exchange_gateway import ExchangeGateway
from domain.ports.unit_of_work import UnitOfWork

# What a client over its limit is told to wait: jobs of a few seconds are the common case.
RETRY_AFTER_SECONDS = 10


class StartOptimization:
    def __init__(
        self,
        uow: UnitOfWork,
        exchange: ExchangeGateway,
        clock: Clock,
        tasks: BackgroundTasks,
        run_optimization: Callable[[], RunOptimization],
        exchange_id: str,
        max_jobs_per_user: int,
    ) -> None:
        self._uow = uow
        self._exchange = exchange
        self._clock = clock
        self._tasks = tasks
        self._run_optimization = run_optimization
        self._exchange_id = exchange_id
        self._max_jobs = max_jobs_per_user

    async def execute(self, command: OptimizeCommand) -> OptimizationJob:
        """The queued job (its run has started in the background). InvalidInput for what
        a single backtest would refuse, or a grid over the cap; TooManyOptimizationJobs
        when the user already has their limit of queued or running jobs."""
        backtest = command.backtest
        now = self._clock.now()
        timeframe = backtest_timeframe(backtest.interval)
        start_ms, end_ms = backtest_window(backtest, timeframe, now.astimezone(UTC).date())
        metric = _metric(command.metric)
        grid = optimization_grid(command.ranges)
        async with self._uow:
            if await self._uow.optimization_jobs.count_active(backtest.user_id) >= self._max_jobs:
                raise self._limit_reached()
        plan = await asyncio.to_thread(plan_sweep, backtest, grid, now)
        await self._exchange.fetch_market(plan.market_type, plan.symbol)
        job = OptimizationJob(
            user_id=backtest.user_id,
            request=_request_json(command, metric),
            metric=metric,
            top_n=command.top_n,
            total_sets=plan.size,
            created_at=now,
        )
        async with self._uow:
            added = await self._uow.optimization_jobs.add(job, self._max_jobs)
            if added is None:
                raise self._limit_reached()
            await self._uow.commit()
        assert added.id is not None
        run = OptimizationRun(
            job=replace(added),  # the run's own copy: `added` is answered as it is now
            key=CandleKey(self._exchange_id, plan.market_type, plan.symbol, timeframe),
            start_ms=start_ms,
            end_ms=end_ms,
            initial_capital=backtest.initial_capital,
            plan=plan,
        )
        self._tasks.spawn(self._run_optimization().execute(run))
        return added

    def _limit_reached(self) -> TooManyOptimizationJobs:
        return TooManyOptimizationJobs(
            RETRY_AFTER_SECONDS,
            details={"limit": f"at most {self._max_jobs} queued or running jobs per user"},
        )


def _metric(name: str) -> OptimizationMetric:
    try:
        return OptimizationMetric(name)
    except ValueError:
        choices = ", ".join(m.value for m in OptimizationMetric)
        raise InvalidInput("Validation failed", details={"metric": [f"one of {choices}"]}) from None


def _request_json(command: OptimizeCommand, metric: OptimizationMetric) -> dict[str, Any]:
    """The request as stored with the job (and shown with it)."""
    b = command.backtest
    return {
        "symbol": b.symbol,
        "interval": b.interval,
        "start_date": b.start_date.isoformat(),
        "end_date": b.end_date.isoformat(),
        "market_type": b.market_type,
        "strategy": b.strategy,
        "initial_capital": b.initial_capital,
        "parameters": dict(b.parameters),
        "ranges": {name: _range_json(spec) for name, spec in command.ranges.items()},
        "metric": metric.value,
        "top_n": command.top_n,
    }


def _range_json(spec: ValueRange | Sequence[float]) -> dict[str, float] | list[float]:
    if isinstance(spec, ValueRange):
        return {"min": spec.minimum, "max": spec.maximum, "step": spec.step}
    return list(spec)
