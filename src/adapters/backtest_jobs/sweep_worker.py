"""What runs inside a sweep worker process: plain arrays and tuples in, plain lists out.

Kept small and top level: the pool pickles `sweep_chunk` by name, and its forkserver
imports this module once so that every worker starts with the batch kernel loaded.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

# numba_kernel re-exports run_batch wherever the kernel package keeps it (sweep.py now).
from adapters.backtest.numba_kernel import run_batch
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries
from domain.trading.strategies import StrategyParams

# The priority a worker gives up: the API's event loop, in the parent, comes first.
NICENESS = 10

# The fields of StrategyParams and of RiskParams, in their order.
StrategyRow = tuple[Any, ...]
RiskRow = tuple[Any, ...]


def lower_priority() -> None:
    """The pool's initializer: a sweep takes whole cores for seconds; requests must not wait."""
    with contextlib.suppress(OSError):
        os.nice(NICENESS)


def ready() -> None:
    """A first task: once it has run, the worker is up."""


def sweep_chunk(
    candles: tuple[Any, ...],
    strategy: str,
    strategy_rows: list[StrategyRow],
    risk_rows: list[RiskRow],
    risk_of_set: list[int],
    initial_capital: float,
) -> tuple[list[float], list[int], list[int]]:
    """run_batch over the chunk: set i runs strategy_rows[i] with risk_rows[risk_of_set[i]],
    over `candles`, the series' five contiguous arrays (open time as int64; open, high,
    low, close as float64). Per set: final capital, trades, winners."""
    series = CandleSeries(*candles)
    sets = [StrategyParams(*row) for row in strategy_rows]
    distinct = [RiskParams(*row) for row in risk_rows]
    batch = run_batch(series, strategy, sets, [distinct[i] for i in risk_of_set], initial_capital)
    return batch.final_capital.tolist(), batch.trades.tolist(), batch.wins.tolist()
