"""Backtest bodies: the seed's fields inside its `{"status": "success", "data": ...}`
wrapper, plus the risk metrics, equity curve, gaps and trades of a run."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import msgspec

from domain.backtesting.backtest import Backtest, BacktestSummary, BacktestTrade
from domain.backtesting.metrics import PeriodResult
from domain.exchange.market import MarketType
from entrypoints.http.request_fields import Number

SUCCESS = "success"

SymbolText = Annotated[str, msgspec.Meta(max_length=32, examples=["BTCUSDT"])]
Choice = Annotated[str, msgspec.Meta(max_length=32)]
Parameters = Annotated[
    dict[str, Any],
    msgspec.Meta(
        description=(
            "Strategy and risk parameters, each optional (defaults as for a bot "
            "configuration): max_daily_trades (1-50), leverage (1-125; default 1 spot, "
            "10 futures), position_size_perc, position_size_fixed, stop_loss_perc, "
            "take_profit_perc, trailing_stop_perc, daily_target_perc, max_daily_loss_perc, "
            "ema_fast, ema_slow, ema_period, rsi_period, rsi_oversold, rsi_overbought, "
            "custom_* (strategy custom), fee_perc, slippage_perc. Ranges: GET /api/v1/config. "
            "A problem is reported under `parameters.<name>`."
        ),
        examples=[{"ema_fast": 9, "ema_slow": 21, "stop_loss_perc": 2, "take_profit_perc": 4}],
    ),
]


class RunBacktestRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    symbol: SymbolText
    interval: Annotated[str, msgspec.Meta(max_length=8, examples=["1h"])]
    start_date: Annotated[date, msgspec.Meta(description="First day (UTC), YYYY-MM-DD")]
    end_date: Annotated[date, msgspec.Meta(description="Last day (UTC), included")]
    market_type: Choice = MarketType.SPOT.value
    strategy: Choice = "ema_rsi"
    initial_capital: Number = 10_000.0
    parameters: Parameters = msgspec.field(default_factory=dict)


class DailyResultBody(msgspec.Struct):
    """One UTC day: PnL of the trades closed in it, return against its starting equity."""

    date: str
    pnl: float
    return_perc: float
    trades: int
    wins: int
    fees: float
    start_equity: float
    end_equity: float


class MonthlyResultBody(msgspec.Struct):
    """One calendar month (the key of `monthly_results` is "YYYY-MM")."""

    pnl: float
    return_perc: float
    trades: int
    wins: int
    fees: float
    start_equity: float
    end_equity: float


class EquityPointBody(msgspec.Struct):
    time: datetime
    equity: float
    drawdown_perc: float


class BacktestTradeBody(msgspec.Struct):
    side: str  # long | short
    entry_time: datetime
    exit_time: datetime
    entry_price: float
    exit_price: float
    quantity: float
    entry_fee: float
    exit_fee: float
    pnl: float
    exit_reason: str


class BacktestBody(msgspec.Struct, kw_only=True):
    id: int
    symbol: str
    interval: str
    start_date: date
    end_date: date
    parameters: dict[str, Any]
    initial_capital: float
    final_capital: float
    total_return: float
    total_trades: int
    winning_trades: int
    losing_trades: int
    win_rate: float
    total_fees: float
    avg_profit: float
    daily_results: list[DailyResultBody]
    monthly_results: dict[str, MonthlyResultBody]
    test_mode: str
    market_type: str
    leverage: int
    created_at: datetime
    strategy: str
    max_drawdown: float
    sharpe: float
    sortino: float
    profit_factor: float | None
    exposure: float
    candles: int
    gaps: list[tuple[int, int]]
    equity_curve: list[EquityPointBody]
    trades: list[BacktestTradeBody]


class BacktestEnvelope(msgspec.Struct, kw_only=True):
    status: str = SUCCESS
    data: BacktestBody


class BacktestListItem(msgspec.Struct, kw_only=True):
    id: int
    symbol: str
    interval: str
    start_date: date
    end_date: date
    total_return: float
    win_rate: float
    total_trades: int
    test_mode: str
    created_at: datetime


class BacktestListEnvelope(msgspec.Struct, kw_only=True):
    status: str = SUCCESS
    data: list[BacktestListItem]


class BacktestDeletedBody(msgspec.Struct, kw_only=True):
    status: str = SUCCESS
    message: str = "Backtest deleted successfully"


class SymbolsBody(msgspec.Struct):
    market_type: str
    symbols: list[str]
    count: int


class SymbolsEnvelope(msgspec.Struct, kw_only=True):
    status: str = SUCCESS
    data: SymbolsBody


def _time(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)


def _monthly(p: PeriodResult) -> MonthlyResultBody:
    return MonthlyResultBody(
        p.pnl, p.return_perc, p.trades, p.wins, p.fees, p.start_equity, p.end_equity
    )


def _daily(p: PeriodResult) -> DailyResultBody:
    return DailyResultBody(
        p.period, p.pnl, p.return_perc, p.trades, p.wins, p.fees, p.start_equity, p.end_equity
    )


def _trade(t: BacktestTrade) -> BacktestTradeBody:
    return BacktestTradeBody(
        side=t.side.name.lower(),
        entry_time=_time(t.entry_time_ms),
        exit_time=_time(t.exit_time_ms),
        entry_price=t.entry_price,
        exit_price=t.exit_price,
        quantity=t.quantity,
        entry_fee=t.entry_fee,
        exit_fee=t.exit_fee,
        pnl=t.pnl,
        exit_reason=t.exit_reason.value,
    )


def backtest_body(b: Backtest) -> BacktestBody:
    assert b.id is not None
    m = b.metrics
    return BacktestBody(
        id=b.id,
        symbol=b.symbol,
        interval=b.interval,
        start_date=b.start_date,
        end_date=b.end_date,
        parameters=b.parameters,
        initial_capital=m.initial_capital,
        final_capital=m.final_capital,
        total_return=m.total_return,
        total_trades=m.total_trades,
        winning_trades=m.winning_trades,
        losing_trades=m.losing_trades,
        win_rate=m.win_rate,
        total_fees=m.total_fees,
        avg_profit=m.avg_profit,
        daily_results=[_daily(p) for p in m.daily_results],
        monthly_results={p.period: _monthly(p) for p in m.monthly_results},
        test_mode=b.test_mode,
        market_type=b.market_type.value,
        leverage=b.leverage,
        created_at=b.created_at,
        strategy=b.strategy,
        max_drawdown=m.max_drawdown,
        sharpe=m.sharpe,
        sortino=m.sortino,
        profit_factor=m.profit_factor,
        exposure=m.exposure,
        candles=b.candles,
        gaps=list(b.gaps),
        equity_curve=[
            EquityPointBody(_time(p.time_ms), p.equity, p.drawdown_perc) for p in b.equity_curve
        ],
        trades=[_trade(t) for t in b.trades],
    )


def list_item(s: BacktestSummary) -> BacktestListItem:
    return BacktestListItem(
        id=s.id,
        symbol=s.symbol,
        interval=s.interval,
        start_date=s.start_date,
        end_date=s.end_date,
        total_return=s.total_return,
        win_rate=s.win_rate,
        total_trades=s.total_trades,
        test_mode=s.test_mode,
        created_at=s.created_at,
    )
