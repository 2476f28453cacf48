"""Backtest metrics from a simulation: the seed's fields plus risk-adjusted ones.

Pure functions of the trades, the equity curve and the candle times, so the
detail, the CSV downloads and the chart all show the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.trading.simulation import SimulatedTrade, SimulationResult

SECONDS_PER_YEAR = 365 * 86_400


@dataclass(frozen=True, slots=True)
class PeriodResult:
    """One UTC day or calendar month: realised PnL of the trades closed in it, the
    equity at its last close, and its return against the equity at its start."""

    period: str  # "2024-01-31" or "2024-01"
    pnl: float
    return_perc: float
    trades: int
    wins: int
    fees: float
    start_equity: float
    end_equity: float


@dataclass(frozen=True, slots=True)
class BacktestMetrics:
    initial_capital: float
    final_capital: float
    total_return: float  # percent
    total_trades: int
    winning_trades: int
    losing_trades: int
    win_rate: float  # percent
    total_fees: float
    avg_profit: float  # mean PnL per trade
    max_drawdown: float  # percent, positive
    sharpe: float
    sortino: float
    profit_factor: float | None  # None when there is no losing trade
    exposure: float  # percent of candles in a position
    daily_results: list[PeriodResult]
    monthly_results: list[PeriodResult]


def compute_metrics(
    result: SimulationResult,
    open_time_ms: Sequence[int],
    interval_seconds: int,
    initial_capital: float,
) -> BacktestMetrics:
    trades = result.trades
    equity = result.equity
    wins = sum(1 for t in trades if t.pnl > 0)
    losses = sum(1 for t in trades if t.pnl <= 0)
    fees = sum(t.entry_fee + t.exit_fee for t in trades)
    gross_profit = sum(t.pnl for t in trades if t.pnl > 0)
    gross_loss = -sum(t.pnl for t in trades if t.pnl < 0)
    final = result.final_capital
    returns = _returns(initial_capital, equity)
    periods_per_year = SECONDS_PER_YEAR / interval_seconds
    return BacktestMetrics(
        initial_capital=initial_capital,
        final_capital=final,
        total_return=(final / initial_capital - 1.0) * 100.0 if initial_capital else 0.0,
        total_trades=len(trades),
        winning_trades=wins,
        losing_trades=losses,
        win_rate=wins / len(trades) * 100.0 if trades else 0.0,
        total_fees=fees,
        avg_profit=sum(t.pnl for t in trades) / len(trades) if trades else 0.0,
        max_drawdown=max_drawdown(equity, initial_capital),
        sharpe=_sharpe(returns, periods_per_year),
        sortino=_sortino(returns, periods_per_year),
        profit_factor=gross_profit / gross_loss if gross_loss > 0 else None,
        exposure=_exposure(trades, len(equity)),
        daily_results=period_results(trades, equity, open_time_ms, initial_capital, "%Y-%m-%d"),
        monthly_results=period_results(trades, equity, open_time_ms, initial_capital, "%Y-%m"),
    )


def drawdown_curve(equity: Sequence[float], initial_capital: float) -> list[float]:
    """Percent below the running peak at each close (0 at a new high)."""
    peak = initial_capital
    out = []
    for value in equity:
        peak = max(peak, value)
        out.append((1.0 - value / peak) * 100.0 if peak > 0 else 0.0)
    return out


def max_drawdown(equity: Sequence[float], initial_capital: float) -> float:
    return max(drawdown_curve(equity, initial_capital), default=0.0)


def period_results(
    trades: Sequence[SimulatedTrade],
    equity: Sequence[float],
    open_time_ms: Sequence[int],
    initial_capital: float,
    pattern: str,
) -> list[PeriodResult]:
    """One row per period that has candles, in time order."""
    labels = [_label(t, pattern) for t in open_time_ms]
    rows: dict[str, dict[str, float]] = {}
    start_equity = initial_capital
    for i, label in enumerate(labels):
        row = rows.get(label)
        if row is None:
            row = rows[label] = {
                "pnl": 0.0,
                "trades": 0,
                "wins": 0,
                "fees": 0.0,
                "start": start_equity,
            }
        row["end"] = equity[i]
        start_equity = equity[i]
    for trade in trades:
        row = rows[labels[trade.exit_index]]
        row["pnl"] += trade.pnl
        row["trades"] += 1
        row["wins"] += 1 if trade.pnl > 0 else 0
        row["fees"] += trade.entry_fee + trade.exit_fee
    return [
        PeriodResult(
            period=label,
            pnl=row["pnl"],
            return_perc=(row["end"] / row["start"] - 1.0) * 100.0 if row["start"] else 0.0,
            trades=int(row["trades"]),
            wins=int(row["wins"]),
            fees=row["fees"],
            start_equity=row["start"],
            end_equity=row["end"],
        )
        for label, row in rows.items()
    ]


def _label(open_time_ms: int, pattern: str) -> str:
    return datetime.fromtimestamp(open_time_ms / 1000, UTC).strftime(pattern)


def _returns(initial_capital: float, equity: Sequence[float]) -> list[float]:
    out = []
    previous = initial_capital
    for value in equity:
        out.append(value / previous - 1.0 if previous > 0 else 0.0)
        previous = value
    return out


def _sharpe(returns: Sequence[float], periods_per_year: float) -> float:
    if len(returns) < 2:
        return 0.0
    mean = sum(returns) / len(returns)
    variance = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    if variance <= 0:
        return 0.0
    return mean / math.sqrt(variance) * math.sqrt(periods_per_year)


def _sortino(returns: Sequence[float], periods_per_year: float) -> float:
    if len(returns) < 2:
        return 0.0
    mean = sum(returns) / len(returns)
    downside = sum(min(r, 0.0) ** 2 for r in returns) / len(returns)
    if downside <= 0:
        return 0.0
    return mean / math.sqrt(downside) * math.sqrt(periods_per_year)


def _exposure(trades: Sequence[SimulatedTrade], candles: int) -> float:
    if candles == 0:
        return 0.0
    held = sum(t.exit_index - t.entry_index for t in trades)
    return held / candles * 100.0
