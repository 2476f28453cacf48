"""Stored backtests: what lists show in columns, the rest of the result as JSON.

The JSON is converted to and from domain objects here (enums by name, periods,
trades and equity points as objects), so nothing outside sees its layout.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, cast

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.tables import backtests
from adapters.persistence.types import is_storable_id
from domain.backtesting.backtest import Backtest, BacktestSummary, BacktestTrade, EquityPoint
from domain.backtesting.metrics import BacktestMetrics, PeriodResult
from domain.exchange.market import MarketType
from domain.ports.backtest_repository import BacktestRepository
from domain.trading.risk_engine import ExitReason, Side

_PERIODS = ("daily_results", "monthly_results")
_SUMMARY_COLUMNS = (
    backtests.c.id,
    backtests.c.symbol,
    backtests.c.interval,
    backtests.c.start_date,
    backtests.c.end_date,
    backtests.c.market_type,
    backtests.c.strategy,
    backtests.c.total_return,
    backtests.c.win_rate,
    backtests.c.total_trades,
    backtests.c.created_at,
    # Only the test mode of the run information: its gaps can be long.
    backtests.c.run_info["test_mode"].as_string().label("test_mode"),
)


class SqlBacktestRepository(BacktestRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, backtest: Backtest) -> Backtest:
        result = await self._session.execute(
            insert(backtests).values(**_values(backtest)).returning(backtests.c.id)
        )
        backtest.id = result.scalar_one()
        return backtest

    async def get(self, user_id: int, backtest_id: int) -> Backtest | None:
        if not is_storable_id(backtest_id):
            return None
        row = (
            await self._session.execute(
                select(backtests).where(
                    backtests.c.id == backtest_id, backtests.c.user_id == user_id
                )
            )
        ).first()
        return _to_backtest(row) if row else None

    async def list(self, user_id: int, limit: int, offset: int) -> list[BacktestSummary]:
        rows = await self._session.execute(
            select(*_SUMMARY_COLUMNS)
            .where(backtests.c.user_id == user_id)
            .order_by(backtests.c.created_at.desc(), backtests.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [_to_summary(row) for row in rows]

    async def count(self, user_id: int) -> int:
        total = await self._session.scalar(
            select(func.count()).select_from(backtests).where(backtests.c.user_id == user_id)
        )
        return int(total or 0)

    async def delete(self, user_id: int, backtest_id: int) -> bool:
        if not is_storable_id(backtest_id):
            return False
        result = await self._session.execute(
            delete(backtests).where(backtests.c.id == backtest_id, backtests.c.user_id == user_id)
        )
        return cast("CursorResult[Any]", result).rowcount > 0


# -- domain → row ------------------------------------------------------------------------


def _values(b: Backtest) -> dict[str, Any]:
    m = b.metrics
    return {
        "user_id": b.user_id,
        "symbol": b.symbol,
        "interval": b.interval,
        "start_date": b.start_date,
        "end_date": b.end_date,
        "market_type": b.market_type.value,
        "leverage": b.leverage,
        "strategy": b.strategy,
        "total_return": m.total_return,
        "win_rate": m.win_rate,
        "total_trades": m.total_trades,
        "parameters": dict(b.parameters),
        "metrics": asdict(m),
        "trades": [_trade_json(t) for t in b.trades],
        "equity_curve": [[p.time_ms, p.equity, p.drawdown_perc] for p in b.equity_curve],
        "run_info": {
            "candles": b.candles,
            "gaps": [[first, last] for first, last in b.gaps],
            "test_mode": b.test_mode,
        },
        "created_at": b.created_at,
    }


def _trade_json(t: BacktestTrade) -> dict[str, Any]:
    return {
        "side": t.side.name.lower(),
        "entry_time_ms": t.entry_time_ms,
        "exit_time_ms": t.exit_time_ms,
        "entry_price": t.entry_price,
        "exit_price": t.exit_price,
        "quantity": t.quantity,
        "entry_fee": t.entry_fee,
        "exit_fee": t.exit_fee,
        "pnl": t.pnl,
        "exit_reason": t.exit_reason.value,
    }


# -- row → domain ------------------------------------------------------------------------


def _to_backtest(row: Any) -> Backtest:
    run_info = row.run_info
    return Backtest(
        id=row.id,
        user_id=row.user_id,
        symbol=row.symbol,
        interval=row.interval,
        start_date=row.start_date,
        end_date=row.end_date,
        market_type=MarketType(row.market_type),
        leverage=row.leverage,
        strategy=row.strategy,
        parameters=dict(row.parameters),
        metrics=_metrics(row.metrics),
        trades=[_trade(t) for t in row.trades],
        equity_curve=[EquityPoint(int(t), float(e), float(d)) for t, e, d in row.equity_curve],
        candles=int(run_info["candles"]),
        gaps=[(int(first), int(last)) for first, last in run_info["gaps"]],
        test_mode=run_info["test_mode"],
        created_at=row.created_at,
    )


def _metrics(stored: dict[str, Any]) -> BacktestMetrics:
    fields = {name: value for name, value in stored.items() if name not in _PERIODS}
    return BacktestMetrics(
        **fields,
        daily_results=[PeriodResult(**p) for p in stored["daily_results"]],
        monthly_results=[PeriodResult(**p) for p in stored["monthly_results"]],
    )


def _trade(stored: dict[str, Any]) -> BacktestTrade:
    return BacktestTrade(
        side=Side[stored["side"].upper()],
        entry_time_ms=int(stored["entry_time_ms"]),
        exit_time_ms=int(stored["exit_time_ms"]),
        entry_price=float(stored["entry_price"]),
        exit_price=float(stored["exit_price"]),
        quantity=float(stored["quantity"]),
        entry_fee=float(stored["entry_fee"]),
        exit_fee=float(stored["exit_fee"]),
        pnl=float(stored["pnl"]),
        exit_reason=ExitReason(stored["exit_reason"]),
    )


def _to_summary(row: Any) -> BacktestSummary:
    return BacktestSummary(
        id=row.id,
        symbol=row.symbol,
        interval=row.interval,
        start_date=row.start_date,
        end_date=row.end_date,
        market_type=MarketType(row.market_type),
        strategy=row.strategy,
        total_return=row.total_return,
        win_rate=row.win_rate,
        total_trades=row.total_trades,
        test_mode=row.test_mode,
        created_at=row.created_at,
    )
