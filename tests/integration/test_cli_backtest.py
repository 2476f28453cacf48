"""`tradebot backtest` as operators run it: candles imported from a CSV, the Binance stub
for the market list, a temp SQLite file, the chart and CSVs written to disk."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from entrypoints.migrations import upgrade
from entrypoints.settings import ENV_NAMES
from tests.integration import exchange_fixtures
from tests.integration.backtest_candles import DAYS, hourly_klines
from tests.integration.binance_stub import BinanceStub

# The shared fixture, bound here so that pytest finds it in this module.
binance_stub = exchange_fixtures.binance_stub

TRADEBOT = Path(sys.executable).parent / "tradebot"
SPOT_KLINES = "/api/v3/klines"
RANGE = ("--symbol", "BTCUSDT", "--interval", "1h", "--start", "2024-01-20", "--end", "2024-02-10")
RISK = ("--param", "stop_loss_perc=2", "--param", "take_profit_perc=4.0")


@pytest.fixture
def run_cli(tmp_path: Path, binance_stub: BinanceStub) -> Any:
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

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(TRADEBOT), *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    return run


@pytest.fixture
def imported(run_cli: Any, tmp_path: Path) -> None:
    rows = hourly_klines(DAYS * 24)
    candles = tmp_path / "btc-1h.csv"
    candles.write_text(
        "timestamp_ms,open,high,low,close,volume\n"
        + "".join(",".join(str(value) for value in row) + "\n" for row in rows)
    )
    result = run_cli("data", "import", str(candles), "--symbol", "BTCUSDT", "--interval", "1h")
    assert result.returncode == 0, result.stderr


@pytest.mark.usefixtures("imported")
def test_a_backtest_prints_its_table_and_writes_the_chart_and_csvs(
    run_cli: Any, tmp_path: Path, binance_stub: BinanceStub
) -> None:
    result = run_cli(
        "backtest", *RANGE, *RISK, "--capital", "5000",
        "--chart", "out.png", "--csv-dir", "reports",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "100%" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "backtest #1: BTCUSDT 1h spot, ema_rsi, 2024-01-20 to 2024-02-10 (UTC), 528 candles"
    )
    labels = [line.split("  ")[1].strip() for line in lines[1:11]]
    assert labels == [
        "total return", "trades", "win rate", "fees", "max drawdown", "Sharpe", "Sortino",
        "profit factor", "exposure", "final capital",
    ]  # fmt: skip
    assert "(from 5,000.00)" in lines[10]
    assert binance_stub.requests_to(SPOT_KLINES) == []
    assert (tmp_path / "out.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    reports = tmp_path / "reports"
    with (reports / "trades.csv").open(newline="") as handle:
        trades = list(csv.reader(handle))
    trade_count = int(lines[2].split()[1])
    assert trade_count > 0
    assert len(trades) - 1 == trade_count
    with (reports / "daily.csv").open(newline="") as handle:
        assert len(list(csv.reader(handle))) == 1 + DAYS
    with (reports / "monthly.csv").open(newline="") as handle:
        assert [row[0] for row in csv.reader(handle)] == ["period", "2024-01", "2024-02"]

    again = run_cli("backtest", *RANGE)
    users = run_cli("users", "list")

    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("backtest #2: ")
    owners = [line.split() for line in users.stdout.splitlines()[1:]]
    assert [(row[1], row[-1]) for row in owners] == [("no", "cli@tradebot.local")]


def test_a_malformed_param_exits_2_with_one_line_before_touching_anything(
    run_cli: Any, binance_stub: BinanceStub
) -> None:
    result = run_cli("backtest", *RANGE, "--param", "ema_fast=fast")

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "tradebot: --param ema_fast=fast: the value must be a whole number, a number or true/false"
    ]
    assert binance_stub.requests == []


@pytest.mark.usefixtures("imported")
def test_a_parameter_the_backtest_rejects_exits_1_naming_it(run_cli: Any) -> None:
    result = run_cli("backtest", *RANGE, "--param", "ema_fast=30", "--param", "colour=1")

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "tradebot: Validation failed",
        "  parameters.colour: unknown parameter",
    ]
