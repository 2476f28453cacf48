"""ImportCandles over the in-memory store: every row is checked before anything is stored."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.market_data.import_candles import (
    MAX_REPORTED_PROBLEMS,
    ImportCandles,
    ImportCandlesCommand,
    ImportedCandles,
)
from domain.errors import InvalidInput
from domain.exchange.market import MarketType
from domain.market_data.candle import Candle
from domain.market_data.timeframe import Timeframe
from domain.ports.candle_store import CandleKey
from tests.support.fakes import InMemoryCandleStore

HOUR = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
KEY = CandleKey("binance", MarketType.SPOT, "BTCUSDT", Timeframe("1h"))
HEADER = "timestamp_ms,open,high,low,close,volume"


def row(index: int, o: float = 100, h: float = 102, low: float = 98, c: float = 101) -> str:
    return f"{T0 + index * HOUR},{o},{h},{low},{c},12.5"


def csv(*lines: str) -> str:
    return "\n".join(lines) + "\n"


async def import_text(store: InMemoryCandleStore, content: str | bytes) -> ImportedCandles:
    return await ImportCandles(store).execute(ImportCandlesCommand(KEY, content))


async def rejected(content: str | bytes) -> InvalidInput:
    """The error for a bad file, after checking that nothing reached the store."""
    store = InMemoryCandleStore()
    with pytest.raises(InvalidInput) as raised:
        await import_text(store, content)
    assert store.upserts == 0
    assert not store.covered
    return raised.value


async def test_a_csv_with_a_header_is_stored_and_its_range_counts_as_covered() -> None:
    store = InMemoryCandleStore()

    result = await import_text(store, csv(HEADER, row(0), row(1), row(2)))

    assert result == ImportedCandles(3, T0, T0 + 2 * HOUR)
    assert store.candles[KEY][T0 + HOUR] == Candle(T0 + HOUR, 100, 102, 98, 101, 12.5)
    assert list((await store.read(KEY, T0, T0 + 2 * HOUR)).open_time_ms) == [
        T0,
        T0 + HOUR,
        T0 + 2 * HOUR,
    ]
    assert store.covered[KEY] == [(T0, T0 + 3 * HOUR - 1)]
    assert await store.missing_ranges(KEY, T0, T0 + 3 * HOUR - 1) == []


async def test_a_csv_without_a_header_is_read_from_its_first_line() -> None:
    store = InMemoryCandleStore()

    result = await import_text(store, csv(row(0), row(1)))

    assert result == ImportedCandles(2, T0, T0 + HOUR)


async def test_utf8_bytes_with_a_byte_order_mark_crlf_and_blank_lines_are_accepted() -> None:
    store = InMemoryCandleStore()
    content = ("\ufeff" + HEADER + "\r\n" + row(0) + "\r\n\r\n" + row(1) + "\r\n\r\n").encode()

    result = await import_text(store, content)

    assert result == ImportedCandles(2, T0, T0 + HOUR)


async def test_a_header_naming_the_timestamp_column_timestamp_is_accepted() -> None:
    store = InMemoryCandleStore()

    result = await import_text(store, csv("Timestamp, Open, High, Low, Close, Volume", row(0)))

    assert result.candles == 1


async def test_a_header_with_other_columns_is_refused() -> None:
    error = await rejected(csv("time,close,open,high,low,volume", row(0)))

    assert error.details == {"line 1": f"the header must be {HEADER}"}


async def test_a_row_with_the_wrong_number_of_columns_is_refused_by_line_number() -> None:
    error = await rejected(csv(HEADER, row(0), f"{T0 + HOUR},100,102,98,101"))

    assert error.details == {
        "line 3": "expected 6 columns (timestamp_ms,open,high,low,close,volume), found 5"
    }
    assert "nothing was imported" in error.message


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (f"{T0},abc,102,98,101,1", "open is not a number: 'abc'"),
        (f"{T0},100,,98,101,1", "high is not a number: ''"),
        (f"{T0},100,102,nan,101,1", "low is not a number: 'nan'"),
        (f"{T0},100,102,98,inf,1", "close is not a number: 'inf'"),
        (f"{T0},100,102,98,101,1e", "volume is not a number: '1e'"),
        ("2024-01-01,100,102,98,101,1", "timestamp_ms is not a number: '2024-01-01'"),
        (
            f"{T0}.5,100,102,98,101,1",
            f"timestamp_ms is not a whole number: '{T0}.5'",
        ),
    ],
)
async def test_a_field_that_is_not_a_number_is_refused_with_its_column(
    line: str, reason: str
) -> None:
    error = await rejected(csv(row(-1), line))

    assert error.details == {"line 2": reason}


async def test_a_high_below_the_open_or_close_is_refused() -> None:
    error = await rejected(csv(row(0, o=100, h=100.5, low=98, c=101)))

    assert error.details == {"line 1": "high 100.5 is below max(open, close) 101.0"}


async def test_a_low_above_the_open_or_close_is_refused() -> None:
    error = await rejected(csv(HEADER, row(0, o=99, h=102, low=99.5, c=101)))

    assert error.details == {"line 2": "low 99.5 is above min(open, close) 99.0"}


async def test_a_negative_volume_is_refused() -> None:
    error = await rejected(csv(f"{T0},100,102,98,101,-0.5"))

    assert error.details == {"line 1": "volume -0.5 is negative"}


async def test_a_price_of_zero_or_below_is_refused() -> None:
    error = await rejected(csv(f"{T0},0,102,-1,101,1"))

    assert error.details == {"line 1": "open, low must be above 0"}


async def test_a_timestamp_not_on_the_interval_is_refused() -> None:
    error = await rejected(csv(row(0), f"{T0 + HOUR + 60_000},100,102,98,101,1"))

    assert error.details == {
        "line 2": f"timestamp {T0 + HOUR + 60_000} is not aligned to the 1h interval"
    }


async def test_a_timestamp_in_seconds_is_refused_with_a_hint() -> None:
    error = await rejected(csv(f"{T0 // 1000 + 1},100,102,98,101,1"))

    assert error.details == {
        "line 1": f"timestamp {T0 // 1000 + 1} is not aligned to the 1h interval "
        "(seconds? timestamps are milliseconds)"
    }


async def test_a_negative_timestamp_is_refused() -> None:
    error = await rejected(csv(f"{-HOUR},100,102,98,101,1"))

    assert error.details == {"line 1": f"timestamp {-HOUR} is negative"}


async def test_a_timestamp_after_the_year_9999_is_refused() -> None:
    error = await rejected(csv(f"{10**20},100,102,98,101,1"))

    assert error.details == {"line 1": f"timestamp {10**20} is after the year 9999"}


async def test_a_duplicate_timestamp_names_the_line_it_repeats() -> None:
    error = await rejected(csv(HEADER, row(0), row(1), row(1)))

    assert error.details == {"line 4": f"duplicate timestamp {T0 + HOUR} (also on line 3)"}


async def test_a_timestamp_before_the_previous_row_is_refused() -> None:
    error = await rejected(csv(row(0), row(2), row(1)))

    assert error.details == {
        "line 3": f"timestamp {T0 + HOUR} is not after {T0 + 2 * HOUR} on line 2 "
        "(rows must be in increasing time order)"
    }


async def test_every_bad_row_is_reported_with_all_of_its_reasons() -> None:
    error = await rejected(
        csv(
            HEADER,
            row(0),
            f"{T0 + HOUR + 1},100,99,98,101,-1",
            row(2),
            "x,y",
            row(2),
        )
    )

    assert error.details == {
        "line 3": f"timestamp {T0 + HOUR + 1} is not aligned to the 1h interval; "
        "high 99.0 is below max(open, close) 101.0; volume -1.0 is negative",
        "line 5": "expected 6 columns (timestamp_ms,open,high,low,close,volume), found 2",
        "line 6": f"duplicate timestamp {T0 + 2 * HOUR} (also on line 4)",
    }
    assert error.message.startswith("3 invalid row(s) in the CSV")


async def test_only_the_first_twenty_problems_are_listed_and_the_message_counts_all() -> None:
    bad = [f"{T0 + i * HOUR},100,102,98,101,-1" for i in range(30)]

    error = await rejected(csv(HEADER, *bad))

    assert isinstance(error.details, dict)
    assert len(error.details) == MAX_REPORTED_PROBLEMS == 20
    assert list(error.details) == [f"line {number}" for number in range(2, 22)]
    assert error.message == (
        "30 invalid row(s) in the CSV (the first 20 are listed); nothing was imported"
    )


async def test_a_file_without_candles_is_refused() -> None:
    assert (await rejected("")).details == {"file": "no data rows"}
    assert (await rejected(csv(HEADER))).details == {"file": "no data rows"}


async def test_a_line_that_is_not_csv_text_is_refused_by_its_line_number() -> None:
    error = await rejected(csv(row(0), row(1) + "9" * 200_000, row(2)))

    assert error.details == {"line 2": "not CSV text: field larger than field limit (131072)"}


async def test_bytes_that_are_not_utf8_are_refused() -> None:
    error = await rejected(b"\xff\xfe" + row(0).encode())

    assert error.message == "The CSV is not UTF-8 text"


async def test_importing_over_stored_candles_replaces_them_and_merges_the_coverage() -> None:
    store = InMemoryCandleStore()
    await import_text(store, csv(row(0), row(1)))

    await import_text(store, csv(row(1, o=99), row(2), row(3)))

    assert store.candles[KEY][T0 + HOUR].open == 99
    assert len(store.candles[KEY]) == 4
    assert store.covered[KEY] == [(T0, T0 + 4 * HOUR - 1)]


candle_rows = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=5),  # hours after the previous candle
        st.floats(min_value=1e-6, max_value=1e9, allow_nan=False),
        st.floats(min_value=1e-6, max_value=1e9, allow_nan=False),
        st.floats(min_value=0, max_value=1e3, allow_nan=False),  # extra height of the wicks
        st.floats(min_value=0, max_value=1e12, allow_nan=False),
    ),
    min_size=1,
    max_size=40,
)


@given(candle_rows)
async def test_any_consistent_series_written_as_csv_is_imported_exactly(
    rows: list[tuple[int, float, float, float, float]],
) -> None:
    candles: list[Candle] = []
    open_time = T0
    for hours_later, o, c, wick, volume in rows:
        open_time += hours_later * HOUR
        candles.append(Candle(open_time, o, max(o, c) + wick, min(o, c) / 2, c, volume))
    content = csv(
        *(
            f"{x.open_time_ms},{x.open!r},{x.high!r},{x.low!r},{x.close!r},{x.volume!r}"
            for x in candles
        )
    )
    store = InMemoryCandleStore()

    result = await import_text(store, content)

    assert result == ImportedCandles(
        len(candles), candles[0].open_time_ms, candles[-1].open_time_ms
    )
    assert list(store.candles[KEY].values()) == candles
