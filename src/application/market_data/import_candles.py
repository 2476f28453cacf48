from __future__ import annotations

import csv
import math
from dataclasses import dataclass

from domain.errors import InvalidInput
from domain.market_data.candle import Candle
from domain.market_data.candle_rules import candle_problems
from domain.market_data.timeframe import Timeframe
from domain.ports.candle_store import CandleKey, CandleStore

COLUMNS = ("timestamp_ms", "open", "high", "low", "close", "volume")
# The header may name the first column any of these ways.
_TIMESTAMP_HEADERS = frozenset({"timestamp_ms", "timestamp", "open_time", "open_time_ms"})
# How many bad rows an error lists; its message gives the total.
MAX_REPORTED_PROBLEMS = 20


@dataclass(frozen=True, slots=True)
class ImportCandlesCommand:
    key: CandleKey
    content: str | bytes  # CSV: timestamp_ms,open,high,low,close,volume; header optional


@dataclass(frozen=True, slots=True)
class ImportedCandles:
    candles: int
    first_open_ms: int
    last_open_ms: int


class ImportCandles:
    """Store candles from a CSV file. Every row is checked before anything is stored:
    one bad row and nothing is imported, and InvalidInput lists the bad rows by line
    number with the reason (the first 20; its message gives the total). The range from
    the first to the last candle then counts as covered, so it is not downloaded again."""

    def __init__(self, store: CandleStore) -> None:
        self._store = store

    async def execute(self, command: ImportCandlesCommand) -> ImportedCandles:
        timeframe = command.key.timeframe
        candles = parse_candles_csv(command.content, timeframe)
        await self._store.upsert(command.key, candles)
        first, last = candles[0].open_time_ms, candles[-1].open_time_ms
        await self._store.mark_covered(command.key, first, last + timeframe.milliseconds - 1)
        return ImportedCandles(len(candles), first, last)


def parse_candles_csv(content: str | bytes, timeframe: Timeframe) -> list[Candle]:
    """The file's candles, oldest first; InvalidInput naming every bad line otherwise."""
    rows = _CandleRows(timeframe)
    rows.read(_decode(content))
    if rows.problems:
        problems = rows.problems
        shown = dict(list(problems.items())[:MAX_REPORTED_PROBLEMS])
        raise InvalidInput(
            f"{len(problems)} invalid row(s) in the CSV"
            + (f" (the first {len(shown)} are listed)" if len(shown) < len(problems) else "")
            + "; nothing was imported",
            details={f"line {number}": reason for number, reason in shown.items()},
        )
    if not rows.candles:
        raise InvalidInput("The CSV holds no candles", details={"file": "no data rows"})
    return rows.candles


class _CandleRows:
    """The rows read so far: good candles, and the reasons each bad line is bad."""

    def __init__(self, timeframe: Timeframe) -> None:
        self._timeframe = timeframe
        self.candles: list[Candle] = []
        self.problems: dict[int, str] = {}
        self._line_of_time: dict[int, int] = {}
        self._previous: tuple[int, int] | None = None  # (line, timestamp) of the last dated row
        self._first_line = True

    def read(self, text: str) -> None:
        reader = csv.reader(text.splitlines())
        try:
            for record in reader:
                self._add(reader.line_num, [field.strip() for field in record])
        except csv.Error as exc:  # e.g. a binary file's endless field: the rest is not CSV
            self.problems[reader.line_num] = f"not CSV text: {exc}"

    def _add(self, number: int, fields: list[str]) -> None:
        if not any(fields):
            return
        first_line, self._first_line = self._first_line, False
        if first_line and _is_header(fields):
            if not _names_the_columns(fields):
                self.problems[number] = f"the header must be {','.join(COLUMNS)}"
            return
        reasons, candle, timestamp = _parse_row(fields, self._timeframe)
        if timestamp is not None:
            reasons += self._order_problems(number, timestamp)
        if reasons:
            self.problems[number] = "; ".join(reasons)
        elif candle is not None:
            self.candles.append(candle)

    def _order_problems(self, number: int, timestamp: int) -> list[str]:
        seen_on = self._line_of_time.setdefault(timestamp, number)
        previous, self._previous = self._previous, (number, timestamp)
        if seen_on != number:
            return [f"duplicate timestamp {timestamp} (also on line {seen_on})"]
        if previous is not None and timestamp < previous[1]:
            return [
                f"timestamp {timestamp} is not after {previous[1]} on line {previous[0]}"
                " (rows must be in increasing time order)"
            ]
        return []


def _decode(content: str | bytes) -> str:
    if isinstance(content, str):
        return content.removeprefix("\ufeff")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            "The CSV is not UTF-8 text", details={"file": f"undecodable byte at offset {exc.start}"}
        ) from None


def _is_header(fields: list[str]) -> bool:
    return not any(_is_number(field) for field in fields)


def _names_the_columns(fields: list[str]) -> bool:
    names = [field.lower() for field in fields]
    return (
        len(names) == len(COLUMNS)
        and names[0] in _TIMESTAMP_HEADERS
        and tuple(names[1:]) == COLUMNS[1:]
    )


def _parse_row(
    fields: list[str], timeframe: Timeframe
) -> tuple[list[str], Candle | None, int | None]:
    """(reasons the row is bad, its candle when it is good, its timestamp when readable)."""
    if len(fields) != len(COLUMNS):
        return (
            [f"expected {len(COLUMNS)} columns ({','.join(COLUMNS)}), found {len(fields)}"],
            None,
            None,
        )
    reasons: list[str] = []
    timestamp = _timestamp(fields[0], reasons)
    values = [
        _finite(name, field, reasons) for name, field in zip(COLUMNS[1:], fields[1:], strict=True)
    ]
    if timestamp is None or reasons:
        return reasons, None, timestamp
    open_, high, low, close, volume = [value for value in values if value is not None]
    candle = Candle(timestamp, open_, high, low, close, volume)
    return candle_problems(candle, timeframe), candle, timestamp


def _timestamp(field: str, reasons: list[str]) -> int | None:
    try:
        return int(field)
    except ValueError:
        pass
    number = _float(field)
    if number is None:
        reasons.append(f"timestamp_ms is not a number: {field!r}")
    elif not number.is_integer():
        reasons.append(f"timestamp_ms is not a whole number: {field!r}")
    else:
        return int(number)
    return None


def _finite(name: str, field: str, reasons: list[str]) -> float | None:
    number = _float(field)
    if number is None:
        reasons.append(f"{name} is not a number: {field!r}")
    return number


def _float(field: str) -> float | None:
    """The field as a finite float, or None ("nan" and "inf" are not prices)."""
    try:
        number = float(field)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _is_number(field: str) -> bool:
    return _float(field) is not None
