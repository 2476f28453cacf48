"""A stored backtest: what was asked, what happened, and the numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.backtesting.metrics import BacktestMetrics
from domain.exchange.market import MarketType
from domain.trading.risk_engine import ExitReason, Side

TEST_MODE = "historical"
# The detail carries at most this many equity points (evenly spaced, last one kept).
EQUITY_POINTS = 2_000


@dataclass(frozen=True, slots=True)
class BacktestTrade:
    side: Side
    entry_time_ms: int
    exit_time_ms: int
    entry_price: float
    exit_price: float
    quantity: float
    entry_fee: float
    exit_fee: float
    pnl: float
    exit_reason: ExitReason


@dataclass(frozen=True, slots=True)
class EquityPoint:
    time_ms: int
    equity: float
    drawdown_perc: float


@dataclass(eq=False, slots=True)
class Backtest:
    user_id: int
    symbol: str
    interval: str
    start_date: date
    end_date: date
    market_type: MarketType
    leverage: int
    strategy: str
    parameters: dict[str, Any]
    metrics: BacktestMetrics
    trades: list[BacktestTrade]
    equity_curve: list[EquityPoint]
    candles: int
    created_at: datetime
    gaps: list[tuple[int, int]] = field(default_factory=list)
    test_mode: str = TEST_MODE
    id: int | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Backtest) and self.id is not None and self.id == other.id

    def __hash__(self) -> int:
        return hash(("Backtest", self.id))

    def summary(self) -> BacktestSummary:
        assert self.id is not None, "a backtest has a summary once it is stored"
        return BacktestSummary(
            id=self.id,
            symbol=self.symbol,
            interval=self.interval,
            start_date=self.start_date,
            end_date=self.end_date,
            market_type=self.market_type,
            strategy=self.strategy,
            total_return=self.metrics.total_return,
            win_rate=self.metrics.win_rate,
            total_trades=self.metrics.total_trades,
            test_mode=self.test_mode,
            created_at=self.created_at,
        )


@dataclass(frozen=True, slots=True)
class BacktestSummary:
    """A stored backtest as lists show it: without its trades, equity curve and periods,
    which can run to megabytes for a long range of short candles."""

    id: int
    symbol: str
    interval: str
    start_date: date
    end_date: date
    market_type: MarketType
    strategy: str
    total_return: float
    win_rate: float
    total_trades: int
    test_mode: str
    created_at: datetime


def sample_equity(
    times_ms: list[int], equity: list[float], drawdown: list[float], points: int = EQUITY_POINTS
) -> list[EquityPoint]:
    """At most `points` evenly spaced points of the curve, always with the last one."""
    n = len(equity)
    if n == 0:
        return []
    stride = max(1, -(-n // points))
    indices = list(range(0, n, stride))
    if indices[-1] != n - 1:
        indices.append(n - 1)
    return [EquityPoint(times_ms[i], equity[i], drawdown[i]) for i in indices]
