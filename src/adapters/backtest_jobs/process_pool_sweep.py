"""The ParameterSweep port on a pool of worker processes.

The batch kernel is CPU-bound for seconds; in a thread it would still hold the
API's cores and, between its numba calls, the GIL. In a worker process at a
lower priority (see sweep_worker) it leaves the event loop free: requests are
answered while a sweep runs. Workers come from a forkserver that has imported
the kernel once, so a new pool starts in milliseconds, without the fork of a
threaded process that `fork` would be.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import astuple, fields

import numpy as np

from adapters.backtest_jobs import sweep_worker
from adapters.metrics.counters import count_backtests
from domain.ports.parameter_sweep import ParameterSweep, SweepOutcome
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries
from domain.trading.strategies import StrategyParams

_STRATEGY_FIELDS = tuple(f.name for f in fields(StrategyParams))


class ProcessPoolSweep(ParameterSweep):
    def __init__(self, workers: int = 1) -> None:
        # One worker by default: run_batch already spreads a chunk over every core.
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._starting = asyncio.Lock()

    async def _executor(self) -> ProcessPoolExecutor:
        async with self._starting:
            if self._pool is None:
                self._pool = await asyncio.to_thread(self._started_pool)
            return self._pool

    def _started_pool(self) -> ProcessPoolExecutor:
        """A pool whose workers are up. The pool starts a worker inside `submit`, and
        the first start waits for the forkserver to boot and import the kernel (about
        half a second): in this thread, never on the event loop."""
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([sweep_worker.__name__])
        pool = ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=context,
            initializer=sweep_worker.lower_priority,
        )
        for started in [pool.submit(sweep_worker.ready) for _ in range(self._workers)]:
            started.result()
        return pool

    async def run(
        self,
        candles: CandleSeries,
        strategy: str,
        param_sets: Sequence[StrategyParams],
        risks: Sequence[RiskParams],
        initial_capital: float,
    ) -> SweepOutcome:
        if len(param_sets) != len(risks):
            raise ValueError("one RiskParams per parameter set")
        arrays = (
            np.ascontiguousarray(candles.open_time_ms, dtype=np.int64),
            np.ascontiguousarray(candles.open, dtype=np.float64),
            np.ascontiguousarray(candles.high, dtype=np.float64),
            np.ascontiguousarray(candles.low, dtype=np.float64),
            np.ascontiguousarray(candles.close, dtype=np.float64),
        )
        strategy_rows = [tuple(getattr(p, name) for name in _STRATEGY_FIELDS) for p in param_sets]
        # Sets mostly share a few risks: each distinct one crosses the process boundary once.
        distinct: dict[RiskParams, int] = {}
        risk_of_set = [distinct.setdefault(r, len(distinct)) for r in risks]
        pool = await self._executor()
        try:
            final_capital, trades, wins = await asyncio.get_running_loop().run_in_executor(
                pool,
                sweep_worker.sweep_chunk,
                arrays,
                strategy,
                strategy_rows,
                [astuple(r) for r in distinct],
                risk_of_set,
                initial_capital,
            )
        except BrokenProcessPool:
            # A worker died (killed, out of memory): this chunk fails, the next run
            # starts a new pool.
            if self._pool is pool:
                self._pool = None
            raise
        count_backtests("optimization_set", len(param_sets))
        return SweepOutcome(final_capital=final_capital, trades=trades, wins=wins)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            # A chunk a worker has begun runs to its end (a fraction of a second); queued
            # ones are dropped.
            pool.shutdown(wait=False, cancel_futures=True)
