"""Parameter optimisation: a job that backtests every set of a grid, and the ranking of
the sets by one metric."""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.errors import Conflict, InvalidInput, NotFound, RateLimited

DEFAULT_TOP_N = 10
MAX_TOP_N = 100
# Why a job that was queued or running when its process went away failed.
INTERRUPTED = "interrupted"


class OptimizationStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


ACTIVE_STATUSES = frozenset({OptimizationStatus.QUEUED, OptimizationStatus.RUNNING})


class OptimizationMetric(StrEnum):
    """What sets are ranked by: the numbers the batch kernel gives per set."""

    TOTAL_RETURN = "total_return"
    WIN_RATE = "win_rate"
    TOTAL_TRADES = "total_trades"
    FINAL_CAPITAL = "final_capital"


class OptimizationJobNotFound(NotFound):
    message = "Optimisation job not found"


class TooManyOptimizationJobs(RateLimited):
    message = "Too many optimisation jobs"


class OptimizationJobFinished(Conflict):
    message = "The optimisation job has finished"


@dataclass(frozen=True, slots=True)
class SetScore:
    """One set's result, computed as a single backtest's metrics are."""

    final_capital: float
    total_return: float  # percent
    total_trades: int
    winning_trades: int
    losing_trades: int
    win_rate: float  # percent

    @classmethod
    def of(cls, final_capital: float, trades: int, wins: int, initial_capital: float) -> SetScore:
        return cls(
            final_capital=final_capital,
            total_return=_total_return(final_capital, initial_capital),
            total_trades=trades,
            winning_trades=wins,
            losing_trades=trades - wins,
            win_rate=_win_rate(trades, wins),
        )


@dataclass(frozen=True, slots=True)
class RankedSet:
    rank: int  # 1 is the best
    index: int  # position in the grid
    parameters: dict[str, Any]
    score: SetScore


class Leaderboard:
    """The best `size` sets seen so far by one metric: the higher value first and, on a
    tie, the set earlier in the grid (so that equal scores always rank the same)."""

    def __init__(self, metric: OptimizationMetric, size: int) -> None:
        if not 1 <= size <= MAX_TOP_N:
            raise InvalidInput("Validation failed", details={"top_n": [f"1 to {MAX_TOP_N}"]})
        self._metric = metric
        self._size = size
        # A min-heap of (value, -index, index, score): its root is the worst kept set.
        self._heap: list[tuple[float, int, int, SetScore]] = []

    def add(
        self,
        first_index: int,
        final_capital: Sequence[float],
        trades: Sequence[int],
        wins: Sequence[int],
        initial_capital: float,
    ) -> None:
        """Sets first_index, first_index + 1, ...: their final capital, trades and wins."""
        for offset, capital in enumerate(final_capital):
            count, won = int(trades[offset]), int(wins[offset])
            value = self._value(float(capital), count, won, initial_capital)
            key = (value, -(first_index + offset))
            if len(self._heap) == self._size and key <= self._heap[0][:2]:
                continue
            score = SetScore.of(float(capital), count, won, initial_capital)
            entry = (value, -(first_index + offset), first_index + offset, score)
            if len(self._heap) < self._size:
                heapq.heappush(self._heap, entry)
            else:
                heapq.heapreplace(self._heap, entry)

    def ranking(self) -> list[tuple[int, SetScore]]:
        """(grid index, score) of the kept sets, best first."""
        return [(index, score) for _, _, index, score in sorted(self._heap, reverse=True)]

    def _value(self, capital: float, trades: int, wins: int, initial_capital: float) -> float:
        if self._metric is OptimizationMetric.FINAL_CAPITAL:
            value = capital
        elif self._metric is OptimizationMetric.TOTAL_RETURN:
            value = _total_return(capital, initial_capital)
        elif self._metric is OptimizationMetric.WIN_RATE:
            value = _win_rate(trades, wins)
        else:
            value = float(trades)
        # A NaN would compare unequal to everything: it ranks last instead.
        return value if not math.isnan(value) else -math.inf


def _total_return(final_capital: float, initial_capital: float) -> float:
    return (final_capital / initial_capital - 1.0) * 100.0 if initial_capital else 0.0


def _win_rate(trades: int, wins: int) -> float:
    return wins / trades * 100.0 if trades else 0.0


@dataclass(eq=False, slots=True)
class OptimizationJob:
    """queued → running → completed, or failed from queued or running (with the reason)."""

    user_id: int
    request: dict[str, Any]
    metric: OptimizationMetric
    top_n: int
    total_sets: int
    created_at: datetime
    status: OptimizationStatus = OptimizationStatus.QUEUED
    done_sets: int = 0
    results: list[RankedSet] | None = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        problems: dict[str, list[str]] = {}
        if not 1 <= self.top_n <= MAX_TOP_N:
            problems["top_n"] = [f"1 to {MAX_TOP_N}"]
        if self.total_sets < 1:
            problems["ranges"] = ["at least one combination"]
        if not 0 <= self.done_sets <= self.total_sets:
            problems["done_sets"] = [f"0 to {self.total_sets}"]
        if problems:
            raise InvalidInput("Validation failed", details=problems)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OptimizationJob) and self.id is not None and self.id == other.id

    def __hash__(self) -> int:
        return hash(("OptimizationJob", self.id))

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def progress(self) -> float:
        """The fraction of the sets done, from 0 to 1."""
        return self.done_sets / self.total_sets

    def start(self, now: datetime) -> None:
        if self.status is not OptimizationStatus.QUEUED:
            raise OptimizationJobFinished(details={"status": self.status.value})
        self.status = OptimizationStatus.RUNNING
        self.started_at = now

    def advance(self, done_sets: int) -> None:
        if self.status is not OptimizationStatus.RUNNING:
            raise OptimizationJobFinished(details={"status": self.status.value})
        if not self.done_sets <= done_sets <= self.total_sets:
            raise ValueError(f"done_sets must go from {self.done_sets} to {self.total_sets}")
        self.done_sets = done_sets

    def complete(self, results: list[RankedSet], now: datetime) -> None:
        if self.status is not OptimizationStatus.RUNNING:
            raise OptimizationJobFinished(details={"status": self.status.value})
        self.status = OptimizationStatus.COMPLETED
        self.done_sets = self.total_sets
        self.results = results
        self.finished_at = now

    def fail(self, error: str, now: datetime) -> None:
        if not self.active:
            raise OptimizationJobFinished(details={"status": self.status.value})
        self.status = OptimizationStatus.FAILED
        self.error = error
        self.finished_at = now
