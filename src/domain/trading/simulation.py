"""The reference backtest: the strategy's signals and the risk engine over a candle series.

Plain Python and deliberately simple; the numba kernel must reproduce its
trades exactly (entry/exit bar, side, reason) and its prices and PnL to 1e-9.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.trading.risk_engine import (
    CandleInput,
    ExitReason,
    Fill,
    Side,
    TradingState,
    close_position,
    step,
)
from domain.trading.risk_params import RiskParams
from domain.trading.strategies import Signals, StrategyParams, compute_signals


@dataclass(frozen=True, slots=True)
class CandleSeries:
    open_time_ms: Sequence[int]
    open: Sequence[float]
    high: Sequence[float]
    low: Sequence[float]
    close: Sequence[float]

    def __len__(self) -> int:
        return len(self.close)


@dataclass(frozen=True, slots=True)
class SimulatedTrade:
    side: Side
    entry_index: int
    exit_index: int
    entry_price: float
    exit_price: float
    quantity: float
    entry_fee: float
    exit_fee: float
    pnl: float
    exit_reason: ExitReason


@dataclass(frozen=True, slots=True)
class SimulationResult:
    trades: list[SimulatedTrade]
    equity: list[float]  # at each candle's close
    final_capital: float


def simulate(
    candles: CandleSeries,
    strategy: str,
    strategy_params: StrategyParams,
    risk: RiskParams,
    initial_capital: float,
) -> SimulationResult:
    signals = compute_signals(strategy, candles.close, strategy_params)
    state = TradingState(cash=initial_capital)
    fills: list[Fill] = []
    equity: list[float] = []
    last = len(candles) - 1
    for i in range(len(candles)):
        candle = candle_input(candles, signals, i, signals.warmup <= i < last)
        state, new_fills = step(state, candle, risk)
        fills.extend(new_fills)
        if i == last and state.in_position:
            state, final = close_position(state, candle, candle.close, ExitReason.END_OF_DATA, risk)
            fills.append(final)
        equity.append(state.equity(candles.close[i]))
    return SimulationResult(_pair(fills), equity, state.cash)


def candle_input(
    candles: CandleSeries, signals: Signals, i: int, entries_allowed: bool
) -> CandleInput:
    """Candle i of the series with the strategy's signals at its close."""
    return CandleInput(
        index=i,
        open_time_ms=int(candles.open_time_ms[i]),
        open=candles.open[i],
        high=candles.high[i],
        low=candles.low[i],
        close=candles.close[i],
        long_entry=signals.long_entry[i],
        long_exit=signals.long_exit[i],
        short_entry=signals.short_entry[i],
        short_exit=signals.short_exit[i],
        entries_allowed=entries_allowed,
    )


def _pair(fills: list[Fill]) -> list[SimulatedTrade]:
    trades: list[SimulatedTrade] = []
    entry: Fill | None = None
    for fill in fills:
        if fill.is_entry:
            entry = fill
            continue
        assert entry is not None
        assert fill.reason is not None
        trades.append(
            SimulatedTrade(
                side=entry.side,
                entry_index=entry.index,
                exit_index=fill.index,
                entry_price=entry.price,
                exit_price=fill.price,
                quantity=entry.quantity,
                entry_fee=entry.fee,
                exit_fee=fill.fee,
                pnl=fill.pnl,
                exit_reason=fill.reason,
            )
        )
        entry = None
    return trades
