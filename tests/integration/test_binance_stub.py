"""The Binance stub as ccxt sees it: markets, balances, orders, positions, errors and faults."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
import httpx
import pytest

from tests.integration.binance_stub import BinanceStub, rewrite_api_urls, route_exchange_to_stub

KEY, SECRET = "stub-api-key", "stub-api-secret"
SPOT_OPTIONS = {
    "fetchCurrencies": False,
    "fetchMargins": False,
    "fetchMarkets": {"types": ["spot"]},
    "defaultType": "spot",
}
T0 = 1_699_999_980_000  # a whole minute
MINUTE = 60_000

Make = Callable[..., Any]


@pytest.fixture
def stub() -> Iterator[BinanceStub]:
    with BinanceStub() as running:
        running.add_account(
            KEY, SECRET, spot={"USDT": "10000", "BTC": "0"}, futures={"USDT": "1000"}
        )
        yield running


@pytest.fixture
async def make(stub: BinanceStub) -> AsyncIterator[Make]:
    """Builds ccxt clients routed to the stub and closes them after the test."""
    created: list[Any] = []

    def build(
        kind: str = "spot",
        api_key: str = KEY,
        secret: str = SECRET,
        market_type_errors: bool = True,
        **config: Any,
    ) -> Any:
        config = {"apiKey": api_key, "secret": secret, "enableRateLimit": False, **config}
        if kind == "spot":
            exchange = ccxt.binance({**config, "options": dict(SPOT_OPTIONS)})
        else:
            exchange = ccxt.binanceusdm(config)
        route_exchange_to_stub(exchange, stub.base_url, market_type_errors=market_type_errors)
        created.append(exchange)
        return exchange

    yield build
    await asyncio.gather(*(exchange.close() for exchange in created))  # each close sleeps 250 ms


@pytest.fixture
def spot(make: Make) -> Any:
    return make("spot")


@pytest.fixture
def futures(make: Make) -> Any:
    return make("futures")


# ----------------------------------------------------------------- wiring and markets


def test_url_rewrite_keeps_every_path_and_only_swaps_scheme_and_host() -> None:
    api = {
        "public": "https://api.binance.com/api/v3",
        "fapiPrivateV3": "https://fapi.binance.com/fapi/v3",
        "nested": {"sapi": "https://api.binance.com/sapi/v1"},
    }
    assert rewrite_api_urls(api, "http://127.0.0.1:9999") == {
        "public": "http://127.0.0.1:9999/api/v3",
        "fapiPrivateV3": "http://127.0.0.1:9999/fapi/v3",
        "nested": {"sapi": "http://127.0.0.1:9999/sapi/v1"},
    }


async def test_spot_markets_carry_tick_size_precision_and_minimums(
    spot: Any, stub: BinanceStub
) -> None:
    markets = await spot.load_markets()

    assert {"BTC/USDT", "ETH/USDT", "XRP/USDT", "BNB/USDT"} <= set(markets)
    assert spot.precisionMode == ccxt.TICK_SIZE
    btc = markets["BTC/USDT"]
    assert btc["spot"] and btc["active"] and btc["id"] == "BTCUSDT"
    assert btc["precision"]["amount"] == 0.00001 and btc["precision"]["price"] == 0.01
    assert btc["limits"]["amount"]["min"] == 0.00001 and btc["limits"]["cost"]["min"] == 5
    assert markets["XRP/USDT"]["precision"]["amount"] == 0.1
    assert [r.path for r in stub.requests] == ["/api/v3/exchangeInfo"]


async def test_futures_markets_are_linear_swaps_with_notional_minimum_and_tiered_leverage(
    futures: Any, stub: BinanceStub
) -> None:
    markets = await futures.load_markets()

    btc = markets["BTC/USDT:USDT"]
    assert btc["swap"] and btc["linear"] and btc["settle"] == "USDT" and btc["active"]
    assert btc["precision"]["amount"] == 0.001 and btc["precision"]["price"] == 0.1
    assert btc["limits"]["amount"]["min"] == 0.001 and btc["limits"]["cost"]["min"] == 100
    assert btc["limits"]["leverage"]["max"] is None  # not in exchangeInfo
    tiers = await futures.fetch_market_leverage_tiers("BTC/USDT:USDT")
    assert tiers[0]["maxLeverage"] == 125 and tiers[0]["maxNotional"] == 50_000
    # binanceusdm's defaults also fetch currencies through signed wallet endpoints
    assert {r.path for r in stub.requests} == {
        "/fapi/v1/exchangeInfo",
        "/sapi/v1/capital/config/getall",
        "/sapi/v1/margin/allPairs",
        "/fapi/v1/leverageBracket",
    }


# ----------------------------------------------------------------- balances and transfers


async def test_balances_come_from_the_spot_and_futures_wallets(spot: Any, futures: Any) -> None:
    spot_balance = await spot.fetch_balance()
    futures_balance = await futures.fetch_balance()

    assert spot_balance["USDT"] == {"free": 10000.0, "used": 0.0, "total": 10000.0}
    assert spot_balance["BTC"]["total"] == 0
    assert futures_balance["USDT"] == {"free": 1000.0, "used": 0.0, "total": 1000.0}


async def test_transfer_from_spot_to_swap_moves_usdt_between_wallets(
    spot: Any, futures: Any, stub: BinanceStub
) -> None:
    transfer = await spot.transfer("USDT", 250, "spot", "swap")

    assert transfer["id"]
    assert stub.requests_to("/sapi/v1/asset/transfer")[0].params["type"] == "MAIN_UMFUTURE"
    assert (await spot.fetch_balance())["USDT"]["free"] == 9750
    assert (await futures.fetch_balance())["USDT"]["free"] == 1250


async def test_transfer_to_future_is_an_isolated_margin_transfer_in_ccxt_and_fails(
    spot: Any, stub: BinanceStub
) -> None:
    with pytest.raises(ccxt.BadSymbol):
        await spot.transfer("USDT", 250, "spot", "future")

    assert stub.requests_to("/sapi/v1/asset/transfer")[0].params["type"] == "MAIN_ISOLATED_MARGIN"
    assert stub.account(KEY).spot_free["USDT"] == Decimal("10000")


async def test_transfer_beyond_the_spot_balance_is_insufficient_funds(spot: Any) -> None:
    with pytest.raises(ccxt.InsufficientFunds):
        await spot.transfer("USDT", 20000, "spot", "swap")


# ----------------------------------------------------------------- spot orders


async def test_market_order_fills_at_the_set_price_and_is_found_by_client_order_id(
    spot: Any, stub: BinanceStub
) -> None:
    stub.set_price("BTCUSDT", "50000")

    order = await spot.create_order(
        "BTC/USDT", "market", "buy", 0.01, params={"newClientOrderId": "bot-1-entry"}
    )
    fetched = await spot.fetch_order("", "BTC/USDT", params={"origClientOrderId": "bot-1-entry"})

    assert order["status"] == "closed" and order["filled"] == 0.01 and order["average"] == 50000
    assert order["clientOrderId"] == "bot-1-entry"
    assert order["fee"] == {"currency": "BTC", "cost": 0.00001}
    assert fetched["id"] == order["id"] and fetched["status"] == "closed"
    assert fetched["clientOrderId"] == "bot-1-entry" and fetched["cost"] == 500
    account = stub.account(KEY)
    assert account.spot_free["USDT"] == Decimal("9500")
    assert account.spot_free["BTC"] == Decimal("0.00999")  # 0.1 % commission in BTC
    sent = stub.requests_to("/api/v3/order", "POST")[0].params
    assert sent["newClientOrderId"] == "bot-1-entry" and sent["quantity"] == "0.01"


async def test_market_sell_pays_commission_in_the_quote_asset(
    make: Make, stub: BinanceStub
) -> None:
    stub.add_account("seller", SECRET, spot={"BTC": "1", "USDT": "0"})

    await make("spot", api_key="seller").create_order("BTC/USDT", "market", "sell", 0.5)

    assert stub.account("seller").spot_free == {"BTC": Decimal("0.5"), "USDT": Decimal("29970")}


async def test_a_reused_client_order_id_is_rejected_and_creates_no_second_order(
    spot: Any, stub: BinanceStub
) -> None:
    await spot.create_order("BTC/USDT", "market", "buy", 0.01, params={"newClientOrderId": "once"})

    with pytest.raises(ccxt.InvalidOrder, match=r"-2010.*Duplicate order sent"):
        await spot.create_order(
            "BTC/USDT", "market", "buy", 0.01, params={"newClientOrderId": "once"}
        )

    assert len(stub.orders(KEY)) == 1
    assert stub.account(KEY).spot_free["USDT"] == Decimal("9400")


async def test_limit_order_rests_locks_funds_and_fills_when_the_price_crosses(
    spot: Any, stub: BinanceStub
) -> None:
    order = await spot.create_order("BTC/USDT", "limit", "buy", 0.01, 50000)

    assert order["status"] == "open"
    assert [o["id"] for o in await spot.fetch_open_orders("BTC/USDT")] == [order["id"]]
    assert (await spot.fetch_balance())["USDT"] == {
        "free": 9500.0,
        "used": 500.0,
        "total": 10000.0,
    }

    stub.set_price("BTCUSDT", "49000")

    filled = await spot.fetch_order(order["id"], "BTC/USDT")
    assert filled["status"] == "closed" and filled["average"] == 50000
    assert await spot.fetch_open_orders("BTC/USDT") == []
    assert stub.account(KEY).spot_locked["USDT"] == 0


async def test_cancelling_a_resting_order_releases_its_funds(spot: Any, stub: BinanceStub) -> None:
    order = await spot.create_order("BTC/USDT", "limit", "buy", 0.01, 50000)

    cancelled = await spot.cancel_order(order["id"], "BTC/USDT")

    assert cancelled["status"] == "canceled"
    assert stub.account(KEY).spot_free["USDT"] == Decimal("10000")
    with pytest.raises(ccxt.OrderNotFound):
        await spot.cancel_order(order["id"], "BTC/USDT")


async def test_a_quantity_off_the_lot_step_is_an_invalid_order(
    spot: Any, stub: BinanceStub
) -> None:
    # ccxt truncates amounts to the step itself; an explicit quantity bypasses that.
    with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):
        await spot.create_order("BTC/USDT", "market", "buy", 0.01, params={"quantity": "0.000015"})

    assert stub.orders(KEY) == []


async def test_a_spot_order_below_min_notional_is_a_bad_request_not_an_invalid_order(
    spot: Any,
) -> None:
    with pytest.raises(ccxt.BadRequest, match="Filter failure: NOTIONAL") as raised:
        await spot.create_order("BTC/USDT", "market", "buy", 0.00005)

    assert not isinstance(raised.value, ccxt.InvalidOrder)


async def test_buying_more_than_the_quote_balance_is_insufficient_funds(
    spot: Any, stub: BinanceStub
) -> None:
    with pytest.raises(ccxt.InsufficientFunds):
        await spot.create_order("BTC/USDT", "market", "buy", 1)

    assert stub.orders(KEY) == []


async def test_an_unknown_symbol_is_a_bad_symbol(spot: Any) -> None:
    await spot.load_markets()

    # ccxt checks unified symbols locally, so the raw endpoint is the way to reach the stub.
    with pytest.raises(ccxt.BadSymbol, match="-1121"):
        await spot.privatePostOrder(
            {"symbol": "FOOUSDT", "side": "BUY", "type": "MARKET", "quantity": "1"}
        )


# ----------------------------------------------------------------- futures


async def test_futures_market_buy_opens_a_position_with_margin_at_the_set_leverage(
    futures: Any, stub: BinanceStub
) -> None:
    response = await futures.set_leverage(10, "BTC/USDT:USDT")

    order = await futures.create_order(
        "BTC/USDT:USDT", "market", "buy", 0.01, params={"newClientOrderId": "fut-1"}
    )
    positions = await futures.fetch_positions()
    balance = await futures.fetch_balance()

    assert response["leverage"] == 10
    assert order["status"] == "closed" and order["average"] == 60000
    fetched = await futures.fetch_order("", "BTC/USDT:USDT", params={"origClientOrderId": "fut-1"})
    assert fetched["id"] == order["id"]
    [position] = positions
    assert position["symbol"] == "BTC/USDT:USDT" and position["side"] == "long"
    assert position["contracts"] == 0.01 and position["entryPrice"] == 60000
    assert position["initialMargin"] == 60 and position["leverage"] is None  # v3 has none
    assert balance["USDT"] == {"free": 939.7, "used": 60.0, "total": 999.7}  # fee 0.05 %


async def test_closing_a_futures_position_realises_the_profit(
    futures: Any, stub: BinanceStub
) -> None:
    await futures.create_order("BTC/USDT:USDT", "market", "buy", 0.01)
    stub.set_price("BTCUSDT", "61000")

    assert (await futures.fetch_positions())[0]["unrealizedPnl"] == 10
    await futures.create_order("BTC/USDT:USDT", "market", "sell", 0.01, params={"reduceOnly": True})

    assert await futures.fetch_positions() == []
    assert stub.account(KEY).futures_wallet["USDT"] == Decimal("1009.395")


async def test_a_resting_futures_limit_order_reserves_margin_until_cancelled(
    futures: Any, stub: BinanceStub
) -> None:
    order = await futures.create_order("ETH/USDT:USDT", "limit", "buy", 0.1, 2500)

    [listed] = await futures.fetch_open_orders("ETH/USDT:USDT")
    reserved = (await futures.fetch_balance())["USDT"]
    await futures.cancel_order(order["id"], "ETH/USDT:USDT")

    assert order["status"] == "open" and listed["id"] == order["id"]
    assert reserved == {"free": 987.5, "used": 12.5, "total": 1000.0}  # 250 USDT at 20x
    assert (await futures.fetch_balance())["USDT"]["used"] == 0
    assert await futures.fetch_positions() == []


async def test_leverage_above_the_first_bracket_is_rejected(futures: Any) -> None:
    with pytest.raises(ccxt.BadRequest, match="-4028"):
        await futures.set_leverage(100, "XRP/USDT:USDT")


@pytest.mark.parametrize(
    ("amount", "params", "error", "code"),
    [
        (0.001, {}, ccxt.InvalidOrder, "-4164"),  # 60 USDT < 100 notional
        (1, {}, ccxt.InsufficientFunds, "-2019"),  # 60 000 USDT at 20x > 1000 USDT
        (0.01, {"quantity": "0.0015"}, ccxt.BadRequest, "-1111"),  # finer than the step
        (0.01, {"newClientOrderId": "fut-dup"}, ccxt.InvalidOrder, "-4116"),
    ],
)
async def test_futures_rejections_map_like_the_real_fapi_host(
    futures: Any, stub: BinanceStub, amount: float, params: dict[str, str], error: type, code: str
) -> None:
    if code == "-4116":
        await futures.create_order("BTC/USDT:USDT", "market", "buy", 0.01, params=dict(params))
    orders_before = len(stub.orders(KEY))

    with pytest.raises(error, match=code) as raised:
        await futures.create_order("BTC/USDT:USDT", "market", "buy", amount, params=params)

    assert raised.type is error
    assert len(stub.orders(KEY)) == orders_before


async def test_without_path_based_error_mapping_futures_rejections_are_plain_exchange_errors(
    make: Make,
) -> None:
    futures = make("futures", market_type_errors=False)

    with pytest.raises(ccxt.ExchangeError) as raised:
        await futures.create_order("BTC/USDT:USDT", "market", "buy", 1)

    assert raised.type is ccxt.ExchangeError and "-2019" in str(raised.value)


# ----------------------------------------------------------------- market data


async def test_tickers_follow_the_set_price(spot: Any, futures: Any, stub: BinanceStub) -> None:
    stub.set_price("ETHUSDT", "3100.5")
    stub.set_price("ETH/USDT:USDT", "3101")

    spot_ticker = await spot.fetch_ticker("ETH/USDT")
    futures_ticker = await futures.fetch_ticker("ETH/USDT:USDT")

    assert spot_ticker["last"] == 3100.5 and spot_ticker["bid"] == 3100.5
    assert spot_ticker["open"] == 3000 and spot_ticker["high"] == 3100.5
    assert futures_ticker["last"] == 3101
    assert stub.requests_to("/api/v3/ticker/24hr")[0].params == {"symbol": "ETHUSDT"}
    assert stub.requests_to("/fapi/v1/ticker/24hr")[0].params == {"symbol": "ETHUSDT"}


def candles(count: int, start: int = T0) -> list[list[object]]:
    return [[start + i * MINUTE, 100 + i, 101 + i, 99 + i, 100.5 + i, 2] for i in range(count)]


async def test_ohlcv_pages_forward_from_since_in_limit_sized_chunks(
    spot: Any, stub: BinanceStub
) -> None:
    stub.set_klines("BTCUSDT", "spot", candles(2500))

    pages, since = [], T0
    while page := await spot.fetch_ohlcv("BTC/USDT", "1m", since=since, limit=1000):
        pages.append(page)
        since = page[-1][0] + MINUTE

    assert [len(p) for p in pages] == [1000, 1000, 500]
    assert pages[0][0] == [T0, 100.0, 101.0, 99.0, 100.5, 2.0]
    assert pages[2][-1][0] == T0 + 2499 * MINUTE
    assert stub.requests_to("/api/v3/klines")[0].params == {
        "symbol": "BTCUSDT",
        "interval": "1m",
        "limit": "1000",
        "startTime": str(T0),
    }


async def test_ohlcv_without_since_returns_the_latest_candles_up_to_until(
    spot: Any, stub: BinanceStub
) -> None:
    stub.set_klines("BTCUSDT", "spot", candles(100))

    latest = await spot.fetch_ohlcv("BTC/USDT", "1m", limit=10)
    until = await spot.fetch_ohlcv("BTC/USDT", "1m", limit=5, params={"until": T0 + 49 * MINUTE})

    assert [c[0] for c in latest] == [T0 + i * MINUTE for i in range(90, 100)]
    assert [c[0] for c in until] == [T0 + i * MINUTE for i in range(45, 50)]


async def test_kline_limits_are_capped_at_1000_spot_and_1500_futures(
    spot: Any, futures: Any, stub: BinanceStub
) -> None:
    stub.set_klines("BTCUSDT", "spot", candles(2000))
    stub.set_klines("BTCUSDT", "futures", candles(2000))
    request = {"symbol": "BTCUSDT", "interval": "1m", "startTime": T0, "limit": 2000}

    assert len(await spot.publicGetKlines(request)) == 1000
    assert len(await futures.fapiPublicGetKlines(request)) == 1500


# ----------------------------------------------------------------- authentication


async def test_an_unknown_api_key_is_an_authentication_error(make: Make) -> None:
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        await make("spot", api_key="nobody").fetch_balance()
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        await make("futures", api_key="nobody").fetch_balance()


async def test_a_key_revoked_after_a_successful_spot_call_surfaces_as_ddos_protection(
    spot: Any, futures: Any, stub: BinanceStub
) -> None:
    await spot.fetch_balance()
    await futures.fetch_balance()
    stub.remove_account(KEY)

    with pytest.raises(ccxt.DDoSProtection, match="-2015"):
        await spot.fetch_balance()
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        await futures.fetch_balance()


async def test_a_wrong_secret_is_an_authentication_error(make: Make) -> None:
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        await make("spot", secret="wrong").fetch_balance()


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


async def test_signatures_cover_the_query_string_followed_by_the_body(stub: BinanceStub) -> None:
    query = f"symbol=BTCUSDT&side=BUY&type=MARKET&timestamp={int(time.time() * 1000)}"
    body = "quantity=0.01&newClientOrderId=raw-1"
    headers = {"X-MBX-APIKEY": KEY, "Content-Type": "application/x-www-form-urlencoded"}
    async with httpx.AsyncClient(base_url=stub.base_url) as http:
        forged = await http.post(
            f"/api/v3/order?{query}&signature={sign('wrong', query + body)}",
            content=body,
            headers=headers,
        )
        body_only = await http.post(
            f"/api/v3/order?{query}&signature={sign(SECRET, body)}", content=body, headers=headers
        )
        missing_timestamp = await http.get(
            f"/api/v3/account?signature={sign(SECRET, '')}", headers=headers
        )
        genuine = await http.post(
            f"/api/v3/order?{query}&signature={sign(SECRET, query + body)}",
            content=body,
            headers=headers,
        )

    assert forged.status_code == 400
    assert forged.json() == {"code": -1022, "msg": "Signature for this request is not valid."}
    assert body_only.status_code == 400 and body_only.json()["code"] == -1022
    assert missing_timestamp.status_code == 400 and missing_timestamp.json()["code"] == -1102
    assert genuine.status_code == 200, genuine.text
    assert genuine.json()["clientOrderId"] == "raw-1"
    assert "signature" not in stub.requests[-1].params


# ----------------------------------------------------------------- faults and the request log


async def test_a_slow_exchange_is_a_request_timeout(make: Make, stub: BinanceStub) -> None:
    spot = make("spot", timeout=300)
    await spot.load_markets()
    stub.inject_fault("slow", delay_seconds=1.0)

    with pytest.raises(ccxt.RequestTimeout):
        await spot.fetch_ticker("BTC/USDT")


@pytest.mark.parametrize(
    ("fault", "error", "status"),
    [
        ("http_500", ccxt.ExchangeNotAvailable, 500),
        ("rate_limit_429", ccxt.DDoSProtection, 429),
        ("rate_limit_418", ccxt.DDoSProtection, 418),
    ],
)
async def test_server_errors_and_rate_limits_map_to_network_errors(
    spot: Any, stub: BinanceStub, fault: str, error: type, status: int
) -> None:
    await spot.load_markets()
    stub.inject_fault(fault)

    with pytest.raises(error) as raised:
        await spot.fetch_balance()

    assert raised.type is error and isinstance(raised.value, ccxt.NetworkError)
    assert stub.requests[-1].status == status
    if status != 500:
        assert spot.last_response_headers["Retry-After"] == "1"
        assert "-1003" in str(raised.value)


async def test_malformed_json_with_status_200_raises_nothing_in_ccxt(
    spot: Any, stub: BinanceStub
) -> None:
    await spot.load_markets()
    stub.inject_fault("malformed_json")

    ticker = await spot.fetch_ticker("BTC/USDT")
    balance = await spot.fetch_balance()
    markets = await spot.load_markets(reload=True)

    assert ticker["last"] is None and balance["total"] == {}
    assert markets == {}  # the reload silently wiped ccxt's market cache
    stub.clear_fault()
    with pytest.raises(ccxt.BadSymbol):
        await spot.fetch_ticker("BTC/USDT")


async def test_faults_can_target_a_path_prefix_for_a_number_of_calls(
    spot: Any, futures: Any, stub: BinanceStub
) -> None:
    await spot.load_markets()
    await futures.load_markets()
    stub.inject_fault("http_500", path_prefix="/fapi/", times=2)

    assert (await spot.fetch_ticker("BTC/USDT"))["last"] == 60000
    for _ in range(2):
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await futures.fetch_ticker("BTC/USDT:USDT")
    assert (await futures.fetch_ticker("BTC/USDT:USDT"))["last"] == 60000

    calls = stub.requests_to("/fapi/v1/ticker/24hr")
    assert [(c.fault, c.status) for c in calls] == [
        ("http_500", 500),
        ("http_500", 500),
        (None, 200),
    ]


async def test_the_request_log_records_who_called_what_without_the_signature(
    spot: Any, stub: BinanceStub
) -> None:
    await spot.fetch_balance()

    [call] = stub.requests_to("/api/v3/account")
    assert call.method == "GET" and call.api_key == KEY and call.status == 200
    assert set(call.params) == {"timestamp", "recvWindow"}
    stub.clear_requests()
    assert stub.requests == []


async def test_unknown_endpoints_answer_404_and_are_logged(spot: Any, stub: BinanceStub) -> None:
    with pytest.raises(ccxt.ExchangeError, match="binance_stub: no route"):
        await spot.sapiGetAccountStatus()

    assert [r.path for r in stub.unhandled] == ["/sapi/v1/account/status"]
    assert stub.unhandled[0].status == 404


async def test_a_stopped_stub_refuses_connections(make: Make, stub: BinanceStub) -> None:
    spot = make("spot")
    stub.stop()

    with pytest.raises(ccxt.ExchangeNotAvailable):
        await spot.fetch_time()
