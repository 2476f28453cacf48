"""`tradebot data ...` as operators run it, against a temp SQLite file and the Binance stub."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from entrypoints.migrations import upgrade
from entrypoints.settings import ENV_NAMES
from tests.integration import exchange_fixtures
from tests.integration.binance_stub import BinanceStub

# The shared fixture, bound here so that pytest finds it in this module.
binance_stub = exchange_fixtures.binance_stub

TRADEBOT = Path(sys.executable).parent / "tradebot"
HOUR = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
SPOT_KLINES = "/api/v3/klines"


def hourly_rows(count: int, skip: frozenset[int] = frozenset()) -> list[list[float]]:
    return [
        [T0 + i * HOUR, 100 + i, 102 + i, 98 + i, 101 + i, 7.25]
        for i in range(count)
        if i not in skip
    ]


@pytest.fixture
def cli_env(tmp_path: Path, binance_stub: BinanceStub) -> dict[str, str]:
    """The caller's environment without TradeBot configuration, on a migrated temp
    database, with Binance behind the stub."""
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    upgrade(url)
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TRADEBOT_") and name not in ENV_NAMES.values()
    }
    env["TRADEBOT_DATABASE_URL"] = url
    env["TRADEBOT_DATA_DIR"] = str(tmp_path / "data")
    env["TRADEBOT_BINANCE_BASE_URL"] = binance_stub.base_url
    return env


@pytest.fixture
def run_cli(cli_env: dict[str, str], tmp_path: Path) -> Any:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(TRADEBOT), "data", *args],
            env=cli_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


def listed(run_cli: Any) -> list[list[str]]:
    result = run_cli("list")
    assert result.returncode == 0, result.stderr
    return [line.split() for line in result.stdout.splitlines()]


def test_an_imported_csv_is_listed_with_its_count_and_range(run_cli: Any, tmp_path: Path) -> None:
    rows = hourly_rows(48, skip=frozenset({10, 11}))
    csv = tmp_path / "btc-1h.csv"
    csv.write_text(
        "timestamp_ms,open,high,low,close,volume\n"
        + "".join(",".join(str(value) for value in row) + "\n" for row in rows)
    )

    result = run_cli("import", str(csv), "--symbol", "BTCUSDT", "--interval", "1h")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "imported 46 candle(s): binance spot BTCUSDT 1h, "
        "2024-01-01 00:00 to 2024-01-02 23:00 (UTC)",
        "1 gap(s), 2 candle(s) missing:",
        "  2024-01-01 10:00 to 2024-01-01 11:00 (2 candle(s))",
    ]
    assert listed(run_cli) == [
        ["exchange", "market", "symbol", "interval", "candles", "first", "(UTC)", "last", "(UTC)"],
        ["binance", "spot", "BTCUSDT", "1h", "46", "2024-01-01", "00:00", "2024-01-02", "23:00"],
    ]


def test_a_csv_with_bad_rows_exits_1_naming_each_line_and_imports_nothing(
    run_cli: Any, tmp_path: Path
) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text(
        f"{T0},100,102,98,101,1\n"
        f"{T0 + HOUR},100,99,98,101,1\n"
        f"{T0 + 2 * HOUR},100,102,98,101\n"
        f"{T0 + 3 * HOUR},100,102,98,101,-4\n"
    )

    result = run_cli("import", str(csv), "--symbol", "BTCUSDT", "--interval", "1h")

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "tradebot: 3 invalid row(s) in the CSV; nothing was imported",
        "  line 2: high 99.0 is below max(open, close) 101.0",
        "  line 3: expected 6 columns (timestamp_ms,open,high,low,close,volume), found 5",
        "  line 4: volume -4.0 is negative",
    ]
    assert listed(run_cli) == [["no", "candles", "stored"]]


def test_a_download_shows_progress_stores_the_range_and_is_not_repeated(
    run_cli: Any, binance_stub: BinanceStub
) -> None:
    binance_stub.set_klines("BTCUSDT", "spot", hourly_rows(72, skip=frozenset({30})))
    arguments = ("download", "--symbol", "BTCUSDT", "--interval", "1h")
    dates = ("--start", "2024-01-01", "--end", "2024-01-03")

    result = run_cli(*arguments, *dates)

    assert result.returncode == 0, result.stderr
    assert "downloading" in result.stderr
    assert "100%" in result.stderr
    assert result.stdout.splitlines() == [
        "stored 71 candle(s): binance spot BTCUSDT 1h, 2024-01-01 to 2024-01-03 (UTC)",
        "1 gap(s), 1 candle(s) missing:",
        "  2024-01-02 06:00 to 2024-01-02 06:00 (1 candle(s))",
    ]
    assert len(binance_stub.requests_to(SPOT_KLINES)) == 1

    again = run_cli(*arguments, *dates)

    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0].startswith("stored 0 candle(s)")
    assert len(binance_stub.requests_to(SPOT_KLINES)) == 1
    assert listed(run_cli)[1][:5] == ["binance", "spot", "BTCUSDT", "1h", "71"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ("--interval", "1h", "--start", "2024-01-32", "--end", "2024-02-01"),
            "tradebot: --start must be a date YYYY-MM-DD, got '2024-01-32'",
        ),
        (
            ("--interval", "7m", "--start", "2024-01-01", "--end", "2024-02-01"),
            "tradebot: unknown interval '7m'; "
            "expected one of 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d",
        ),
        (
            ("--interval", "1h", "--start", "2024-02-01", "--end", "2024-01-31"),
            "tradebot: --end 2024-01-31 is before --start 2024-02-01",
        ),
    ],
)
def test_a_bad_download_argument_fails_with_one_clear_line(
    run_cli: Any, binance_stub: BinanceStub, arguments: tuple[str, ...], message: str
) -> None:
    result = run_cli("download", "--symbol", "BTCUSDT", *arguments)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [message]
    assert binance_stub.requests == []
