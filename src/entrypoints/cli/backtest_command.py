"""`tradebot backtest`: run a backtest from the command line, print its numbers, and
optionally write its chart and CSV files.

Backtests belong to a user; command-line runs belong to the local account
cli@tradebot.local, created on first use, inactive, with a password nobody knows.
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.backtesting.backtest import Backtest
from domain.errors import DomainError
from domain.exchange.market import MarketType
from domain.market_data.timeframe import SUPPORTED_TIMEFRAMES, Timeframe, UnsupportedTimeframe
from entrypoints.cli.data_commands import UsageError
from entrypoints.settings import Settings

if TYPE_CHECKING:
    from entrypoints.container import Container

_MARKET_TYPES = [market_type.value for market_type in MarketType]
_INTEGER = re.compile(r"[+-]?\d+")
# Where each stage of a run sits on the progress bar (percent).
_STAGES = {"candles": (0, 70), "simulation": (70, 95), "metrics": (95, 100)}
_STAGE_LABELS = {
    "candles": "downloading candles",
    "simulation": "simulating",
    "metrics": "computing metrics",
}


def add_backtest_command(commands: Any) -> None:
    backtest = commands.add_parser(
        "backtest",
        help="run a backtest over stored candles (downloading what is missing)",
        description=(
            "Run a backtest and print its result. Missing candles are downloaded first. "
            "The result is stored under the local account cli@tradebot.local."
        ),
    )
    backtest.add_argument("--symbol", required=True, help="e.g. BTCUSDT")
    backtest.add_argument(
        "--interval", required=True, help=f"one of {', '.join(SUPPORTED_TIMEFRAMES)}"
    )
    backtest.add_argument("--start", required=True, help="first day, YYYY-MM-DD (UTC)")
    backtest.add_argument("--end", required=True, help="last day, YYYY-MM-DD (UTC), included")
    backtest.add_argument("--market-type", default=MarketType.SPOT.value, choices=_MARKET_TYPES)
    backtest.add_argument("--strategy", default="ema_rsi", help="default: ema_rsi")
    backtest.add_argument("--capital", default="10000", help="initial capital (default 10000)")
    backtest.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a strategy or risk parameter, e.g. ema_fast=12 or trailing_stop_active=true "
        "(repeatable; values are whole numbers, numbers or true/false)",
    )
    backtest.add_argument("--chart", type=Path, metavar="FILE.png", help="write the chart here")
    backtest.add_argument(
        "--csv-dir", type=Path, metavar="DIR", help="write daily.csv, monthly.csv, trades.csv here"
    )


@dataclass(frozen=True)
class _Request:
    symbol: str
    interval: str
    start: date
    end: date
    market_type: str
    strategy: str
    capital: float
    parameters: dict[str, int | float | bool]
    chart: Path | None
    csv_dir: Path | None


async def run_backtest_command(settings: Settings, args: argparse.Namespace) -> int:
    from entrypoints import migrations
    from entrypoints.container import build_container

    try:
        request = _request(args)
    except UsageError as exc:
        print(f"tradebot: {exc}", file=sys.stderr)
        return 2
    # Alembic's INFO lines about its context are noise on a command's stderr.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if not migrations.current(settings.database_url).endswith("(head)"):
        print(
            "tradebot: the database schema is not up to date; run `tradebot db upgrade` first",
            file=sys.stderr,
        )
        return 1
    container = build_container(settings)
    try:
        backtest = await _run(container, request)
        _print_result(backtest)
        _write_files(backtest, request)
        return 0
    except DomainError as exc:
        _print_error(exc)
        return 1
    except OSError as exc:
        print(f"tradebot: cannot write {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        await container.engine().dispose()


async def _run(container: Container, request: _Request) -> Backtest:
    from application.backtesting.run_backtest import RunBacktestCommand

    user_id = await container.ensure_local_account().execute()
    command = RunBacktestCommand(
        user_id=user_id,
        symbol=request.symbol,
        interval=request.interval,
        start_date=request.start,
        end_date=request.end,
        market_type=request.market_type,
        strategy=request.strategy,
        initial_capital=request.capital,
        parameters=request.parameters,
    )
    progress = _StageBar()
    try:
        backtest = await container.run_backtest().execute(command, progress)
        progress.finish()
        return backtest
    finally:
        progress.close()
        await container.exchange().close()


# -- arguments ---------------------------------------------------------------------------


def _request(args: argparse.Namespace) -> _Request:
    try:
        Timeframe(args.interval)
    except UnsupportedTimeframe:
        raise UsageError(
            f"unknown interval {args.interval!r}; expected one of {', '.join(SUPPORTED_TIMEFRAMES)}"
        ) from None
    start, end = _day("--start", args.start), _day("--end", args.end)
    if end < start:
        raise UsageError(f"--end {end} is before --start {start}")
    capital = _finite_number(args.capital)
    if capital is None or capital <= 0:
        raise UsageError(f"--capital must be a positive number, got {args.capital!r}")
    if args.chart is not None and not args.chart.parent.is_dir():
        raise UsageError(f"--chart {args.chart}: the directory {args.chart.parent} does not exist")
    return _Request(
        symbol=args.symbol,
        interval=args.interval,
        start=start,
        end=end,
        market_type=args.market_type,
        strategy=args.strategy,
        capital=capital,
        parameters=parse_parameters(args.param),
        chart=args.chart,
        csv_dir=args.csv_dir,
    )


def parse_parameters(items: list[str]) -> dict[str, int | float | bool]:
    """NAME=VALUE pairs; a value is a whole number, a number, or true/false."""
    parameters: dict[str, int | float | bool] = {}
    for item in items:
        name, equals, text = item.partition("=")
        name, text = name.strip(), text.strip()
        if not equals or not name or not text:
            raise UsageError(f"--param {item!r}: expected NAME=VALUE, e.g. ema_fast=12")
        if name in parameters:
            raise UsageError(f"--param {name} is given twice")
        parameters[name] = _parameter_value(name, text)
    return parameters


def _parameter_value(name: str, text: str) -> int | float | bool:
    if text.lower() in {"true", "false"}:
        return text.lower() == "true"
    if _INTEGER.fullmatch(text):
        return int(text)
    number = _finite_number(text)
    if number is None:
        raise UsageError(
            f"--param {name}={text}: the value must be a whole number, a number or true/false"
        )
    return number


def _finite_number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _day(option: str, value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC).date()
    except ValueError:
        raise UsageError(f"{option} must be a date YYYY-MM-DD, got {value!r}") from None


# -- output ------------------------------------------------------------------------------


class _StageBar:
    """One tqdm bar over the stages of a run: candle download, simulation, metrics.
    Opened at the first report, so a rejected request prints only its error."""

    def __init__(self) -> None:
        self._bar: Any = None

    def __call__(self, stage: str, fraction: float) -> None:
        first, last = _STAGES.get(stage, (0, 100))
        self._advance(_STAGE_LABELS.get(stage, stage), first + (last - first) * fraction)

    def finish(self) -> None:
        self._advance("done", 100)

    def _advance(self, label: str, percent: float) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(
                total=100,
                file=sys.stderr,
                bar_format="{desc:<20} {percentage:3.0f}%|{bar}| {elapsed}",
            )
        self._bar.set_description_str(label, refresh=False)
        target = round(min(max(percent, 0.0), 100.0))
        self._bar.update(max(target - self._bar.n, 0))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _print_result(b: Backtest) -> None:
    m = b.metrics
    print(
        f"backtest #{b.id}: {b.symbol} {b.interval} {b.market_type.value}"
        f"{f' x{b.leverage}' if b.leverage > 1 else ''}, {b.strategy}, "
        f"{b.start_date} to {b.end_date} (UTC), {b.candles:,} candles"
    )
    profit_factor = "n/a (no losing trade)" if m.profit_factor is None else f"{m.profit_factor:.2f}"
    rows = [
        ("total return", f"{m.total_return:+.2f} %"),
        ("trades", f"{m.total_trades} ({m.winning_trades} won, {m.losing_trades} lost)"),
        ("win rate", f"{m.win_rate:.2f} %"),
        ("fees", f"{m.total_fees:,.2f}"),
        ("max drawdown", f"{m.max_drawdown:.2f} %"),
        ("Sharpe", f"{m.sharpe:.2f}"),
        ("Sortino", f"{m.sortino:.2f}"),
        ("profit factor", profit_factor),
        ("exposure", f"{m.exposure:.2f} %"),
        ("final capital", f"{m.final_capital:,.2f} (from {m.initial_capital:,.2f})"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")
    if b.gaps:
        step = Timeframe(b.interval).milliseconds
        missing = sum((last - first) // step + 1 for first, last in b.gaps)
        print(f"  {len(b.gaps)} gap(s) in the candles, {missing:,} candle(s) missing")


def _write_files(b: Backtest, request: _Request) -> None:
    if request.chart is not None:
        from adapters.reports.backtest_chart import render_backtest_chart

        request.chart.write_bytes(render_backtest_chart(b))
        print(f"chart: {request.chart}")
    if request.csv_dir is not None:
        from adapters.reports.backtest_csv import daily_csv, monthly_csv, trades_csv

        request.csv_dir.mkdir(parents=True, exist_ok=True)
        for name, render in (
            ("daily.csv", daily_csv),
            ("monthly.csv", monthly_csv),
            ("trades.csv", trades_csv),
        ):
            (request.csv_dir / name).write_text(render(b), encoding="utf-8")
        print(f"CSV files: {request.csv_dir}/daily.csv, monthly.csv, trades.csv")


def _print_error(exc: DomainError) -> None:
    print(f"tradebot: {exc.message}", file=sys.stderr)
    if isinstance(exc.details, dict):
        for field, reason in exc.details.items():
            text = "; ".join(map(str, reason)) if isinstance(reason, list) else reason
            print(f"  {field}: {text}", file=sys.stderr)
