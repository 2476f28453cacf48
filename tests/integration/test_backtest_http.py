"""Backtest routes over HTTP, on SQLite and PostgreSQL, with ccxt talking to the Binance
stub: candles are downloaded into the store on the first run, read from it afterwards."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.exchange.ccxt_gateway import CcxtExchangeGateway
from adapters.reports.backtest_csv import PERIOD_HEADER, TRADE_HEADER
from tests.integration import exchange_fixtures
from tests.integration.backtest_candles import DAYS, T0, hourly_klines
from tests.integration.binance_stub import BinanceStub
from tests.integration.bots_api import assert_envelope, sign_up
from tests.integration.exchange_fixtures import stub_settings

# The shared fixture, bound here so that pytest finds it in this module.
binance_stub = exchange_fixtures.binance_stub

BACKTEST = "/api/v1/backtest"
SPOT_KLINES = "/api/v3/klines"
FUTURES_KLINES = "/fapi/v1/klines"
RUN = {
    "symbol": "BTCUSDT",
    "interval": "1h",
    "start_date": "2024-01-20",
    "end_date": "2024-02-10",
    "parameters": {"stop_loss_perc": 2, "take_profit_perc": 4, "position_size_perc": 10},
}
SEED_FIELDS = {
    "id", "symbol", "interval", "start_date", "end_date", "parameters", "initial_capital",
    "final_capital", "total_return", "total_trades", "winning_trades", "losing_trades",
    "win_rate", "total_fees", "avg_profit", "daily_results", "monthly_results", "test_mode",
    "market_type", "leverage", "created_at",
}  # fmt: skip
EXTRA_FIELDS = {
    "strategy", "max_drawdown", "sharpe", "sortino", "profit_factor", "exposure", "candles",
    "gaps", "equity_curve", "trades",
}  # fmt: skip
SEED_LIST_FIELDS = {
    "id", "symbol", "interval", "start_date", "end_date", "total_return", "win_rate",
    "total_trades", "test_mode", "created_at",
}  # fmt: skip
PERIOD_FIELDS = [
    "pnl", "return_perc", "trades", "wins", "fees", "start_equity", "end_equity",
]  # fmt: skip


@pytest.fixture
async def exchange(binance_stub: BinanceStub) -> AsyncIterator[CcxtExchangeGateway]:
    """The real ccxt adapter against the stub, in place of conftest's fake exchange."""
    binance_stub.set_klines("BTCUSDT", "spot", hourly_klines(DAYS * 24))
    binance_stub.set_klines("BTCUSDT", "futures", hourly_klines(DAYS * 24, seed=11))
    gateway = CcxtExchangeGateway(stub_settings(binance_stub))
    yield gateway
    await gateway.close()


async def run(client: httpx.AsyncClient, headers: dict[str, str], **changes: Any) -> dict[str, Any]:
    response = await client.post(f"{BACKTEST}/run", json={**RUN, **changes}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "success"
    data: dict[str, Any] = body["data"]
    return data


def without_identity(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in {"id", "created_at"}}


async def test_a_run_downloads_the_candles_once_and_answers_with_every_field(
    client: httpx.AsyncClient, binance_stub: BinanceStub
) -> None:
    headers = await sign_up(client, "alice@example.com")

    data = await run(client, headers)

    assert set(data) == SEED_FIELDS | EXTRA_FIELDS
    assert len(binance_stub.requests_to(SPOT_KLINES)) == 1
    assert data["symbol"] == "BTCUSDT"
    assert (data["interval"], data["start_date"], data["end_date"]) == (
        "1h",
        "2024-01-20",
        "2024-02-10",
    )
    assert data["parameters"] == RUN["parameters"]
    assert (data["market_type"], data["leverage"], data["strategy"]) == ("spot", 1, "ema_rsi")
    assert data["test_mode"] == "historical"
    assert data["candles"] == DAYS * 24
    assert data["gaps"] == []
    assert data["initial_capital"] == 10_000
    assert data["total_trades"] > 0
    assert data["winning_trades"] + data["losing_trades"] == data["total_trades"]
    assert 0 < data["winning_trades"] < data["total_trades"]
    assert isinstance(data["profit_factor"], float)
    trade_pnl = sum(t["pnl"] for t in data["trades"])
    assert trade_pnl == pytest.approx(data["final_capital"] - data["initial_capital"], abs=1e-6)
    assert data["total_return"] == pytest.approx(
        (data["final_capital"] / data["initial_capital"] - 1) * 100
    )
    assert [d["date"] for d in data["daily_results"]] == [
        f"{datetime.fromtimestamp(T0 / 1000, UTC) + timedelta(days=n):%Y-%m-%d}"
        for n in range(DAYS)
    ]
    assert set(data["daily_results"][0]) == {"date", *PERIOD_FIELDS}
    assert list(data["monthly_results"]) == ["2024-01", "2024-02"]
    assert set(data["monthly_results"]["2024-01"]) == set(PERIOD_FIELDS)
    assert data["equity_curve"][0] == {
        "time": "2024-01-20T00:00:00Z",
        "equity": pytest.approx(10_000),
        "drawdown_perc": pytest.approx(0),
    }
    assert data["equity_curve"][-1]["equity"] == pytest.approx(data["final_capital"])
    first = data["trades"][0]
    assert set(first) == {
        "side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity",
        "entry_fee", "exit_fee", "pnl", "exit_reason",
    }  # fmt: skip
    assert first["side"] == "long"
    assert first["exit_reason"] in {"stop_loss", "take_profit", "signal", "end_of_data"}

    binance_stub.clear_requests()
    again = await run(client, headers)

    assert binance_stub.requests_to(SPOT_KLINES) == []
    assert again["id"] != data["id"]
    assert without_identity(again) == without_identity(data)


async def test_a_futures_run_defaults_to_leverage_10_and_reads_futures_candles(
    client: httpx.AsyncClient, binance_stub: BinanceStub
) -> None:
    headers = await sign_up(client, "alice@example.com")

    data = await run(client, headers, market_type="futures")

    assert (data["market_type"], data["leverage"]) == ("futures", 10)
    assert len(binance_stub.requests_to(FUTURES_KLINES)) == 1
    assert binance_stub.requests_to(SPOT_KLINES) == []
    assert {t["side"] for t in data["trades"]} == {"long", "short"}


async def test_the_list_is_newest_first_paginated_and_in_the_seed_shape(
    client: httpx.AsyncClient,
) -> None:
    headers = await sign_up(client, "alice@example.com")
    older = await run(client, headers)
    newer = await run(client, headers, strategy="ema_crossover")

    listed = await client.get(f"{BACKTEST}/list", headers=headers)

    assert listed.status_code == 200
    assert listed.headers["X-Total-Count"] == "2"
    body = listed.json()
    assert body["status"] == "success"
    assert [item["id"] for item in body["data"]] == [newer["id"], older["id"]]
    item = body["data"][1]
    assert set(item) == SEED_LIST_FIELDS
    assert item == {name: older[name] for name in SEED_LIST_FIELDS}
    page = await client.get(f"{BACKTEST}/list?limit=1&offset=1", headers=headers)
    assert page.headers["X-Total-Count"] == "2"
    assert [item["id"] for item in page.json()["data"]] == [older["id"]]
    assert_envelope(await client.get(f"{BACKTEST}/list?limit=0", headers=headers), 400)


async def test_the_detail_repeats_the_run_and_delete_answers_with_the_seed_body(
    client: httpx.AsyncClient,
) -> None:
    headers = await sign_up(client, "alice@example.com")
    data = await run(client, headers)

    detail = await client.get(f"{BACKTEST}/detail/{data['id']}", headers=headers)

    assert detail.status_code == 200
    assert detail.json() == {"status": "success", "data": data}

    deleted = await client.delete(f"{BACKTEST}/delete/{data['id']}", headers=headers)

    assert deleted.status_code == 200
    assert deleted.json() == {"status": "success", "message": "Backtest deleted successfully"}
    gone = assert_envelope(
        await client.get(f"{BACKTEST}/detail/{data['id']}", headers=headers), 404
    )
    assert gone["error"] == "Backtest not found"
    assert_envelope(await client.delete(f"{BACKTEST}/delete/{data['id']}", headers=headers), 404)
    listed = await client.get(f"{BACKTEST}/list", headers=headers)
    assert listed.json() == {"status": "success", "data": []}
    assert listed.headers["X-Total-Count"] == "0"


async def test_another_users_backtest_is_not_found_on_every_id_route(
    client: httpx.AsyncClient,
) -> None:
    alice = await sign_up(client, "alice@example.com")
    bob = await sign_up(client, "bob@example.com")
    backtest_id = (await run(client, alice))["id"]
    routes = [
        ("GET", "detail/{id}"),
        ("GET", "detail/{id}/chart.png"),
        ("GET", "download/{id}/daily.csv"),
        ("GET", "download/{id}/monthly.csv"),
        ("GET", "download/{id}/trades.csv"),
        ("DELETE", "delete/{id}"),
    ]

    for method, route in routes:
        theirs = await client.request(
            method, f"{BACKTEST}/{route.format(id=backtest_id)}", headers=bob
        )
        missing = await client.request(method, f"{BACKTEST}/{route.format(id=99_999)}", headers=bob)
        huge = await client.request(method, f"{BACKTEST}/{route.format(id=2**40)}", headers=bob)
        assert assert_envelope(theirs, 404) == assert_envelope(missing, 404), route
        assert assert_envelope(huge, 404) == theirs.json(), route

    assert (await client.get(f"{BACKTEST}/list", headers=bob)).json()["data"] == []
    still = await client.get(f"{BACKTEST}/detail/{backtest_id}", headers=alice)
    assert still.status_code == 200


async def test_backtest_routes_need_a_bearer_token(client: httpx.AsyncClient) -> None:
    for method, route in [
        ("POST", "run"),
        ("GET", "list"),
        ("GET", "detail/1"),
        ("GET", "detail/1/chart.png"),
        ("DELETE", "delete/1"),
        ("GET", "symbols/spot"),
        ("GET", "download/1/daily.csv"),
    ]:
        response = await client.request(method, f"{BACKTEST}/{route}", json=RUN)
        assert_envelope(response, 401)


def _tomorrow() -> str:
    return f"{datetime.now(UTC).date() + timedelta(days=1):%Y-%m-%d}"


INVALID_RUNS: list[tuple[dict[str, Any], str]] = [
    ({"start_date": "2024-02-10", "end_date": "2024-01-20"}, "end_date"),
    ({"end_date": "__tomorrow__"}, "end_date"),
    ({"start_date": "2024-02-30"}, "start_date"),
    ({"interval": "7m"}, "interval"),
    ({"market_type": "margin"}, "market_type"),
    ({"strategy": "martingale"}, "strategy"),
    ({"initial_capital": 0}, "initial_capital"),
    ({"symbol": "BTC USDT!"}, "symbol"),
    ({"colour": "blue"}, "colour"),
    ({"parameters": {"colour": 3}}, "parameters.colour"),
    ({"parameters": {"ema_fast": 21, "ema_slow": 21}}, "parameters.ema_fast"),
    ({"parameters": {"max_daily_trades": 51}}, "parameters.max_daily_trades"),
    ({"parameters": {"leverage": 126}, "market_type": "futures"}, "parameters.leverage"),
    ({"parameters": {"leverage": 5}}, "parameters.leverage"),
    ({"parameters": {"stop_loss_perc": "two"}}, "parameters.stop_loss_perc"),
    ({"parameters": {"fee_perc": 60}}, "parameters.fee_perc"),
    ({"parameters": []}, "parameters"),
]


async def test_every_invalid_run_is_a_400_naming_the_field_and_downloads_nothing(
    client: httpx.AsyncClient, binance_stub: BinanceStub
) -> None:
    headers = await sign_up(client, "alice@example.com")
    wrong: list[str] = []
    for changes, field in INVALID_RUNS:
        if changes.get("end_date") == "__tomorrow__":
            changes = {**changes, "end_date": _tomorrow()}
        response = await client.post(f"{BACKTEST}/run", json={**RUN, **changes}, headers=headers)
        details = response.json().get("details")
        if response.status_code != 400 or not isinstance(details, dict) or field not in details:
            wrong.append(f"{changes} -> {response.status_code} {response.text}")
    assert wrong == []
    assert binance_stub.requests_to(SPOT_KLINES) == []
    assert binance_stub.requests_to(FUTURES_KLINES) == []
    listed = await client.get(f"{BACKTEST}/list", headers=headers)
    assert listed.headers["X-Total-Count"] == "0"


async def test_an_unknown_symbol_is_an_invalid_symbol(
    client: httpx.AsyncClient, binance_stub: BinanceStub
) -> None:
    headers = await sign_up(client, "alice@example.com")

    response = await client.post(
        f"{BACKTEST}/run", json={**RUN, "symbol": "DOGEUSDT"}, headers=headers
    )

    assert assert_envelope(response, 400)["error"] == "Invalid symbol"
    assert binance_stub.requests_to(SPOT_KLINES) == []


async def test_more_than_five_years_of_minute_candles_is_refused_with_a_hint(
    client: httpx.AsyncClient, binance_stub: BinanceStub
) -> None:
    headers = await sign_up(client, "alice@example.com")

    response = await client.post(
        f"{BACKTEST}/run",
        json={**RUN, "interval": "1m", "start_date": "2018-01-01", "end_date": "2023-12-31"},
        headers=headers,
    )

    hint = " ".join(assert_envelope(response, 400)["details"]["end_date"])
    assert "1m candles" in hint
    assert "longer interval or a shorter range" in hint
    assert binance_stub.requests_to(SPOT_KLINES) == []


def parse_csv(response: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text)))


async def test_the_csv_downloads_agree_with_the_detail(client: httpx.AsyncClient) -> None:
    headers = await sign_up(client, "alice@example.com")
    data = await run(client, headers)
    base = f"{BACKTEST}/download/{data['id']}"

    daily = await client.get(f"{base}/daily.csv", headers=headers)
    monthly = await client.get(f"{base}/monthly.csv", headers=headers)
    trades = await client.get(f"{base}/trades.csv", headers=headers)

    for response, name in ((daily, "daily"), (monthly, "monthly"), (trades, "trades")):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert response.headers["content-disposition"] == (
            f'attachment; filename="backtest-{data["id"]}-{name}.csv"'
        )
    daily_rows, monthly_rows, trade_rows = parse_csv(daily), parse_csv(monthly), parse_csv(trades)
    assert daily_rows[0] == list(PERIOD_HEADER)
    assert monthly_rows[0] == list(PERIOD_HEADER)
    assert trade_rows[0] == list(TRADE_HEADER)
    assert [row[0] for row in daily_rows[1:]] == [d["date"] for d in data["daily_results"]]
    assert [row[0] for row in monthly_rows[1:]] == list(data["monthly_results"])
    for row, day in zip(daily_rows[1:], data["daily_results"], strict=True):
        assert float(row[1]) == day["pnl"]
        assert int(row[3]) == day["trades"]
        assert float(row[7]) == day["end_equity"]
    assert len(trade_rows) - 1 == data["total_trades"]
    trade_pnl = [float(row[9]) for row in trade_rows[1:]]
    assert trade_pnl == [t["pnl"] for t in data["trades"]]
    assert sum(trade_pnl) == pytest.approx(
        data["final_capital"] - data["initial_capital"], abs=1e-6
    )
    assert sum(float(row[1]) for row in daily_rows[1:]) == pytest.approx(sum(trade_pnl), abs=1e-6)
    assert sum(int(row[3]) for row in monthly_rows[1:]) == data["total_trades"]
    assert sum(float(row[5]) for row in monthly_rows[1:]) == pytest.approx(data["total_fees"])
    assert float(monthly_rows[-1][7]) == pytest.approx(data["final_capital"])


async def test_the_chart_is_a_png(client: httpx.AsyncClient) -> None:
    headers = await sign_up(client, "alice@example.com")
    data = await run(client, headers)

    chart = await client.get(f"{BACKTEST}/detail/{data['id']}/chart.png", headers=headers)

    assert chart.status_code == 200
    assert chart.headers["content-type"] == "image/png"
    assert chart.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(chart.content) > 10_000


async def test_symbols_lists_the_exchanges_symbols_sorted(client: httpx.AsyncClient) -> None:
    headers = await sign_up(client, "alice@example.com")

    for market_type in ("spot", "futures"):
        response = await client.get(f"{BACKTEST}/symbols/{market_type}", headers=headers)
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "success"
        data = body["data"]
        assert data["market_type"] == market_type
        assert "BTCUSDT" in data["symbols"]
        assert data["symbols"] == sorted(data["symbols"])
        assert data["count"] == len(data["symbols"])

    wrong = assert_envelope(await client.get(f"{BACKTEST}/symbols/margin", headers=headers), 400)
    assert "market_type" in wrong["details"]


async def test_the_backtest_routes_are_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    paths = schema["paths"]

    for path in (
        "/api/v1/backtest/run",
        "/api/v1/backtest/list",
        "/api/v1/backtest/detail/{backtest_id}",
        "/api/v1/backtest/detail/{backtest_id}/chart.png",
        "/api/v1/backtest/delete/{backtest_id}",
        "/api/v1/backtest/symbols/{market_type}",
        "/api/v1/backtest/download/{backtest_id}/daily.csv",
        "/api/v1/backtest/download/{backtest_id}/monthly.csv",
        "/api/v1/backtest/download/{backtest_id}/trades.csv",
    ):
        for operation in paths[path].values():
            assert operation["security"] == [{"BearerToken": []}], path
            responses = operation["responses"]
            assert {"200", "400", "401"} <= set(responses), path
            for status in set(responses) - {"200"}:
                ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorBody"), (path, status, ref)
    assert "404" in paths["/api/v1/backtest/detail/{backtest_id}"]["get"]["responses"]
    chart = paths["/api/v1/backtest/detail/{backtest_id}/chart.png"]["get"]["responses"]
    assert list(chart["200"]["content"]) == ["image/png"]
    daily = paths["/api/v1/backtest/download/{backtest_id}/daily.csv"]["get"]["responses"]
    assert list(daily["200"]["content"]) == ["text/csv"]
