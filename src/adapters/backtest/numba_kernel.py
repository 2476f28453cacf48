"""The BacktestKernel port on the numba core (numba_core.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import get_num_threads

from adapters.backtest import numba_core as core
from domain.ports.backtest_kernel import BacktestKernel
from domain.trading.risk_engine import ExitReason, Side
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries, SimulatedTrade, SimulationResult
from domain.trading.strategies import StrategyName, StrategyParams, strategy_spec

STRATEGY_CODES = {name: code for code, name in enumerate(StrategyName)}
_REASONS = list(ExitReason)


def risk_vector(risk: RiskParams, initial_capital: float) -> np.ndarray:
    vector = np.zeros(core.RISK_VECTOR_SIZE)
    vector[core.R_FUTURES] = 1.0 if risk.futures else 0.0
    vector[core.R_LEVERAGE] = float(risk.leverage)
    vector[core.R_FEE] = risk.fee_rate
    vector[core.R_SLIPPAGE] = risk.slippage_rate
    vector[core.R_STOP] = risk.stop_loss_perc
    vector[core.R_TARGET] = risk.take_profit_perc
    vector[core.R_TRAIL] = risk.trailing_stop_perc
    vector[core.R_TRAIL_ACTIVE] = 1.0 if risk.trailing_stop_active else 0.0
    vector[core.R_SIZE_PERC] = risk.position_size_perc
    vector[core.R_SIZE_FIXED] = risk.position_size_fixed
    vector[core.R_MAX_DAILY] = float(risk.max_daily_trades)
    vector[core.R_DAILY_TARGET] = risk.daily_target_perc
    vector[core.R_DAILY_LOSS] = risk.max_daily_loss_perc
    vector[core.R_MMR] = risk.maintenance_margin_rate
    vector[core.R_INITIAL] = initial_capital
    return vector


def as_arrays(candles: CandleSeries) -> tuple[np.ndarray, ...]:
    return (
        np.ascontiguousarray(candles.open_time_ms, dtype=np.int64),
        np.ascontiguousarray(candles.open, dtype=np.float64),
        np.ascontiguousarray(candles.high, dtype=np.float64),
        np.ascontiguousarray(candles.low, dtype=np.float64),
        np.ascontiguousarray(candles.close, dtype=np.float64),
    )


class NumbaBacktestKernel(BacktestKernel):
    def run(
        self,
        candles: CandleSeries,
        strategy: str,
        strategy_params: StrategyParams,
        risk: RiskParams,
        initial_capital: float,
    ) -> SimulationResult:
        spec = strategy_spec(strategy)
        times, opens, highs, lows, closes = as_arrays(candles)
        p = strategy_params
        n = closes.shape[0]
        trades = np.empty((n + 1, core.TRADE_COLUMNS))
        equity = np.empty(n)
        count, cash = core.simulate_core(
            times,
            opens,
            highs,
            lows,
            closes,
            core.ema(closes, p.ema_fast),
            core.ema(closes, p.ema_slow),
            core.rsi(closes, p.rsi_period),
            core.ema(closes, p.ema_period),
            STRATEGY_CODES[spec.name],
            float(p.rsi_oversold),
            float(p.rsi_overbought),
            spec.warmup(p),
            risk_vector(risk, initial_capital),
            trades,
            equity,
            True,
        )
        return SimulationResult(
            trades=[_trade(row) for row in trades[:count]],
            equity=equity.tolist(),
            final_capital=float(cash),
        )


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Per parameter set, in the order given: final capital, number of trades, winners."""

    final_capital: np.ndarray  # float64
    trades: np.ndarray  # int64
    wins: np.ndarray  # int64


# The indicator series each strategy reads; the others are never looked at.
_READS = {
    StrategyName.EMA_CROSSOVER: ("fast", "slow"),
    StrategyName.EMA_RSI: ("fast", "slow", "rsi"),
    StrategyName.RSI_REVERSION: ("rsi",),
    StrategyName.EMA_TREND: ("trend",),
    StrategyName.CUSTOM: ("fast", "slow", "rsi"),
}


def run_batch(
    candles: CandleSeries,
    strategy: str,
    param_sets: Sequence[StrategyParams],
    risk: RiskParams | Sequence[RiskParams],
    initial_capital: float,
) -> BatchResult:
    """Backtest every parameter set over the same candles (a sweep), in parallel.

    Each distinct EMA and RSI series is computed once and shared by every set that
    uses it; one risk for all sets, or one per set. Per set the result equals
    NumbaBacktestKernel.run's final capital and trade count.
    """
    spec = strategy_spec(strategy)
    times, opens, highs, lows, closes = as_arrays(candles)
    sets = len(param_sets)
    risks = [risk] * sets if isinstance(risk, RiskParams) else list(risk)
    if len(risks) != sets:
        raise ValueError("give one RiskParams, or one per parameter set")
    reads = _READS[spec.name]
    ema_rows: dict[int, int] = {}
    rsi_rows: dict[int, int] = {}

    def row(rows: dict[int, int], period: int, used: bool) -> int:
        if not used:  # the kernel never reads it: any row will do
            return 0
        return rows.setdefault(period, len(rows))

    set_fast = np.empty(sets, dtype=np.int64)
    set_slow = np.empty(sets, dtype=np.int64)
    set_rsi = np.empty(sets, dtype=np.int64)
    set_trend = np.empty(sets, dtype=np.int64)
    for s, p in enumerate(param_sets):
        set_fast[s] = row(ema_rows, p.ema_fast, "fast" in reads)
        set_slow[s] = row(ema_rows, p.ema_slow, "slow" in reads)
        set_trend[s] = row(ema_rows, p.ema_period, "trend" in reads)
        set_rsi[s] = row(rsi_rows, p.rsi_period, "rsi" in reads)
    n = closes.shape[0]
    ema_table = np.zeros((max(len(ema_rows), 1), n))
    for period, r in ema_rows.items():
        ema_table[r] = core.ema(closes, period)
    rsi_table = np.zeros((max(len(rsi_rows), 1), n))
    for period, r in rsi_rows.items():
        rsi_table[r] = core.rsi(closes, period)
    out = core.simulate_batch(
        times,
        opens,
        highs,
        lows,
        closes,
        ema_table,
        rsi_table,
        STRATEGY_CODES[spec.name],
        set_fast,
        set_slow,
        set_rsi,
        set_trend,
        np.array([float(p.rsi_oversold) for p in param_sets]),
        np.array([float(p.rsi_overbought) for p in param_sets]),
        np.array([spec.warmup(p) for p in param_sets], dtype=np.int64),
        np.array([risk_vector(r, initial_capital) for r in risks]).reshape(
            sets, core.RISK_VECTOR_SIZE
        ),
        get_num_threads(),
    )
    return BatchResult(
        final_capital=out[:, 0].copy(),
        trades=out[:, 1].astype(np.int64),
        wins=out[:, 2].astype(np.int64),
    )


def _trade(row: np.ndarray) -> SimulatedTrade:
    return SimulatedTrade(
        side=Side(int(row[core.T_SIDE])),
        entry_index=int(row[core.T_ENTRY_INDEX]),
        exit_index=int(row[core.T_EXIT_INDEX]),
        entry_price=float(row[core.T_ENTRY_PRICE]),
        exit_price=float(row[core.T_EXIT_PRICE]),
        quantity=float(row[core.T_QUANTITY]),
        entry_fee=float(row[core.T_ENTRY_FEE]),
        exit_fee=float(row[core.T_EXIT_FEE]),
        pnl=float(row[core.T_PNL]),
        exit_reason=_REASONS[int(row[core.T_REASON])],
    )
