"""The numba kernels' inputs and outputs as arrays: candles, risk vector, strategy codes,
and trade rows turned back into domain trades."""

from __future__ import annotations

import numpy as np

from adapters.backtest import numba_core as core
from domain.trading.risk_engine import ExitReason, Side
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries, SimulatedTrade
from domain.trading.strategies import StrategyName

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


def simulated_trades(rows: np.ndarray) -> list[SimulatedTrade]:
    """The kernels' trade rows (numba_core.T_* columns) as domain trades."""
    return [_trade(row) for row in rows]


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
