"""The BacktestKernel port on the numba kernel (numba_core.simulate_candles).

Sweeps (run_batch) are in sweep.py; both names stay importable from here.
"""

from __future__ import annotations

import numpy as np

from adapters.backtest import numba_core as core
from adapters.backtest.kernel_arrays import (
    STRATEGY_CODES,
    as_arrays,
    risk_vector,
    simulated_trades,
)
from adapters.backtest.sweep import BatchResult, run_batch
from adapters.metrics.counters import count_backtests
from domain.ports.backtest_kernel import BacktestKernel
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries, SimulationResult
from domain.trading.strategies import StrategyParams, strategy_spec

__all__ = [
    "STRATEGY_CODES",
    "BatchResult",
    "NumbaBacktestKernel",
    "as_arrays",
    "risk_vector",
    "run_batch",
    "simulated_trades",
]


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
        count, cash = core.simulate_candles(
            times,
            opens,
            highs,
            lows,
            closes,
            STRATEGY_CODES[spec.name],
            p.ema_fast,
            p.ema_slow,
            p.rsi_period,
            p.ema_period,
            float(p.rsi_oversold),
            float(p.rsi_overbought),
            spec.warmup(p),
            risk_vector(risk, initial_capital),
            trades,
            equity,
            True,
        )
        count_backtests("single")
        return SimulationResult(
            trades=simulated_trades(trades[:count]),
            equity=equity.tolist(),
            final_capital=float(cash),
        )
