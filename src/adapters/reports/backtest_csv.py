"""The three CSV downloads of a backtest: per day, per month, per trade."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from domain.backtesting.backtest import Backtest
from domain.backtesting.metrics import PeriodResult

PERIOD_HEADER = (
    "period", "pnl", "return_perc", "trades", "wins", "fees", "start_equity", "end_equity",
)  # fmt: skip
TRADE_HEADER = (
    "trade", "side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity",
    "entry_fee", "exit_fee", "pnl", "exit_reason",
)  # fmt: skip


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _number(value: float) -> str:
    return repr(float(value))


def _period_rows(results: Sequence[PeriodResult]) -> Iterable[Sequence[object]]:
    for r in results:
        yield (
            r.period, _number(r.pnl), _number(r.return_perc), r.trades, r.wins, _number(r.fees),
            _number(r.start_equity), _number(r.end_equity),
        )  # fmt: skip


def daily_csv(backtest: Backtest) -> str:
    return _table(PERIOD_HEADER, _period_rows(backtest.metrics.daily_results))


def monthly_csv(backtest: Backtest) -> str:
    return _table(PERIOD_HEADER, _period_rows(backtest.metrics.monthly_results))


def trades_csv(backtest: Backtest) -> str:
    def iso(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).isoformat()

    return _table(
        TRADE_HEADER,
        (
            (
                n,
                t.side.name.lower(),
                iso(t.entry_time_ms),
                iso(t.exit_time_ms),
                _number(t.entry_price),
                _number(t.exit_price),
                _number(t.quantity),
                _number(t.entry_fee),
                _number(t.exit_fee),
                _number(t.pnl),
                t.exit_reason.value,
            )
            for n, t in enumerate(backtest.trades, start=1)
        ),
    )
