"""`tradebot data ...`: download, import and list the stored candles."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.errors import DomainError
from domain.exchange.market import MarketType
from domain.market_data.timeframe import SUPPORTED_TIMEFRAMES, Timeframe, UnsupportedTimeframe
from domain.ports.candle_store import CandleKey, CandleStore
from domain.values import Symbol
from entrypoints.settings import Settings

if TYPE_CHECKING:
    from entrypoints.container import Container

_MARKET_TYPES = [market_type.value for market_type in MarketType]
_DAY_MS = 86_400_000


class UsageError(Exception):
    """A bad argument, told in one line; the command exits with 2 like argparse."""


def add_data_commands(commands: Any) -> None:
    data = commands.add_parser("data", help="stored candles (market data for backtests)")
    data_commands = data.add_subparsers(dest="data_command", required=True)

    download = data_commands.add_parser(
        "download", help="download the candles of a date range that are not stored yet"
    )
    _add_series_arguments(download)
    download.add_argument("--start", required=True, help="first day, YYYY-MM-DD (UTC)")
    download.add_argument("--end", required=True, help="last day, YYYY-MM-DD (UTC), included")

    load = data_commands.add_parser(
        "import", help="store candles from a CSV file: timestamp_ms,open,high,low,close,volume"
    )
    load.add_argument("file", type=Path)
    _add_series_arguments(load)

    data_commands.add_parser("list", help="show the stored candle series")


def _add_series_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--symbol", required=True, help="e.g. BTCUSDT")
    parser.add_argument(
        "--interval", required=True, help=f"one of {', '.join(SUPPORTED_TIMEFRAMES)}"
    )
    parser.add_argument("--market-type", default=MarketType.SPOT.value, choices=_MARKET_TYPES)


async def run_data(settings: Settings, args: argparse.Namespace) -> int:
    from entrypoints import migrations
    from entrypoints.container import build_container

    try:
        if args.data_command == "list":
            request: _Download | _Import | None = None
        elif args.data_command == "download":
            request = _download_request(args)
        else:
            request = _import_request(args)
    except UsageError as exc:
        print(f"tradebot: {exc}", file=sys.stderr)
        return 2
    # Alembic's INFO lines about its context are noise on a data command's stderr.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if not migrations.current(settings.database_url).endswith("(head)"):
        print(
            "tradebot: the database schema is not up to date; run `tradebot db upgrade` first",
            file=sys.stderr,
        )
        return 1
    container = build_container(settings)
    try:
        if request is None:
            return await _list(container.candle_store())
        exchange_id = container.candle_exchange_id()
        if isinstance(request, _Download):
            return await _download(container, exchange_id, request)
        return await _import(container, exchange_id, request)
    except DomainError as exc:
        _print_error(exc)
        return 1
    finally:
        await container.engine().dispose()


# -- arguments ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Series:
    market_type: MarketType
    symbol: str
    timeframe: Timeframe

    def key(self, exchange_id: str) -> CandleKey:
        return CandleKey(exchange_id, self.market_type, self.symbol, self.timeframe)


@dataclass(frozen=True)
class _Download:
    series: _Series
    start: date
    end: date


@dataclass(frozen=True)
class _Import:
    series: _Series
    content: bytes


def _series(args: argparse.Namespace) -> _Series:
    try:
        timeframe = Timeframe(args.interval)
    except UnsupportedTimeframe:
        raise UsageError(
            f"unknown interval {args.interval!r}; expected one of {', '.join(SUPPORTED_TIMEFRAMES)}"
        ) from None
    try:
        symbol = Symbol(args.symbol).value
    except DomainError:
        raise UsageError(
            f"invalid symbol {args.symbol!r}; expected 2-20 letters or digits, e.g. BTCUSDT"
        ) from None
    return _Series(MarketType(args.market_type), symbol, timeframe)


def _download_request(args: argparse.Namespace) -> _Download:
    series = _series(args)
    start, end = _day("--start", args.start), _day("--end", args.end)
    if end < start:
        raise UsageError(f"--end {end} is before --start {start}")
    return _Download(series, start, end)


def _import_request(args: argparse.Namespace) -> _Import:
    series = _series(args)
    try:
        content = args.file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    return _Import(series, content)


def _day(option: str, value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC).date()
    except ValueError:
        raise UsageError(f"{option} must be a date YYYY-MM-DD, got {value!r}") from None


# -- commands ----------------------------------------------------------------------------


async def _download(container: Container, exchange_id: str, request: _Download) -> int:
    key = request.series.key(exchange_id)
    start_ms = _epoch_ms(request.start)
    end_ms = _epoch_ms(request.end) + _DAY_MS - 1
    progress = _ProgressBar(key.timeframe.milliseconds)
    exchange = container.exchange()
    try:
        stored = await container.ensure_candles().execute(key, start_ms, end_ms, progress)
    finally:
        progress.close()
        await exchange.close()
    print(f"stored {stored:,} candle(s): {_describe(key)}, {request.start} to {request.end} (UTC)")
    await _print_gaps(container.candle_store(), key, start_ms, end_ms)
    return 0


async def _import(container: Container, exchange_id: str, request: _Import) -> int:
    from application.market_data.import_candles import ImportCandlesCommand

    key = request.series.key(exchange_id)
    result = await container.import_candles().execute(ImportCandlesCommand(key, request.content))
    print(
        f"imported {result.candles:,} candle(s): {_describe(key)}, "
        f"{_time(result.first_open_ms)} to {_time(result.last_open_ms)} (UTC)"
    )
    await _print_gaps(container.candle_store(), key, result.first_open_ms, result.last_open_ms)
    return 0


async def _list(store: CandleStore) -> int:
    stored = await store.series()
    if not stored:
        print("no candles stored")
        return 0
    header = ("exchange", "market", "symbol", "interval", "candles", "first (UTC)", "last (UTC)")
    rows = [
        (
            s.key.exchange,
            s.key.market_type.value,
            s.key.symbol,
            s.key.timeframe.value,
            f"{s.candles:,}",
            _time(s.first_open_ms),
            _time(s.last_open_ms),
        )
        for s in stored
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [
            cell.rjust(width) if i == 4 else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
    return 0


async def _print_gaps(store: CandleStore, key: CandleKey, start_ms: int, end_ms: int) -> None:
    gaps = await store.gaps(key, start_ms, end_ms)
    if not gaps:
        print("no gaps")
        return
    step = key.timeframe.milliseconds
    missing = sum((last - first) // step + 1 for first, last in gaps)
    print(f"{len(gaps)} gap(s), {missing:,} candle(s) missing:")
    for first, last in gaps:
        print(f"  {_time(first)} to {_time(last)} ({(last - first) // step + 1:,} candle(s))")


class _ProgressBar:
    """A tqdm bar in candles, opened at the first page (when the total is known)."""

    def __init__(self, step_ms: int) -> None:
        self._step_ms = step_ms
        self._bar: Any = None

    def __call__(self, stored: int, done_ms: int, total_ms: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            total = -(-total_ms // self._step_ms)
            self._bar = tqdm(total=total, unit=" candles", desc="downloading", file=sys.stderr)
        self._bar.set_postfix(stored=stored, refresh=False)
        self._bar.update(min(done_ms // self._step_ms, self._bar.total) - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _print_error(exc: DomainError) -> None:
    print(f"tradebot: {exc.message}", file=sys.stderr)
    if isinstance(exc.details, dict):
        for field, reason in exc.details.items():
            text = "; ".join(map(str, reason)) if isinstance(reason, list) else reason
            print(f"  {field}: {text}", file=sys.stderr)


def _describe(key: CandleKey) -> str:
    return f"{key.exchange} {key.market_type.value} {key.symbol} {key.timeframe}"


def _epoch_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _time(epoch_ms: int) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return f"{moment:%Y-%m-%d %H:%M}"
