"""POST /api/v1/orders over HTTP, through the ccxt gateway to the loopback Binance stub,
on SQLite and PostgreSQL: rounding seen at the stub, minimums checked before sending,
fills as trades, the Idempotency-Key (sequential and concurrent retries, another body,
another user) and exchange failures as envelopes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import httpx
import msgspec
import pytest

from adapters.rate_limit.limits_rate_limiter import DisabledRateLimiter
from adapters.security.argon2_hasher import fast_test_hasher
from entrypoints.container import Container, build_container, close_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration import exchange_fixtures
from tests.integration.binance_stub import BinanceStub, RecordedRequest
from tests.integration.bots_api import TRADES, assert_envelope, sign_up
from tests.support.fakes import OutboxMailer

# The shared fixture, bound here so that pytest finds it in this module.
binance_stub = exchange_fixtures.binance_stub

ORDERS = "/api/v1/orders"
SPOT_ORDER = "/api/v3/order"
KEY = "OrdersKey0123456789abcdefGH"
SECRET = "OrdersSecret0123456789abcdefIJ"
OTHER_KEY = "OtherOrdersKey0123456789abcd"
OTHER_SECRET = "OtherOrdersSecret0123456789ab"
TIMEOUT_SECONDS = 2.0
# The stub's BTCUSDT spot market: step 0.00001, tick 0.01, min notional 5, last 60000.
LIMITS = ("min_notional", "min_amount", "amount_step", "price_step", "amount", "notional")
MARKET_BUY = {"symbol": "BTCUSDT", "side": "buy", "type": "market", "quantity": 0.001}


@dataclass
class Trading:
    http: httpx.AsyncClient
    container: Container
    stub: BinanceStub

    async def trader(
        self, email: str, api_key: str = KEY, secret: str = SECRET, spot: Any = None
    ) -> dict[str, str]:
        """A user with a stub account (10,000 USDT unless told) behind a stored key."""
        self.stub.add_account(api_key, secret, spot=spot)
        headers = await sign_up(self.http, email)
        body = {"api_key": api_key, "secret_key": secret}
        stored = await self.http.post("/api/v1/api-keys/", json=body, headers=headers)
        assert stored.status_code == 201, stored.text
        return headers

    async def order(
        self, headers: dict[str, str], body: dict[str, Any], key: str | None = None
    ) -> httpx.Response:
        extra = {"Idempotency-Key": key} if key is not None else {}
        return await self.http.post(ORDERS, json=body, headers={**headers, **extra})

    def sent(self) -> list[RecordedRequest]:
        """Order placements that reached the stub."""
        return self.stub.requests_to(SPOT_ORDER, "POST")


@asynccontextmanager
async def serving(
    settings: Settings, stub: BinanceStub, exchange: Literal["binance", "paper"]
) -> AsyncIterator[Trading]:
    """The app on `exchange`, whose prices (and, on Binance, accounts) are the stub's."""
    container = build_container(
        msgspec.structs.replace(
            settings,
            exchange=exchange,
            binance_base_url=stub.base_url,
            exchange_timeout_seconds=TIMEOUT_SECONDS,
        )
    )
    container.password_hasher.override(fast_test_hasher())
    container.rate_limiter.override(DisabledRateLimiter())
    container.mailer.override(OutboxMailer())
    transport = httpx.ASGITransport(app=create_app(container), client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Trading(http, container, stub)
    await close_container(container)
    container.unwire()


@pytest.fixture
async def trading(settings: Settings, binance_stub: BinanceStub) -> AsyncIterator[Trading]:
    async with serving(settings, binance_stub, "binance") as ready:
        yield ready


async def test_a_market_order_is_rounded_down_to_the_step_at_the_stub_and_answered_with_the_fill(
    trading: Trading,
) -> None:
    headers = await trading.trader("trader@example.com")

    response = await trading.order(headers, {**MARKET_BUY, "quantity": 0.0012399})

    assert response.status_code == 201, response.text
    order = response.json()
    (sent,) = trading.sent()
    assert sent.params["quantity"] == "0.00123"
    assert (sent.params["side"], sent.params["type"]) == ("BUY", "MARKET")
    assert sent.params["newClientOrderId"] == order["client_order_id"]
    (placed,) = trading.stub.orders(KEY)
    assert order["exchange_order_id"] == str(placed.order_id)
    assert {k: order[k] for k in ("symbol", "side", "type", "status", "market_type")} == {
        "symbol": "BTCUSDT", "side": "buy", "type": "market", "status": "filled",
        "market_type": "spot",
    }  # fmt: skip
    assert (order["amount"], order["filled"], order["average_price"]) == (0.00123, 0.00123, 60000)
    assert order["fee"] == pytest.approx(0.00000123)
    assert order["fee_asset"] == "BTC"
    assert set(order) >= {"id", "price", "created_at"}


async def test_a_limit_price_is_rounded_to_the_tick_and_a_resting_order_records_no_trade(
    trading: Trading,
) -> None:
    headers = await trading.trader("trader@example.com")
    body = {**MARKET_BUY, "type": "limit", "price": 50000.006, "quote_amount": 100}
    del body["quantity"]

    response = await trading.order(headers, body)

    assert response.status_code == 201, response.text
    (sent,) = trading.sent()
    # 100 USDT at the rounded price 50000.01 is 0.0019999..., down to the step.
    assert (sent.params["price"], sent.params["quantity"]) == ("50000.01", "0.00199")
    assert response.json()["status"] == "open"
    assert response.json()["filled"] == 0
    assert (await trading.http.get(TRADES, headers=headers)).json() == []


async def test_an_order_below_the_min_notional_is_refused_with_the_market_limits_and_never_sent(
    trading: Trading,
) -> None:
    headers = await trading.trader("trader@example.com")

    # 0.00008 BTC at 60000 is 4.8 USDT; the market's minimum notional is 5.
    response = await trading.order(headers, {**MARKET_BUY, "quantity": 0.00008}, "small-one")

    body = assert_envelope(response, 400)
    limits = {name: Decimal(body["details"][name]) for name in LIMITS}
    assert limits == {
        "min_notional": 5, "min_amount": Decimal("0.00001"), "amount_step": Decimal("0.00001"),
        "price_step": Decimal("0.01"), "amount": Decimal("0.00008"), "notional": Decimal("4.8"),
    }  # fmt: skip
    assert trading.sent() == []
    assert trading.stub.orders(KEY) == []


async def test_the_fill_is_recorded_as_a_trade_of_the_user_and_listed_with_their_trades(
    trading: Trading,
) -> None:
    headers = await trading.trader("trader@example.com")
    order = (await trading.order(headers, MARKET_BUY)).json()

    trades = (await trading.http.get(TRADES, headers=headers)).json()

    (trade,) = trades
    assert trade["bot_config_id"] is None
    assert trade["binance_order_id"] == order["exchange_order_id"]
    assert (trade["symbol"], trade["side"], trade["order_type"]) == ("BTCUSDT", "BUY", "market")
    assert (trade["price"], trade["quantity_filled"], trade["quote_quantity_filled"]) == (
        60000, 0.001, 60
    )  # fmt: skip
    one = await trading.http.get(f"{TRADES}{trade['id']}", headers=headers)
    assert one.json() == trade
    history = f"{TRADES}history"
    assert (await trading.http.get(history, params={"symbol": "BTCUSDT"}, headers=headers)).json()
    by_bot = await trading.http.get(history, params={"bot_config_id": 1}, headers=headers)
    assert (by_bot.status_code, by_bot.json()) == (200, [])
    someone_else = await trading.trader("other@example.com", OTHER_KEY, OTHER_SECRET)
    assert (await trading.http.get(TRADES, headers=someone_else)).json() == []


async def test_a_repeated_request_with_one_key_gets_the_same_answer_and_places_one_order(
    trading: Trading,
) -> None:
    headers = await trading.trader("trader@example.com")

    first = await trading.order(headers, MARKET_BUY, "buy-btc-1")
    again = await trading.order(headers, {**MARKET_BUY, "quantity": 0.0010}, "buy-btc-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert len(trading.sent()) == 1
    assert len(trading.stub.orders(KEY)) == 1
    assert len((await trading.http.get(TRADES, headers=headers)).json()) == 1


async def test_concurrent_identical_requests_with_one_key_place_exactly_one_order(
    trading: Trading,
) -> None:
    headers = await trading.trader("trader@example.com")

    responses = await asyncio.gather(
        *(trading.order(headers, MARKET_BUY, "buy-btc-at-once") for _ in range(4))
    )

    assert [r.status_code for r in responses] == [201] * 4, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    assert len(trading.sent()) == 1
    assert len(trading.stub.orders(KEY)) == 1
    assert len((await trading.http.get(TRADES, headers=headers)).json()) == 1


async def test_the_same_key_with_another_body_is_a_conflict_and_sends_nothing(
    trading: Trading,
) -> None:
    headers = await trading.trader("trader@example.com")
    await trading.order(headers, MARKET_BUY, "buy-btc-2")

    response = await trading.order(headers, {**MARKET_BUY, "side": "sell"}, "buy-btc-2")

    assert_envelope(response, 409)
    assert len(trading.sent()) == 1


async def test_another_users_keys_are_their_own(trading: Trading) -> None:
    alice = await trading.trader("alice@example.com")
    bob = await trading.trader("bob@example.com", OTHER_KEY, OTHER_SECRET)

    hers = await trading.order(alice, MARKET_BUY, "same-key")
    his = await trading.order(bob, {**MARKET_BUY, "quantity": 0.002}, "same-key")

    assert (hers.status_code, his.status_code) == (201, 201), his.text
    assert his.json()["id"] != hers.json()["id"]
    assert his.json()["client_order_id"] != hers.json()["client_order_id"]
    assert [o.orig_qty for o in trading.stub.orders(OTHER_KEY)] == [Decimal("0.002")]
    assert len(trading.stub.orders(KEY)) == 1


@pytest.mark.parametrize("key", ["", "k" * 129], ids=["empty", "too-long"])
async def test_an_invalid_idempotency_key_is_refused_before_anything_is_sent(
    trading: Trading, key: str
) -> None:
    headers = await trading.trader("trader@example.com")

    response = await trading.order(headers, MARKET_BUY, key)

    assert_envelope(response, 400)
    assert trading.sent() == []


async def test_an_exchange_5xx_is_a_503_and_the_same_key_then_places_exactly_one_order(
    trading: Trading,
) -> None:
    headers = await trading.trader("trader@example.com")
    trading.stub.inject_fault("http_500", path_prefix=SPOT_ORDER)

    failed = await trading.order(headers, MARKET_BUY, "through-an-outage")

    assert_envelope(failed, 503)
    assert trading.stub.orders(KEY) == []
    trading.stub.clear_fault()
    retried = await trading.order(headers, MARKET_BUY, "through-an-outage")
    assert retried.status_code == 201, retried.text
    # Both attempts sent the same client order id, so the exchange could never hold two.
    assert len({r.params["newClientOrderId"] for r in trading.sent()}) == 1
    assert len(trading.stub.orders(KEY)) == 1


async def test_insufficient_funds_is_a_400_and_frees_the_key_for_a_funded_retry(
    trading: Trading,
) -> None:
    headers = await trading.trader("trader@example.com", spot={"USDT": "10"})

    refused = await trading.order(headers, MARKET_BUY, "when-funded")

    assert assert_envelope(refused, 400)["error"] == "Insufficient funds"
    assert trading.stub.orders(KEY) == []
    trading.stub.account(KEY).spot_free["USDT"] = Decimal(1000)
    retried = await trading.order(headers, MARKET_BUY, "when-funded")
    assert retried.status_code == 201, retried.text
    assert len(trading.stub.orders(KEY)) == 1


async def test_an_exchange_rate_limit_is_a_429_with_retry_after(trading: Trading) -> None:
    headers = await trading.trader("trader@example.com")
    trading.stub.inject_fault("rate_limit_429", path_prefix=SPOT_ORDER, times=1)

    response = await trading.order(headers, MARKET_BUY)

    assert_envelope(response, 429)
    assert response.headers["Retry-After"]


async def test_on_the_paper_exchange_a_user_without_a_key_trades_the_paper_account(
    settings: Settings, binance_stub: BinanceStub
) -> None:
    async with serving(settings, binance_stub, "paper") as paper:
        headers = await sign_up(paper.http, "paper@example.com")

        response = await paper.order(headers, {**MARKET_BUY, "quantity": 0.0012399}, "paper-1")
        again = await paper.order(headers, {**MARKET_BUY, "quantity": 0.0012399}, "paper-1")

        assert response.status_code == 201, response.text
        assert again.content == response.content
        order = response.json()
        assert (order["status"], order["amount"], order["filled"]) == ("filled", 0.00123, 0.00123)
        (trade,) = (await paper.http.get(TRADES, headers=headers)).json()
        assert trade["binance_order_id"] == order["exchange_order_id"]
        # Simulated: nothing reached the exchange but its public prices.
        assert paper.sent() == []
