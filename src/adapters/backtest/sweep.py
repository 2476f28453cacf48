"""Sweeps: many parameter sets backtested over the same candles, in parallel.

Each distinct EMA and RSI series is computed once into a table row. The
crossover strategies then run numba_core.simulate_events per group of sets that
share a cross list and a risk (so their exits too); what that event pass does
not cover (rsi_reversion, daily target or loss limits) runs the one-pass kernel
per set over the same tables. The work is dealt round robin to one thread per
numba thread: every kernel releases the GIL, and plain threads keep the cold
JIT compile of a sweep to its kernels (a `prange` driver would compile them a
second time inside its parallel region, about two seconds more).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numba import get_num_threads

from adapters.backtest import numba_core as core
from adapters.backtest.kernel_arrays import STRATEGY_CODES, as_arrays, risk_vector
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries
from domain.trading.strategies import StrategyName, StrategyParams, strategy_spec


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Per parameter set, in the order given: final capital, number of trades, winners."""

    final_capital: np.ndarray  # float64
    trades: np.ndarray  # int64
    wins: np.ndarray  # int64


CLOSE_ROW = -1  # a group's first crossing series is the close (ema_trend)

# The indicator series each strategy reads; the others are never looked at.
_READS = {
    StrategyName.EMA_CROSSOVER: ("fast", "slow"),
    StrategyName.EMA_RSI: ("fast", "slow", "rsi"),
    StrategyName.RSI_REVERSION: ("rsi",),
    StrategyName.EMA_TREND: ("trend",),
    StrategyName.CUSTOM: ("fast", "slow", "rsi"),
}


@dataclass(frozen=True, slots=True)
class _Sweep:
    """The arrays every set of a sweep reads, one row or element per set."""

    candles: tuple[np.ndarray, ...]
    strategy: int
    ema_table: np.ndarray
    rsi_table: np.ndarray
    set_fast: np.ndarray
    set_slow: np.ndarray
    set_rsi: np.ndarray
    set_trend: np.ndarray
    set_oversold: np.ndarray
    set_overbought: np.ndarray
    set_warmup: np.ndarray
    set_risk: np.ndarray


def run_batch(
    candles: CandleSeries,
    strategy: str,
    param_sets: Sequence[StrategyParams],
    risk: RiskParams | Sequence[RiskParams],
    initial_capital: float,
    event_pass: bool = True,
) -> BatchResult:
    """Backtest every parameter set over the same candles (a sweep), in parallel.

    Each distinct EMA and RSI series is computed once, and each distinct pair of
    crossing series gets its cross list once, shared by every set that uses it; one
    risk for all sets, or one per set. Per set the result equals
    NumbaBacktestKernel.run's final capital and trade count. `event_pass=False` runs
    every set candle by candle instead (same results; for comparison).
    """
    spec = strategy_spec(strategy)
    sets = len(param_sets)
    if not isinstance(risk, RiskParams) and len(risk) != sets:
        raise ValueError("give one RiskParams, or one per parameter set")
    risks = [risk] * sets if isinstance(risk, RiskParams) else list(risk)
    distinct: dict[RiskParams, int] = {}
    set_risk_id = np.array([distinct.setdefault(r, len(distinct)) for r in risks], dtype=np.int64)
    vectors = np.array([risk_vector(r, initial_capital) for r in distinct])
    set_risk = vectors.reshape(-1, core.RISK_VECTOR_SIZE)[set_risk_id].reshape(
        sets, core.RISK_VECTOR_SIZE
    )
    reads = _READS[spec.name]
    periods = np.array(
        [(p.ema_fast, p.ema_slow, p.ema_period, p.rsi_period) for p in param_sets], dtype=np.int64
    ).reshape(sets, 4)
    # Rows of the shared tables; a series the strategy never reads points at row 0.
    ema_columns = [c for c, name in enumerate(("fast", "slow", "trend")) if name in reads]
    ema_periods, ema_rows = np.unique(periods[:, ema_columns], return_inverse=True)
    set_ema = np.zeros((sets, 3), dtype=np.int64)
    set_ema[:, ema_columns] = ema_rows.reshape(sets, len(ema_columns))
    set_rsi = np.zeros(sets, dtype=np.int64)
    rsi_periods = np.empty(0, dtype=np.int64)
    if "rsi" in reads:
        rsi_periods, rsi_rows = np.unique(periods[:, 3], return_inverse=True)
        set_rsi = rsi_rows.reshape(sets).astype(np.int64)
    levels = np.array(
        [(p.rsi_oversold, p.rsi_overbought) for p in param_sets], dtype=np.float64
    ).reshape(sets, 2)
    arrays = as_arrays(candles)
    workers = get_num_threads()
    ema_table, rsi_table = _tables(arrays[4], ema_periods, rsi_periods, workers)
    sweep = _Sweep(
        candles=arrays,
        strategy=STRATEGY_CODES[spec.name],
        ema_table=ema_table,
        rsi_table=rsi_table,
        set_fast=np.ascontiguousarray(set_ema[:, 0]),
        set_slow=np.ascontiguousarray(set_ema[:, 1]),
        set_rsi=set_rsi,
        set_trend=np.ascontiguousarray(set_ema[:, 2]),
        set_oversold=np.ascontiguousarray(levels[:, 0]),
        set_overbought=np.ascontiguousarray(levels[:, 1]),
        set_warmup=np.array([spec.warmup(p) for p in param_sets], dtype=np.int64),
        set_risk=set_risk,
    )
    daily = (set_risk[:, core.R_DAILY_TARGET] > 0.0) | (set_risk[:, core.R_DAILY_LOSS] > 0.0)
    covered = ~daily
    if not event_pass or spec.name is StrategyName.RSI_REVERSION:
        covered[:] = False
    out = np.empty((sets, 3))
    if covered.any():
        groups = _groups(spec.name, sweep, np.flatnonzero(covered), set_risk_id)
        _event_pass(sweep, groups, "rsi" in reads, out, workers)
    _candle_by_candle(sweep, np.flatnonzero(~covered), out, workers)
    return BatchResult(
        final_capital=out[:, 0].copy(),
        trades=out[:, 1].astype(np.int64),
        wins=out[:, 2].astype(np.int64),
    )


def _on_threads(work: Callable[[list[int]], None], items: int, workers: int) -> None:
    """work(chunk) for `workers` round-robin chunks of range(items), each on a thread."""
    chunks = [list(range(w, items, workers)) for w in range(min(workers, items))]
    if len(chunks) <= 1:
        for chunk in chunks:
            work(chunk)
        return
    with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
        list(pool.map(work, chunks))


def _tables(
    close: np.ndarray, ema_periods: np.ndarray, rsi_periods: np.ndarray, workers: int
) -> tuple[np.ndarray, np.ndarray]:
    """One row per distinct period: numba_core.ema and rsi of the closes. The RSIs (about
    three times an EMA's work) are dealt first, so that the threads finish together."""
    n = close.shape[0]
    # A strategy that reads no EMA (or no RSI) still gets a row to point at, never read.
    ema_table = np.zeros((max(len(ema_periods), 1), n))
    rsi_table = np.zeros((max(len(rsi_periods), 1), n))
    rows = len(rsi_periods)

    def work(chunk: list[int]) -> None:
        for r in chunk:
            if r < rows:
                core.rsi_into(close, int(rsi_periods[r]), rsi_table[r])
            else:
                core.ema_into(close, int(ema_periods[r - rows]), ema_table[r - rows])

    _on_threads(work, rows + len(ema_periods), workers)
    return ema_table, rsi_table


def _groups(
    strategy: StrategyName, sweep: _Sweep, covered: np.ndarray, set_risk_id: np.ndarray
) -> list[tuple[int, int, np.ndarray]]:
    """The covered sets grouped by cross list and risk (so their exits are shared too):
    (first crossing row or CLOSE_ROW, second crossing row, set indices) per group."""
    sets = sweep.set_risk.shape[0]
    if strategy is StrategyName.EMA_TREND:
        a, b = np.full(sets, CLOSE_ROW, dtype=np.int64), sweep.set_trend
    else:
        a, b = sweep.set_fast, sweep.set_slow
    # One integer key per (a, b, risk id); a + 1, b and the risk id all lie in [0, span).
    span = int(max(a.max(initial=0), b.max(initial=0), set_risk_id.max(initial=0))) + 2
    keys = (((a + 1) * span + b) * span + set_risk_id)[covered]
    unique_keys, group_of = np.unique(keys, return_inverse=True)
    order = np.argsort(group_of.reshape(-1), kind="stable")
    starts = np.zeros(len(unique_keys) + 1, dtype=np.int64)
    np.cumsum(np.bincount(group_of.reshape(-1), minlength=len(unique_keys)), out=starts[1:])
    members = covered[order].astype(np.int64)
    return [
        (int(key // (span * span) - 1), int(key // span % span), members[starts[g] : starts[g + 1]])
        for g, key in enumerate(unique_keys)
    ]


def _event_pass(
    sweep: _Sweep,
    groups: list[tuple[int, int, np.ndarray]],
    rsi_filter: bool,
    out: np.ndarray,
    workers: int,
) -> None:
    """numba_core.simulate_events for every group; each thread reuses one set of buffers
    (cross list, exits) and gives each of its groups a stamp of its own."""
    times, opens, highs, lows, closes = sweep.candles
    day_segment, candle_low, candle_high, block_low, block_high = core.candle_context(
        times, opens, highs, lows
    )
    n = closes.shape[0]

    def work(chunk: list[int]) -> None:
        events = np.empty(n, dtype=np.int64)
        flags = np.empty(n, dtype=np.int8)
        exits = np.empty((n, 4))
        exit_stamp = np.zeros(n, dtype=np.int64)
        no_trades = np.empty((0, core.TRADE_COLUMNS))
        for g in chunk:
            a, b, members = groups[g]
            first = closes if a == CLOSE_ROW else sweep.ema_table[a]
            count = core.cross_events(first, sweep.ema_table[b], events, flags)
            core.simulate_events(
                opens, highs, lows, closes, day_segment, candle_low, candle_high, block_low,
                block_high, events, count, exits, exit_stamp, g + 1, sweep.rsi_table,
                rsi_filter, members, sweep.set_rsi, sweep.set_oversold, sweep.set_overbought,
                sweep.set_warmup, sweep.set_risk, out, no_trades, False,
            )  # fmt: skip

    _on_threads(work, len(groups), workers)


def _candle_by_candle(sweep: _Sweep, sets: np.ndarray, out: np.ndarray, workers: int) -> None:
    """numba_core.simulate over the shared tables for each of `sets`; each thread reuses
    one trades buffer (its pages are only touched where trades land)."""
    times, opens, highs, lows, closes = sweep.candles

    def work(chunk: list[int]) -> None:
        trades = np.empty((closes.shape[0] + 1, core.TRADE_COLUMNS))
        no_equity = np.empty(0)
        for k in chunk:
            s = sets[k]
            count, cash = core.simulate(
                times, opens, highs, lows, closes, True,
                sweep.ema_table[sweep.set_fast[s]], sweep.ema_table[sweep.set_slow[s]],
                sweep.rsi_table[sweep.set_rsi[s]], sweep.ema_table[sweep.set_trend[s]],
                sweep.strategy, 0, 0, 0, 0, sweep.set_oversold[s], sweep.set_overbought[s],
                sweep.set_warmup[s], sweep.set_risk[s], trades, no_equity, False,
            )  # fmt: skip
            out[s] = (cash, count, np.count_nonzero(trades[:count, core.T_PNL] > 0.0))

    _on_threads(work, sets.shape[0], workers)
