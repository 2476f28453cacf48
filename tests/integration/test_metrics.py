"""`GET /metrics`: Prometheus text with request counts and latencies per route template
and status, bots by status (read from the database), orders sent, exchange errors and
backtests run — each seen to move by exactly what the test did."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.exchange.ccxt_gateway import CcxtExchangeGateway
from entrypoints.settings import Settings
from tests.integration import exchange_fixtures
from tests.integration.backtest_candles import DAYS, hourly_klines
from tests.integration.binance_stub import BinanceStub
from tests.integration.bots_api import BOT_CONFIGS, create_bot, sign_up
from tests.integration.exchange_fixtures import stub_settings
from tests.integration.test_orders_http import KEY, MARKET_BUY, serving

# The shared fixture, bound here so that pytest finds it in this module.
binance_stub = exchange_fixtures.binance_stub

CONFIG_ROUTE = "/api/v1/bot-configs/{config_id}"


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(
    metrics: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


def requests_to(metrics: dict[tuple[str, frozenset[tuple[str, str]]], float], status: str) -> float:
    labels = {"method": "GET", "path": CONFIG_ROUTE, "status_code": status, "app_name": "tradebot"}
    return value(metrics, "tradebot_http_requests_total", **labels)


async def test_requests_are_counted_per_route_template_and_status_and_bots_by_status(
    client: httpx.AsyncClient,
) -> None:
    headers = await sign_up(client, "alice@example.com")
    first = await create_bot(client, headers)
    await create_bot(client, headers, name="second")
    before = await scrape(client)

    assert (await client.get(f"{BOT_CONFIGS}{first['id']}", headers=headers)).status_code == 200
    assert (await client.get(f"{BOT_CONFIGS}{first['id']}", headers=headers)).status_code == 200
    assert (await client.get(f"{BOT_CONFIGS}987654", headers=headers)).status_code == 404
    after = await scrape(client)

    assert requests_to(after, "200") - requests_to(before, "200") == 2
    assert requests_to(after, "404") - requests_to(before, "404") == 1
    latency = {"method": "GET", "path": CONFIG_ROUTE, "status_code": "200", "app_name": "tradebot"}
    observed = value(after, "tradebot_http_request_duration_seconds_count", **latency)
    assert observed - value(before, "tradebot_http_request_duration_seconds_count", **latency) == 2
    bots = {status: value(after, "tradebot_bots", status=status) for status in
            ("stopped", "pending", "running", "waiting", "paused")}  # fmt: skip
    assert bots == {"stopped": 2, "pending": 0, "running": 0, "waiting": 0, "paused": 0}


async def test_metrics_are_public_exempt_from_rate_limits_and_documented(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/metrics"]["get"]
    assert "text/plain" in next(iter(operation["responses"]["200"]["content"]))
    assert "429" not in operation["responses"]


@pytest.fixture
async def exchange(binance_stub: BinanceStub) -> AsyncIterator[CcxtExchangeGateway]:
    """The real ccxt adapter against the stub, in place of conftest's fake exchange."""
    binance_stub.set_klines("BTCUSDT", "spot", hourly_klines(DAYS * 24))
    gateway = CcxtExchangeGateway(stub_settings(binance_stub))
    yield gateway
    await gateway.close()


async def test_a_backtest_run_is_counted_once(client: httpx.AsyncClient) -> None:
    headers = await sign_up(client, "alice@example.com")
    before = await scrape(client)

    response = await client.post(
        "/api/v1/backtest/run",
        json={
            "symbol": "BTCUSDT",
            "interval": "1h",
            "start_date": "2024-01-20",
            "end_date": "2024-02-10",
            "parameters": {"stop_loss_perc": 2, "take_profit_perc": 4},
        },
        headers=headers,
    )

    assert response.status_code == 200, response.text
    after = await scrape(client)
    single = {"kind": "single"}
    assert (
        value(after, "tradebot_backtests_run_total", **single)
        - value(before, "tradebot_backtests_run_total", **single)
        == 1
    )


async def test_orders_sent_and_exchange_errors_are_counted_at_the_exchange_gateway(
    settings: Settings, binance_stub: BinanceStub
) -> None:
    async with serving(settings, binance_stub, "binance") as trading:
        headers = await trading.trader("trader@example.com", spot={"USDT": "10"})
        before = await scrape(trading.http)

        refused = await trading.order(headers, MARKET_BUY)
        trading.stub.account(KEY).spot_free["USDT"] = Decimal(1000)
        placed = await trading.order(headers, MARKET_BUY)

        assert (refused.status_code, placed.status_code) == (400, 201)
        after = await scrape(trading.http)
    sent = {"exchange": "binance", "market_type": "spot", "side": "buy"}
    assert (
        value(after, "tradebot_orders_sent_total", **sent)
        - value(before, "tradebot_orders_sent_total", **sent)
        == 1
    )
    errors = {"error": "InsufficientFunds"}
    assert (
        value(after, "tradebot_exchange_errors_total", **errors)
        - value(before, "tradebot_exchange_errors_total", **errors)
        == 1
    )
