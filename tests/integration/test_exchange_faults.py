"""The ccxt adapter when the exchange misbehaves: slow, failing, garbled, rate limiting.

First the gateway itself against the Binance stub, then the same faults through the
HTTP API: every fault is a 503 or a 429 envelope within the configured timeout, never a
500, an empty balance or a second order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest

from adapters.exchange.ccxt_gateway import CcxtExchangeGateway
from adapters.rate_limit.limits_rate_limiter import DisabledRateLimiter
from adapters.security.argon2_hasher import fast_test_hasher
from domain.exchange.account import ExchangeAccount
from domain.exchange.balance import Wallet
from domain.exchange.errors import ExchangeRateLimited, ExchangeUnavailable
from domain.exchange.market import MarketType
from domain.exchange.order import OrderRequest, OrderSide, OrderStatus, OrderType
from domain.market_data.timeframe import Timeframe
from entrypoints.container import Container, build_container, close_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration import exchange_fixtures
from tests.integration.binance_stub import BinanceStub, RecordedRequest
from tests.integration.exchange_fixtures import (
    FAULT_TIMEOUT_SECONDS,
    KEY,
    READ_ATTEMPTS,
    SECRET,
    stub_settings,
)
from tests.support.fakes import OutboxMailer

# The shared fixtures, bound here so that pytest finds them in this module.
binance_stub = exchange_fixtures.binance_stub
ccxt_gateway = exchange_fixtures.ccxt_gateway
funded_account = exchange_fixtures.funded_account

ACCOUNT = ExchangeAccount(user_id=1, api_key=KEY, api_secret=SECRET)
SPOT = MarketType.SPOT
# Longer than any timeout here, short enough to keep the suite quick.
STUB_DELAY_SECONDS = 1.5
RETRY_AFTER_SECONDS = 7  # not the stub's default (1) nor the gateway's fallback (60)
# Every attempt may take the whole timeout; three times that is generous on a busy machine.
GATEWAY_DEADLINE = 3 * FAULT_TIMEOUT_SECONDS * READ_ATTEMPTS


async def timed(call: Awaitable[Any]) -> tuple[float, Any]:
    started = time.monotonic()
    try:
        result: Any = await call
    except Exception as exc:
        result = exc
    return time.monotonic() - started, result


def limit_buy(client_order_id: str) -> OrderRequest:
    return OrderRequest(
        symbol="BTCUSDT",
        market_type=SPOT,
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        amount=Decimal("0.001"),
        price=Decimal(50_000),
        client_order_id=client_order_id,
    )


def attempts(stub: BinanceStub, path: str) -> list[RecordedRequest]:
    return [r for r in stub.requests_to(path) if r.fault is not None]


# ----------------------------------------------------------------- reads


async def test_a_read_slower_than_the_timeout_is_retried_then_exchange_unavailable(
    ccxt_gateway: CcxtExchangeGateway, binance_stub: BinanceStub, funded_account: object
) -> None:
    await ccxt_gateway.fetch_balance(ACCOUNT)  # markets and clients are ready
    binance_stub.inject_fault(
        "slow", path_prefix="/api/v3/account", delay_seconds=STUB_DELAY_SECONDS
    )

    elapsed, outcome = await timed(ccxt_gateway.fetch_balance(ACCOUNT))

    assert isinstance(outcome, ExchangeUnavailable), outcome
    assert len(attempts(binance_stub, "/api/v3/account")) == READ_ATTEMPTS == 2
    assert FAULT_TIMEOUT_SECONDS * READ_ATTEMPTS <= elapsed < GATEWAY_DEADLINE


@pytest.mark.parametrize("fault", ["http_500", "malformed_json"])
async def test_a_failing_or_garbled_balance_read_raises_instead_of_reading_as_empty(
    ccxt_gateway: CcxtExchangeGateway, binance_stub: BinanceStub, funded_account: object, fault: str
) -> None:
    await ccxt_gateway.fetch_balance(ACCOUNT)
    binance_stub.inject_fault(fault, path_prefix="/api/v3/account")

    elapsed, outcome = await timed(ccxt_gateway.fetch_balance(ACCOUNT))

    assert isinstance(outcome, ExchangeUnavailable), outcome
    assert len(attempts(binance_stub, "/api/v3/account")) == READ_ATTEMPTS
    assert elapsed < GATEWAY_DEADLINE
    binance_stub.clear_fault()
    assert (await ccxt_gateway.fetch_balance(ACCOUNT)).spot == Decimal(10_000)


Call = Callable[[CcxtExchangeGateway], Awaitable[Any]]
T0 = 1_699_999_980_000


GARBLED_CALLS = [
    pytest.param("/api/v3/ticker", lambda g: g.fetch_ticker(SPOT, "BTCUSDT"), id="ticker"),
    pytest.param("/api/v3/ping", lambda g: g.ping(), id="ping"),
    pytest.param(
        "/api/v3/order",
        lambda g: g.fetch_order_by_client_id(ACCOUNT, SPOT, "BTCUSDT", "any-id"),
        id="order-lookup",
    ),
    pytest.param(
        "/api/v3/klines",
        lambda g: g.fetch_candles(SPOT, "BTCUSDT", Timeframe("1m"), T0, 5),
        id="candles",
    ),
    pytest.param(
        "/api/v3/openOrders",
        lambda g: g.fetch_open_orders(ACCOUNT, SPOT, "BTCUSDT"),
        id="open-orders",
    ),
    pytest.param(
        "/fapi/v3/positionRisk",
        lambda g: g.fetch_positions(ACCOUNT),
        id="positions",
    ),
    pytest.param(
        "/fapi/v1/leverage",
        lambda g: g.set_leverage(ACCOUNT, "BTCUSDT", 5),
        id="set-leverage",
    ),
    pytest.param(
        "/sapi/v1/asset/transfer",
        lambda g: g.transfer(ACCOUNT, "USDT", Decimal(10), Wallet.SPOT, Wallet.FUTURES),
        id="transfer",
    ),
    pytest.param(
        "/api/v3/order",
        lambda g: g.create_order(ACCOUNT, limit_buy("garbled-1")),
        id="order-placement",
    ),
]


@pytest.mark.parametrize(("path", "call"), GARBLED_CALLS)
async def test_a_garbled_answer_is_exchange_unavailable_never_an_invented_result(
    ccxt_gateway: CcxtExchangeGateway,
    binance_stub: BinanceStub,
    funded_account: object,
    path: str,
    call: Call,
) -> None:
    binance_stub.set_klines(
        "BTCUSDT", "spot", [[T0 + i * 60_000, 1, 2, 0.5, 1.5, 3] for i in range(9)]
    )
    binance_stub.inject_fault("malformed_json", path_prefix=path)

    with pytest.raises(ExchangeUnavailable):
        await call(ccxt_gateway)

    assert any(r.fault == "malformed_json" for r in binance_stub.requests)


async def test_a_garbled_first_markets_load_raises_instead_of_listing_no_markets(
    ccxt_gateway: CcxtExchangeGateway, binance_stub: BinanceStub
) -> None:
    binance_stub.inject_fault("malformed_json", path_prefix="/api/v3/exchangeInfo")

    with pytest.raises(ExchangeUnavailable):
        await ccxt_gateway.fetch_markets(SPOT)

    binance_stub.clear_fault()
    markets = await ccxt_gateway.fetch_markets(SPOT)
    assert "BTCUSDT" in {m.symbol for m in markets}
    assert (await ccxt_gateway.fetch_ticker(SPOT, "BTCUSDT")).last == Decimal(60_000)


async def test_a_garbled_markets_reload_never_leaves_the_gateway_without_markets(
    binance_stub: BinanceStub,
) -> None:
    gateway = CcxtExchangeGateway(
        stub_settings(binance_stub, FAULT_TIMEOUT_SECONDS, markets_ttl_seconds=0.2)
    )
    try:
        loaded = {m.symbol for m in await gateway.fetch_markets(SPOT)}
        await asyncio.sleep(0.3)  # the cache is due for a reload
        binance_stub.inject_fault(
            "malformed_json", path_prefix="/api/v3/exchangeInfo", times=READ_ATTEMPTS
        )

        elapsed, during = await timed(gateway.fetch_markets(SPOT))
        after = {m.symbol for m in await gateway.fetch_markets(SPOT)}
        ticker = await gateway.fetch_ticker(SPOT, "BTCUSDT")
    finally:
        await gateway.close()

    # Either the markets it had, or an error; never an empty list.
    if isinstance(during, Exception):
        assert isinstance(during, ExchangeUnavailable), during
    else:
        assert {m.symbol for m in during} == loaded
    assert elapsed < GATEWAY_DEADLINE
    assert after == loaded and "BTCUSDT" in loaded
    assert ticker.last == Decimal(60_000)


RATE_LIMITED_CALLS = [
    pytest.param(
        "rate_limit_429", "/api/v3/account", lambda g: g.fetch_balance(ACCOUNT), id="429-balance"
    ),
    pytest.param(
        "rate_limit_418",
        "/api/v3/ticker/24hr",
        lambda g: g.fetch_ticker(SPOT, "BTCUSDT"),
        id="418-ticker",
    ),
    pytest.param(
        "rate_limit_429",
        "/api/v3/order",
        lambda g: g.create_order(ACCOUNT, limit_buy("busy-1")),
        id="429-order-placement",
    ),
]
STATUS = {"rate_limit_429": 429, "rate_limit_418": 418}


@pytest.mark.parametrize(("fault", "path", "call"), RATE_LIMITED_CALLS)
async def test_a_rate_limit_is_exchange_rate_limited_for_as_long_as_the_exchange_says(
    ccxt_gateway: CcxtExchangeGateway,
    binance_stub: BinanceStub,
    funded_account: object,
    fault: str,
    path: str,
    call: Call,
) -> None:
    binance_stub.retry_after_seconds = RETRY_AFTER_SECONDS
    binance_stub.inject_fault(fault, path_prefix=path, times=1)

    with pytest.raises(ExchangeRateLimited) as limited:
        await call(ccxt_gateway)

    # Hammering a rate-limiting exchange gets the IP banned: nothing is retried.
    [request] = attempts(binance_stub, path)
    assert request.status == STATUS[fault]
    assert len(binance_stub.requests_to(path)) == 1
    assert binance_stub.orders(KEY) == []
    assert limited.value.retry_after_seconds == RETRY_AFTER_SECONDS


# ----------------------------------------------------------------- orders


class ResponseLostStub(BinanceStub):
    """Places the order, then answers too late: the order exists, its response is lost."""

    async def _respond(
        self,
        method: str,
        path: str,
        query: str,
        body: str,
        params: dict[str, str],
        fault: str | None,
        record: RecordedRequest,
    ) -> tuple[int, Any, dict[str, str]]:
        if fault != "slow":
            return await super()._respond(method, path, query, body, params, fault, record)
        answer = await super()._respond(method, path, query, body, params, None, record)
        deadline = time.monotonic() + self.delay_seconds
        while time.monotonic() < deadline and not self._stopping:
            await asyncio.sleep(0.02)
        return answer


async def test_an_order_whose_response_is_lost_is_found_by_client_order_id_not_resent() -> None:
    with ResponseLostStub() as stub:
        stub.add_account(KEY, SECRET)
        gateway = CcxtExchangeGateway(stub_settings(stub, FAULT_TIMEOUT_SECONDS))
        try:
            await gateway.fetch_markets(SPOT)
            stub.inject_fault(
                "slow", path_prefix="/api/v3/order", times=1, delay_seconds=STUB_DELAY_SECONDS
            )

            elapsed, order = await timed(gateway.create_order(ACCOUNT, limit_buy("lost-1")))
        finally:
            await gateway.close()
        posts = stub.requests_to("/api/v3/order", "POST")
        placed = stub.orders(KEY)

    assert not isinstance(order, Exception), order
    assert order.client_order_id == "lost-1" and order.status is OrderStatus.OPEN
    assert [o.client_order_id for o in placed] == ["lost-1"]
    assert order.exchange_order_id == str(placed[0].order_id)
    assert len(posts) == 1
    assert elapsed < STUB_DELAY_SECONDS


async def test_an_order_still_in_flight_at_the_timeout_is_never_resent_by_the_gateway(
    ccxt_gateway: CcxtExchangeGateway, binance_stub: BinanceStub, funded_account: object
) -> None:
    """The stub's "slow" fault holds the request before placing it: when the gateway
    asks, the order does not exist yet, so the outcome is reported as unavailable."""
    await ccxt_gateway.fetch_markets(SPOT)
    binance_stub.inject_fault(
        "slow", path_prefix="/api/v3/order", times=1, delay_seconds=STUB_DELAY_SECONDS
    )

    elapsed, outcome = await timed(ccxt_gateway.create_order(ACCOUNT, limit_buy("late-1")))

    assert isinstance(outcome, ExchangeUnavailable), outcome
    assert elapsed < STUB_DELAY_SECONDS
    assert len(binance_stub.requests_to("/api/v3/order", "POST")) == 1
    deadline = time.monotonic() + STUB_DELAY_SECONDS + 2
    while not binance_stub.orders(KEY) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert [o.client_order_id for o in binance_stub.orders(KEY)] == ["late-1"]

    # The caller retries with the same client order id and gets that order, not a second.
    retried = await ccxt_gateway.create_order(ACCOUNT, limit_buy("late-1"))

    assert retried.client_order_id == "late-1"
    assert retried.exchange_order_id == str(binance_stub.orders(KEY)[0].order_id)
    assert len(binance_stub.orders(KEY)) == 1


# ----------------------------------------------------------------- through the HTTP API

PASSWORD = "Correct-Horse-9-Battery"
HTTP_TIMEOUT_SECONDS = 0.5
HTTP_READ_ATTEMPTS = 3  # the container's CcxtSettings default
HTTP_DEADLINE = 3 * HTTP_TIMEOUT_SECONDS * HTTP_READ_ATTEMPTS
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@dataclass
class BinanceApi:
    client: httpx.AsyncClient
    container: Container
    stub: BinanceStub

    async def sign_up(self, email: str = "trader@example.com") -> dict[str, str]:
        credentials = {"email": email, "password": PASSWORD}
        registered = await self.client.post("/api/v1/auth/register", json=credentials)
        assert registered.status_code == 201, registered.text
        login = await self.client.post("/api/v1/auth/login", json=credentials)
        assert login.status_code == 200, login.text
        return {"Authorization": f"Bearer {login.json()['access_token']}"}

    async def add_key(
        self, headers: dict[str, str], api_key: str = KEY, secret: str = SECRET
    ) -> httpx.Response:
        body = {"api_key": api_key, "secret_key": secret, "label": "binance"}
        return await self.client.post("/api/v1/api-keys/", json=body, headers=headers)


@pytest.fixture
async def binance_api(
    settings: Settings, binance_stub: BinanceStub, funded_account: object
) -> AsyncIterator[BinanceApi]:
    container = build_container(
        msgspec.structs.replace(
            settings,
            exchange="binance",
            binance_base_url=binance_stub.base_url,
            exchange_timeout_seconds=HTTP_TIMEOUT_SECONDS,
        )
    )
    container.password_hasher.override(fast_test_hasher())
    container.rate_limiter.override(DisabledRateLimiter())
    container.mailer.override(OutboxMailer())
    transport = httpx.ASGITransport(app=create_app(container), client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield BinanceApi(client, container, binance_stub)
    await close_container(container)


def assert_envelope(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "code", "details"}
    assert body["code"] == status
    return body


@sqlite_only
async def test_a_key_the_exchange_knows_is_stored_and_an_unknown_key_is_a_400(
    binance_api: BinanceApi,
) -> None:
    alice = await binance_api.sign_up("alice@example.com")
    bob = await binance_api.sign_up("bob@example.com")

    created = await binance_api.add_key(alice)
    unknown = await binance_api.add_key(bob, api_key="UnknownKey0123456789abcdef")

    assert created.status_code == 201, created.text
    assert created.json()["api_key_masked"] == f"{KEY[:4]}****{KEY[-4:]}"
    assert assert_envelope(unknown, 400)["error"] == "Invalid API credentials"
    assert_envelope(await binance_api.client.get("/api/v1/api-keys/me", headers=bob), 404)
    balance = await binance_api.client.get("/api/v1/api-keys/balance", headers=alice)
    assert balance.status_code == 200, balance.text
    assert balance.json() == {
        "spot_balance": 10000,
        "futures_balance": 0,
        "total_balance": 10000,
        "currency": "USDT",
    }


@sqlite_only
@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ("http_500", 503),
        ("slow", 503),
        ("malformed_json", 503),
        ("rate_limit_429", 429),
    ],
)
async def test_the_balance_under_an_exchange_fault_is_an_envelope_in_time_never_a_500(
    binance_api: BinanceApi, fault: str, status: int
) -> None:
    headers = await binance_api.sign_up()
    assert (await binance_api.add_key(headers)).status_code == 201
    binance_api.stub.retry_after_seconds = RETRY_AFTER_SECONDS
    binance_api.stub.inject_fault(fault, delay_seconds=STUB_DELAY_SECONDS)

    elapsed, response = await timed(
        binance_api.client.get("/api/v1/api-keys/balance", headers=headers)
    )

    assert not isinstance(response, Exception), response
    body = assert_envelope(response, status)
    assert elapsed < HTTP_DEADLINE
    if status == 429:
        assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert body["error"] == "Rate limited by the exchange"
    else:
        assert body["error"] == "Exchange unavailable"
    assert KEY not in response.text and SECRET not in response.text
    binance_api.stub.clear_fault()
    recovered = await binance_api.client.get("/api/v1/api-keys/balance", headers=headers)
    assert recovered.status_code == 200, recovered.text


@sqlite_only
async def test_readiness_names_the_exchange_while_it_fails_and_recovers_when_it_answers(
    binance_api: BinanceApi,
) -> None:

    binance_api.stub.inject_fault("http_500")

    elapsed, failing = await timed(binance_api.client.get("/health/ready"))
    binance_api.stub.clear_fault()
    recovered = await binance_api.client.get("/health/ready")

    body = assert_envelope(failing, 503)
    assert body["details"]["database"] == "ok"
    assert body["details"]["exchange"] != "ok"
    assert elapsed < HTTP_DEADLINE
    assert recovered.status_code == 200, recovered.text
    assert recovered.json()["checks"]["exchange"] == "ok"
