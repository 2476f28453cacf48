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

from tests.integration.binance_stub import (
    BinanceStub,
    OrderOutcome,
    rewrite_api_urls,
    route_exchange_to_stub,
)

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


# ----------------------------------------------------------------- scripted order outcomes


async def test_an_order_filled_in_several_fills_reports_one_volume_weighted_average_everywhere(
    spot: Any, stub: BinanceStub
) -> None:
    stub.script_orders(OrderOutcome.fill([("0.4", None), ("0.6", "60100")]))

    order = await spot.create_order(
        "BTC/USDT", "market", "buy", 0.01, params={"newClientOrderId": "vwap-1"}
    )
    fetched = await spot.fetch_order(order["id"], "BTC/USDT")
    trades = await spot.fetch_order_trades(order["id"], "BTC/USDT")

    for seen in (order, fetched):
        assert seen["status"] == "closed" and seen["filled"] == 0.01
        assert seen["cost"] == 600.6 and seen["average"] == 60060  # 240 + 360.6
    assert [(t["price"], t["amount"]) for t in order["trades"]] == [(60000, 0.004), (60100, 0.006)]
    assert [(t["price"], t["amount"], t["cost"]) for t in trades] == [
        (60000, 0.004, 240),
        (60100, 0.006, 360.6),
    ]
    assert {t["order"] for t in trades} == {order["id"]}
    assert sum(t["fee"]["cost"] for t in trades) == pytest.approx(0.00001)
    assert stub.account(KEY).spot_free["USDT"] == Decimal("9399.4")


async def test_futures_fills_in_several_prices_set_the_average_and_the_entry_price(
    futures: Any, stub: BinanceStub
) -> None:
    stub.script_orders(OrderOutcome.fill([("0.5", "59900"), ("0.5", "60100")]))

    order = await futures.create_order("BTC/USDT:USDT", "market", "buy", 0.01)
    trades = await futures.fetch_my_trades("BTC/USDT:USDT", params={"orderId": order["id"]})
    [position] = await futures.fetch_positions()

    assert order["status"] == "closed" and order["average"] == 60000 and order["cost"] == 600
    assert [(t["price"], t["amount"]) for t in trades] == [(59900, 0.005), (60100, 0.005)]
    assert position["entryPrice"] == 60000 and position["contracts"] == 0.01


async def test_a_market_order_that_runs_out_of_book_expires_with_only_its_filled_part(
    spot: Any, futures: Any, stub: BinanceStub
) -> None:
    stub.script_orders(
        OrderOutcome.partial_then_expire("0.25"), OrderOutcome.partial_then_expire("0.5")
    )

    order = await spot.create_order("BTC/USDT", "market", "buy", 0.01)
    fetched = await spot.fetch_order(order["id"], "BTC/USDT")
    fut = await futures.create_order("BTC/USDT:USDT", "market", "buy", 0.01)
    [position] = await futures.fetch_positions()

    for seen in (order, fetched):
        assert seen["status"] == "expired" and seen["filled"] == 0.0025
        assert seen["remaining"] == 0.0075 and seen["cost"] == 150
    assert fetched["info"]["status"] == "EXPIRED"
    account = stub.account(KEY)
    assert account.spot_free["USDT"] == Decimal("9850")
    assert account.spot_free["BTC"] == Decimal("0.0024975")  # 0.1 % commission in BTC
    assert account.spot_locked["USDT"] == 0
    assert await spot.fetch_open_orders("BTC/USDT") == []
    assert fut["status"] == "expired" and fut["filled"] == 0.005
    assert position["contracts"] == 0.005


async def test_an_expired_order_fills_nothing_and_keeps_its_client_order_id(
    spot: Any, stub: BinanceStub
) -> None:
    stub.script_orders(OrderOutcome.expire())

    order = await spot.create_order(
        "BTC/USDT", "market", "buy", 0.01, params={"newClientOrderId": "gone-1"}
    )

    assert order["status"] == "expired" and order["filled"] == 0 and order["trades"] == []
    assert stub.account(KEY).spot_free["USDT"] == Decimal("10000")
    found = await spot.fetch_order("", "BTC/USDT", params={"origClientOrderId": "gone-1"})
    assert found["status"] == "expired"
    with pytest.raises(ccxt.InvalidOrder, match=r"-2010.*Duplicate order sent"):
        await spot.create_order(
            "BTC/USDT", "market", "buy", 0.01, params={"newClientOrderId": "gone-1"}
        )


async def test_a_resting_market_order_stays_open_until_the_test_completes_it(
    spot: Any, stub: BinanceStub
) -> None:
    stub.script_orders(OrderOutcome.rest("0.5"))

    order = await spot.create_order(
        "BTC/USDT", "market", "buy", 0.01, params={"newClientOrderId": "slow-1"}
    )
    [listed] = await spot.fetch_open_orders("BTC/USDT")
    balance = (await spot.fetch_balance())["USDT"]
    stub.set_price("BTCUSDT", "59000")  # a price move does not fill a held order
    still = await spot.fetch_order(order["id"], "BTC/USDT")
    stub.complete_order("slow-1", price="60200")
    done = await spot.fetch_order("", "BTC/USDT", params={"origClientOrderId": "slow-1"})

    assert order["status"] == "open" and order["filled"] == 0.005
    assert listed["id"] == order["id"] and listed["info"]["status"] == "PARTIALLY_FILLED"
    assert balance == {"free": 9400.0, "used": 300.0, "total": 9700.0}
    assert still["status"] == "open" and still["filled"] == 0.005
    assert done["status"] == "closed" and done["filled"] == 0.01
    assert done["cost"] == 601 and done["average"] == 60100  # 300 + 301
    assert await spot.fetch_open_orders("BTC/USDT") == []
    account = stub.account(KEY)
    assert account.spot_free["USDT"] == Decimal("9399") and account.spot_locked["USDT"] == 0


async def test_a_resting_futures_order_can_be_expired_by_the_test(
    futures: Any, stub: BinanceStub
) -> None:
    stub.script_orders(OrderOutcome.rest())

    order = await futures.create_order(
        "BTC/USDT:USDT", "market", "buy", 0.01, params={"newClientOrderId": "fut-rest"}
    )
    reserved = (await futures.fetch_balance())["USDT"]["used"]
    stub.expire_order("fut-rest")
    fetched = await futures.fetch_order(
        "", "BTC/USDT:USDT", params={"origClientOrderId": "fut-rest"}
    )

    assert order["status"] == "open" and order["filled"] == 0
    assert reserved == 30  # 600 USDT at 20x held for the open order
    assert fetched["status"] == "expired" and fetched["filled"] == 0
    assert await futures.fetch_open_orders("BTC/USDT:USDT") == []
    assert await futures.fetch_positions() == []


@pytest.mark.parametrize(
    ("kind", "outcome", "error", "code"),
    [
        ("spot", OrderOutcome.insufficient_balance(), ccxt.InsufficientFunds, -2010),
        ("spot", OrderOutcome.filter_failure("LOT_SIZE"), ccxt.InvalidOrder, -1013),
        ("spot", OrderOutcome.filter_failure("NOTIONAL"), ccxt.BadRequest, -1013),
        ("futures", OrderOutcome.margin_insufficient(), ccxt.InsufficientFunds, -2019),
        ("futures", OrderOutcome.position_side_mismatch(), ccxt.OperationRejected, -4061),
        ("futures", OrderOutcome.max_position_exceeded(), ccxt.OperationRejected, -2027),
    ],
)
async def test_each_scripted_rejection_maps_to_the_exception_ccxt_chooses_and_places_nothing(
    make: Make, stub: BinanceStub, kind: str, outcome: OrderOutcome, error: type, code: int
) -> None:
    exchange = make(kind)
    symbol = "BTC/USDT" if kind == "spot" else "BTC/USDT:USDT"
    stub.script_orders(outcome)

    with pytest.raises(error) as raised:
        await exchange.create_order(
            symbol, "market", "buy", 0.01, params={"newClientOrderId": "try-1"}
        )
    assert raised.type is error
    assert outcome.error is not None and outcome.error[0] == code
    assert outcome.error[1] in str(raised.value)  # ccxt quotes the msg, not always the code
    assert (
        stub.orders(KEY) == []
        and stub.requests_to("/api/v3/order" if kind == "spot" else "/fapi/v1/order", "POST")[
            0
        ].status
        == 400
    )

    retried = await exchange.create_order(
        symbol, "market", "buy", 0.01, params={"newClientOrderId": "try-1"}
    )
    assert retried["status"] == "closed" and len(stub.orders(KEY)) == 1


async def test_an_answer_lost_after_execution_is_a_timeout_but_the_order_filled_once(
    make: Make, stub: BinanceStub
) -> None:
    spot = make("spot", timeout=300)
    await spot.load_markets()
    stub.script_orders(OrderOutcome.timeout_after_execute(1.0))

    started = time.monotonic()
    with pytest.raises(ccxt.RequestTimeout):
        await spot.create_order(
            "BTC/USDT", "market", "buy", 0.01, params={"newClientOrderId": "lost-1"}
        )
    elapsed = time.monotonic() - started
    found = await spot.fetch_order("", "BTC/USDT", params={"origClientOrderId": "lost-1"})

    assert elapsed < 1.0
    assert found["status"] == "closed" and found["filled"] == 0.01
    assert [o.client_order_id for o in stub.orders(KEY)] == ["lost-1"]
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        await spot.create_order(
            "BTC/USDT", "market", "buy", 0.01, params={"newClientOrderId": "lost-1"}
        )
    assert len(stub.orders(KEY)) == 1
    assert stub.account(KEY).spot_free["USDT"] == Decimal("9400")


async def test_an_answer_lost_before_execution_is_a_timeout_and_nothing_was_placed(
    make: Make, stub: BinanceStub
) -> None:
    futures = make("futures", timeout=300)
    await futures.load_markets()
    stub.script_orders(OrderOutcome.timeout_before_execute(1.0))

    with pytest.raises(ccxt.RequestTimeout):
        await futures.create_order(
            "BTC/USDT:USDT", "market", "buy", 0.01, params={"newClientOrderId": "never-1"}
        )
    with pytest.raises(ccxt.OrderNotFound, match="-2013"):
        await futures.fetch_order("", "BTC/USDT:USDT", params={"origClientOrderId": "never-1"})
    retried = await futures.create_order(
        "BTC/USDT:USDT", "market", "buy", 0.01, params={"newClientOrderId": "never-1"}
    )

    assert retried["status"] == "closed"
    assert [o.client_order_id for o in stub.orders(KEY)] == ["never-1"]


# ----------------------------------------------------------------- commissions and trades


async def test_commissions_in_bnb_reduce_the_bnb_balance_at_the_bnbusdt_price_less_25_percent(
    spot: Any, stub: BinanceStub
) -> None:
    stub.spot_commission_asset = "BNB"
    stub.account(KEY).spot_free["BNB"] = Decimal("1")

    order = await spot.create_order("BTC/USDT", "market", "buy", 0.01)
    [trade] = await spot.fetch_my_trades("BTC/USDT")

    # 600 USDT * 0.1 % * 0.75 = 0.45 USDT = 0.00075 BNB at 600
    assert order["fee"] == {"currency": "BNB", "cost": 0.00075}
    assert trade["fee"] == {"currency": "BNB", "cost": 0.00075}
    account = stub.account(KEY)
    assert account.spot_free["BNB"] == Decimal("0.99925")
    assert account.spot_free["BTC"] == Decimal("0.01")
    assert account.spot_free["USDT"] == Decimal("9400")


async def test_without_enough_bnb_the_commission_falls_back_to_the_received_asset(
    spot: Any, stub: BinanceStub
) -> None:
    stub.spot_commission_asset = "BNB"

    order = await spot.create_order("BTC/USDT", "market", "buy", 0.01)

    assert order["fee"] == {"currency": "BTC", "cost": 0.00001}


@pytest.mark.parametrize(
    ("asset", "side", "balances"),
    [
        ("quote", "buy", {"BTC": "0.01", "USDT": "9399.4"}),
        ("base", "sell", {"BTC": "0.98999", "USDT": "600"}),
    ],
)
async def test_commissions_can_be_charged_in_the_spent_asset(
    make: Make, stub: BinanceStub, asset: str, side: str, balances: dict[str, str]
) -> None:
    stub.add_account(
        "trader",
        SECRET,
        spot={"BTC": "1" if side == "sell" else "0", "USDT": "10000" if side == "buy" else "0"},
    )
    stub.spot_commission_asset = asset

    order = await make("spot", api_key="trader").create_order("BTC/USDT", "market", side, 0.01)

    fee_asset = "USDT" if asset == "quote" else "BTC"
    assert order["fee"]["currency"] == fee_asset
    assert stub.account("trader").spot_free == {k: Decimal(v) for k, v in balances.items()}


async def test_my_trades_are_filtered_by_order_id_start_time_and_limit(
    spot: Any, futures: Any, stub: BinanceStub
) -> None:
    stub.script_orders(OrderOutcome.fill([("0.5", None), ("0.5", None)]))
    first = await spot.create_order("BTC/USDT", "market", "buy", 0.01)
    second = await spot.create_order("BTC/USDT", "market", "buy", 0.01)
    await futures.create_order("BTC/USDT:USDT", "market", "buy", 0.01)
    fut = await futures.create_order("BTC/USDT:USDT", "market", "buy", 0.01)

    everything = await spot.fetch_my_trades("BTC/USDT")
    of_first = await spot.fetch_my_trades("BTC/USDT", params={"orderId": first["id"]})
    of_second = await spot.fetch_order_trades(second["id"], "BTC/USDT")
    latest = await spot.fetch_my_trades("BTC/USDT", limit=1)
    since = await spot.fetch_my_trades("BTC/USDT", since=everything[1]["timestamp"] + 1)
    of_fut = await futures.fetch_my_trades("BTC/USDT:USDT", params={"orderId": fut["id"]})

    assert len(everything) == 3 and [t["order"] for t in of_first] == [first["id"]] * 2
    assert [t["order"] for t in of_second] == [second["id"]]
    assert [t["id"] for t in latest] == [everything[-1]["id"]]
    assert all(t["timestamp"] > everything[1]["timestamp"] for t in since)
    assert [t["order"] for t in of_fut] == [fut["id"]]
    assert stub.requests_to("/api/v3/myTrades")[1].params["orderId"] == first["id"]


# ----------------------------------------------------------------- server time


async def test_a_server_clock_offset_is_seen_by_fetch_time_and_fixed_by_the_time_difference(
    spot: Any, futures: Any, stub: BinanceStub
) -> None:
    stub.server_time_offset_ms = -30_000  # the client's clock runs 30 s ahead of Binance's

    spot_time, futures_time = await spot.fetch_time(), await futures.fetch_time()
    with pytest.raises(ccxt.InvalidNonce, match="-1021"):
        await spot.fetch_balance()
    await spot.load_time_difference()
    await spot.fetch_balance()
    order = await spot.create_order("BTC/USDT", "market", "buy", 0.01)

    local = time.time() * 1000
    assert abs(spot_time - (local - 30_000)) < 2_000
    assert abs(futures_time - (local - 30_000)) < 2_000
    assert 29_000 < spot.options["timeDifference"] < 31_000
    assert abs(order["timestamp"] - (local - 30_000)) < 2_000


# ----------------------------------------------------------------- futures account rules


async def test_leverage_beyond_the_first_bracket_is_minus_4028_with_the_leverage_in_the_message(
    futures: Any, stub: BinanceStub
) -> None:
    await futures.load_markets()

    with pytest.raises(ccxt.BadRequest, match=r"-4028.*Leverage 150 is not valid"):
        await futures.fapiPrivatePostLeverage({"symbol": "BTCUSDT", "leverage": 150})
    with pytest.raises(ccxt.BadRequest, match="between 1 and 125"):
        await futures.set_leverage(150, "BTC/USDT:USDT")  # ccxt refuses before sending

    assert [r.status for r in stub.requests_to("/fapi/v1/leverage")] == [400]


async def test_in_hedge_mode_an_order_without_a_position_side_is_minus_4061(
    futures: Any, stub: BinanceStub
) -> None:
    with pytest.raises(ccxt.OperationRejected, match="-4061"):
        await futures.create_order(
            "BTC/USDT:USDT", "market", "buy", 0.01, params={"positionSide": "LONG"}
        )  # one-way mode takes BOTH only
    await futures.set_position_mode(True)

    mode = await futures.fetch_position_mode("BTC/USDT:USDT")
    with pytest.raises(ccxt.OperationRejected, match="-4061") as raised:
        await futures.create_order("BTC/USDT:USDT", "market", "buy", 0.01)
    with pytest.raises(ccxt.OperationRejected, match="-4059"):
        await futures.set_position_mode(True)

    assert mode["hedged"] is True and stub.account(KEY).dual_side_position
    assert "Order's position side does not match user's setting." in str(raised.value)
    assert stub.orders(KEY) == []


async def test_a_position_side_change_with_an_open_position_is_refused(
    futures: Any, stub: BinanceStub
) -> None:
    await futures.create_order("BTC/USDT:USDT", "market", "buy", 0.01)

    with pytest.raises(ccxt.OperationRejected, match="-4068"):
        await futures.set_position_mode(True)

    assert not stub.account(KEY).dual_side_position


async def test_a_position_beyond_the_brackets_cap_at_the_leverage_is_minus_2027(
    futures: Any, stub: BinanceStub
) -> None:
    await futures.set_leverage(125, "BTC/USDT:USDT")  # 125x: up to 50 000 USDT notional

    with pytest.raises(ccxt.OperationRejected, match="-2027") as raised:
        await futures.create_order("BTC/USDT:USDT", "market", "buy", 0.9)  # 54 000 USDT
    small = await futures.create_order("BTC/USDT:USDT", "market", "buy", 0.8)  # 48 000 USDT

    assert raised.type is ccxt.OperationRejected
    assert small["status"] == "closed" and len(stub.orders(KEY)) == 1


async def test_margin_type_changes_show_in_symbol_config_and_position_risk(
    futures: Any, stub: BinanceStub
) -> None:
    response = await futures.set_margin_mode("isolated", "BTC/USDT:USDT")
    with pytest.raises(ccxt.MarginModeAlreadySet, match="-4046"):  # binanceusdm's default
        await futures.set_margin_mode("isolated", "BTC/USDT:USDT")
    futures.options["setMarginMode"] = {"throwMarginModeAlreadySet": False}
    unchanged = await futures.set_margin_mode("isolated", "BTC/USDT:USDT")
    mode = await futures.fetch_margin_mode("BTC/USDT:USDT")
    await futures.create_order("BTC/USDT:USDT", "market", "buy", 0.01)
    [position] = await futures.fetch_positions()
    [risk_v2] = await futures.fapiPrivateV2GetPositionRisk({"symbol": "BTCUSDT"})

    assert response == {"code": 200, "msg": "success"}
    assert unchanged == {"code": -4046, "msg": "No need to change margin type."}  # ccxt's
    assert [r.status for r in stub.requests_to("/fapi/v1/marginType")] == [200, 400, 400]
    assert mode["marginMode"] == "isolated"
    assert position["marginMode"] == "isolated" and position["collateral"] == 30
    assert risk_v2["marginType"] == "isolated" and risk_v2["isolatedWallet"] == "30.00000000"
    with pytest.raises(ccxt.OperationRejected, match="-4048"):
        await futures.set_margin_mode("cross", "BTC/USDT:USDT")
