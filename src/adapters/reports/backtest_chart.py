"""The backtest chart: equity with trade markers above, drawdown below, as a PNG."""

from __future__ import annotations

import io
from bisect import bisect_right
from datetime import UTC, datetime

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from domain.backtesting.backtest import Backtest
from domain.trading.risk_engine import Side

# At most this many trades get a marker; more would be an unreadable smear.
MAX_MARKERS = 500


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def render_backtest_chart(backtest: Backtest, width_px: int = 1200, height_px: int = 700) -> bytes:
    """PNG bytes. Uses matplotlib's object API (no pyplot), so it is safe in threads."""
    dpi = 100
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi, layout="constrained")
    equity_axes, drawdown_axes = figure.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    times = [_time(p.time_ms) for p in backtest.equity_curve]
    equity_axes.plot(times, [p.equity for p in backtest.equity_curve], color="#1f77b4", lw=1.2)
    equity_axes.axhline(backtest.metrics.initial_capital, color="#999999", lw=0.8, ls="--")
    _trade_markers(equity_axes, backtest)
    m = backtest.metrics
    equity_axes.set_title(
        f"{backtest.symbol} {backtest.interval} {backtest.market_type.value} · {backtest.strategy}"
        f" · return {m.total_return:+.2f} % · {m.total_trades} trades · "
        f"max drawdown {m.max_drawdown:.2f} %",
        fontsize=10,
    )
    equity_axes.set_ylabel("equity")
    equity_axes.grid(alpha=0.3)
    drawdowns = [-p.drawdown_perc for p in backtest.equity_curve]
    drawdown_axes.fill_between(times, drawdowns, 0, color="#d62728", alpha=0.35, lw=0)
    drawdown_axes.set_ylabel("drawdown %")
    drawdown_axes.grid(alpha=0.3)
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    drawdown_axes.xaxis.set_major_locator(locator)
    formatter = ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
    drawdown_axes.xaxis.set_major_formatter(formatter)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _trade_markers(axes: object, backtest: Backtest) -> None:
    curve = backtest.equity_curve
    if not curve or not backtest.trades:
        return
    trades = backtest.trades[-MAX_MARKERS:]

    times_ms = [point.time_ms for point in curve]

    def equity_at(ms: int) -> float:
        # The sampled point at or before the time.
        return curve[max(bisect_right(times_ms, ms) - 1, 0)].equity

    markers = (
        (
            [t.entry_time_ms for t in trades if t.side is Side.LONG],
            "^",
            "#2ca02c",
            18,
            "long entry",
        ),
        (
            [t.entry_time_ms for t in trades if t.side is Side.SHORT],
            "v",
            "#ff7f0e",
            18,
            "short entry",
        ),
        ([t.exit_time_ms for t in trades], "x", "#555555", 14, "exit"),
    )
    for moments, marker, color, size, label in markers:
        axes.scatter(  # type: ignore[attr-defined]
            [_time(ms) for ms in moments],
            [equity_at(ms) for ms in moments],
            marker=marker,
            color=color,
            s=size,
            label=label,
            zorder=3,
        )
    axes.legend(loc="upper left", fontsize=8)  # type: ignore[attr-defined]
