"""Optimisation job bodies: the backtest request with ranges, the 202 answer, and the job."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from application.backtesting.optimization_plan import OptimizeCommand
from application.backtesting.run_backtest import RunBacktestCommand
from domain.backtesting.optimization import (
    DEFAULT_TOP_N,
    MAX_TOP_N,
    OptimizationJob,
    RankedSet,
)
from domain.backtesting.parameter_grid import MAX_COMBINATIONS, ValueRange
from entrypoints.http.backtest_schemas import RunBacktestRequest
from entrypoints.http.request_fields import Number

Metric = Literal["total_return", "win_rate", "total_trades", "final_capital"]
Status = Literal["queued", "running", "completed", "failed"]


class ValueRangeBody(msgspec.Struct, forbid_unknown_fields=True):
    """min, min + step, ... up to max (included when a step lands on it)."""

    min: Number
    max: Number
    step: Annotated[float, msgspec.Meta(gt=0, le=sys.float_info.max)]


ValueList = Annotated[list[Number], msgspec.Meta(min_length=1, max_length=MAX_COMBINATIONS)]
Ranges = Annotated[
    dict[Annotated[str, msgspec.Meta(max_length=32)], ValueRangeBody | ValueList],
    msgspec.Meta(
        min_length=1,
        max_length=32,
        description=(
            "Values to try per numeric parameter (any of `parameters`' numeric names, "
            "not also given there): a range {min, max, step} or a list of values. Every "
            "combination is one backtest, checked as POST /run checks its parameters; at "
            f"most {MAX_COMBINATIONS:,} combinations. A problem is reported under "
            "`ranges.<name>`."
        ),
        examples=[{"ema_fast": {"min": 5, "max": 15, "step": 5}, "stop_loss_perc": [1, 2, 3]}],
    ),
]


class OptimizeRequest(RunBacktestRequest, kw_only=True, forbid_unknown_fields=True):
    ranges: Ranges
    metric: Annotated[Metric, msgspec.Meta(description="What the sets are ranked by")] = (
        "total_return"
    )
    top_n: Annotated[
        int, msgspec.Meta(ge=1, le=MAX_TOP_N, description="How many of the best sets to keep")
    ] = DEFAULT_TOP_N

    def command(self, user_id: int) -> OptimizeCommand:
        return OptimizeCommand(
            backtest=RunBacktestCommand(
                user_id=user_id,
                symbol=self.symbol,
                interval=self.interval,
                start_date=self.start_date,
                end_date=self.end_date,
                market_type=self.market_type,
                strategy=self.strategy,
                initial_capital=self.initial_capital,
                parameters=self.parameters,
            ),
            ranges={name: _spec(spec) for name, spec in self.ranges.items()},
            metric=self.metric,
            top_n=self.top_n,
        )


def _spec(spec: ValueRangeBody | list[float]) -> ValueRange | Sequence[float]:
    if isinstance(spec, ValueRangeBody):
        return ValueRange(minimum=spec.min, maximum=spec.max, step=spec.step)
    return spec


class OptimizationAccepted(msgspec.Struct, kw_only=True):
    job_id: int
    status: Status
    total_sets: int


class RankedSetBody(msgspec.Struct, kw_only=True):
    """One of the best sets: POST /run with these `parameters` gives these numbers."""

    rank: int
    parameters: dict[str, Any]
    final_capital: float
    total_return: float
    total_trades: int
    winning_trades: int
    losing_trades: int
    win_rate: float


class OptimizationJobBody(msgspec.Struct, kw_only=True):
    job_id: int
    status: Status
    metric: Metric
    top_n: int
    total_sets: int
    done_sets: int
    progress: Annotated[float, msgspec.Meta(description="done_sets / total_sets, 0 to 1")]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    request: dict[str, Any]
    results: Annotated[
        list[RankedSetBody] | None,
        msgspec.Meta(description="Best first (ties: earlier in the grid); once completed"),
    ]


def accepted_body(job: OptimizationJob) -> OptimizationAccepted:
    assert job.id is not None
    return OptimizationAccepted(
        job_id=job.id,
        status=job.status.value,
        total_sets=job.total_sets,
    )


def _ranked(r: RankedSet) -> RankedSetBody:
    s = r.score
    return RankedSetBody(
        rank=r.rank,
        parameters=r.parameters,
        final_capital=s.final_capital,
        total_return=s.total_return,
        total_trades=s.total_trades,
        winning_trades=s.winning_trades,
        losing_trades=s.losing_trades,
        win_rate=s.win_rate,
    )


def job_body(job: OptimizationJob) -> OptimizationJobBody:
    assert job.id is not None
    return OptimizationJobBody(
        job_id=job.id,
        status=job.status.value,
        metric=job.metric.value,
        top_n=job.top_n,
        total_sets=job.total_sets,
        done_sets=job.done_sets,
        progress=job.progress,
        error=job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        request=job.request,
        results=None if job.results is None else [_ranked(r) for r in job.results],
    )
