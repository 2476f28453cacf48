"""One contract for every ExchangeGateway adapter: ccxt against the Binance stub, and the
paper exchange priced by that same stub. Each test runs on both with the same assertions;
passing on both is what lets the product swap one adapter for the other.

Where the adapters legitimately differ (the fee's asset and exact amount) the tests assert
only what both promise, with tolerances.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.exchange.account import ExchangeAccount
from domain.exchange.balance import Wallet
from domain.exchange.errors import (
    BelowMarketMinimum,
    InsufficientFunds,
    InvalidCredentials,
    UnknownSymbol,
)
from domain.exchange.market import MarketType
from domain.exchange.order import OrderRequest, OrderSide, OrderStatus, OrderType
from domain.exchange.position import PositionSide
from domain.market_data.candle import Candle
from domain.market_data.timeframe import Timeframe
from tests.integration import exchange_fixtures
from tests.integration.exchange_fixtures import (
    STARTING_SPOT,
    GatewayUnderTest,
)

# The shared fixtures, bound here so that pytest finds them in this module.
binance_stub = exchange_fixtures.binance_stub
funded_account = exchange_fixtures.funded_account
gateway = exchange_fixtures.gateway

SPOT, FUTURES = MarketType.SPOT, MarketType.FUTURES
BTC_PRICE = Decimal(60_000)  # the stub's default
# Fee rates: the stub charges 0.1 % spot / 0.05 % futures, the paper exchange 0.1 % / 0.04 %.
MAX_FEE_RATE = Decimal("0.001")
T0 = 1_699_999_980_000  # a whole minute
MINUTE = 60_000


def market_buy(amount: str, client_order_id: str = "contract-buy-1") -> OrderRequest:
    return OrderRequest(
        symbol="BTCUSDT",
        market_type=SPOT,
        side=OrderSide.BUY,
        type=OrderType.MARKET,
        amount=Decimal(amount),
        client_order_id=client_order_id,
    )


def limit_buy(amount: str, price: str, client_order_id: str) -> OrderRequest:
    return OrderRequest(
        symbol="BTCUSDT",
        market_type=SPOT,
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        amount=Decimal(amount),
        price=Decimal(price),
        client_order_id=client_order_id,
    )


def close_to(actual: Decimal, expected: Decimal, tolerance: Decimal) -> bool:
    return abs(actual - expected) <= tolerance


# ----------------------------------------------------------------- credentials and balance


async def test_credentials_the_exchange_knows_are_accepted(gateway: GatewayUnderTest) -> None:
    await gateway.gateway.validate_credentials(gateway.account)


async def test_credentials_the_exchange_rejects_are_invalid_credentials(
    gateway: GatewayUnderTest,
) -> None:
    stranger = ExchangeAccount(user_id=999, api_key="short", api_secret="bad!")

    with pytest.raises(InvalidCredentials):
        await gateway.gateway.validate_credentials(stranger)


async def test_a_new_account_holds_ten_thousand_usdt_spot_and_nothing_in_futures(
    gateway: GatewayUnderTest,
) -> None:
    balance = await gateway.gateway.fetch_balance(gateway.account, "USDT")

    assert balance.currency == "USDT"
    assert balance.spot == Decimal(10_000)
    assert balance.futures == 0
    assert balance.total == Decimal(10_000)


# ----------------------------------------------------------------- public market data


@pytest.mark.parametrize(
    ("market_type", "amount_step", "price_step", "min_notional"),
    [(SPOT, "0.00001", "0.01", "5"), (FUTURES, "0.001", "0.1", "100")],
)
async def test_markets_list_btcusdt_with_its_steps_and_minimums(
    gateway: GatewayUnderTest,
    market_type: MarketType,
    amount_step: str,
    price_step: str,
    min_notional: str,
) -> None:
    markets = {m.symbol: m for m in await gateway.gateway.fetch_markets(market_type)}

    assert {"BTCUSDT", "ETHUSDT", "XRPUSDT", "BNBUSDT"} <= set(markets)
    btc = markets["BTCUSDT"]
    assert (btc.base, btc.quote, btc.market_type) == ("BTC", "USDT", market_type)
    assert btc.amount_step == Decimal(amount_step)
    assert btc.price_step == Decimal(price_step)
    assert btc.min_amount == Decimal(amount_step)
    assert btc.min_notional == Decimal(min_notional)
    assert await gateway.gateway.fetch_market(market_type, "BTCUSDT") == btc


@pytest.mark.parametrize("market_type", [SPOT, FUTURES])
async def test_a_symbol_the_exchange_does_not_list_is_unknown_symbol(
    gateway: GatewayUnderTest, market_type: MarketType
) -> None:
    with pytest.raises(UnknownSymbol):
        await gateway.gateway.fetch_market(market_type, "FOOUSDT")


async def test_the_ticker_shows_the_exchanges_last_price(gateway: GatewayUnderTest) -> None:
    before = await gateway.gateway.fetch_ticker(SPOT, "BTCUSDT")
    gateway.stub.set_price("BTCUSDT", "61234.5")
    spot_after = await gateway.gateway.fetch_ticker(SPOT, "BTCUSDT")
    futures_after = await gateway.gateway.fetch_ticker(FUTURES, "BTCUSDT")

    assert before.symbol == "BTCUSDT" and before.last == BTC_PRICE
    assert spot_after.last == Decimal("61234.5")
    assert futures_after.last == Decimal("61234.5")


async def test_candles_come_back_as_the_exchange_serves_them_oldest_first(
    gateway: GatewayUnderTest,
) -> None:
    rows = [[T0 + i * MINUTE, 100 + i, 101 + i, 99 + i, 100.5 + i, 2] for i in range(30)]
    gateway.stub.set_klines("BTCUSDT", "spot", rows)

    candles = await gateway.gateway.fetch_candles(
        SPOT, "BTCUSDT", Timeframe("1m"), T0 + 10 * MINUTE, 5
    )

    assert candles == [
        Candle(T0 + i * MINUTE, 100 + i, 101 + i, 99 + i, 100.5 + i, 2) for i in range(10, 15)
    ]


# ----------------------------------------------------------------- spot orders


async def test_a_market_buy_is_rounded_down_to_the_lot_step_and_filled(
    gateway: GatewayUnderTest,
) -> None:
    order = await gateway.gateway.create_order(gateway.account, market_buy("0.0012345"))

    assert order.status is OrderStatus.FILLED
    assert order.amount == Decimal("0.00123") and order.filled == Decimal("0.00123")
    assert (order.symbol, order.market_type, order.side, order.type) == (
        "BTCUSDT",
        SPOT,
        OrderSide.BUY,
        OrderType.MARKET,
    )
    assert order.client_order_id == "contract-buy-1"
    assert order.exchange_order_id
    assert order.average_price == BTC_PRICE
    assert order.fee >= 0 and order.fee_asset in {"BTC", "USDT"}
    assert await gateway.orders_placed() == 1


async def test_a_market_buy_pays_amount_times_price_plus_at_most_the_fee(
    gateway: GatewayUnderTest,
) -> None:
    """The spot balance is the wallet's value in USDT, bought BTC included: right after
    the buy it is down by the fee only; once BTC halves, it is down by half of what the
    BTC cost, which shows the USDT left the wallet."""
    amount = Decimal("0.00123")
    paid = amount * BTC_PRICE
    fee_bound = paid * MAX_FEE_RATE * 2

    await gateway.gateway.create_order(gateway.account, market_buy(str(amount)))
    after_buy = await gateway.gateway.fetch_balance(gateway.account)
    gateway.stub.set_price("BTCUSDT", BTC_PRICE / 2)
    after_drop = await gateway.gateway.fetch_balance(gateway.account)

    assert STARTING_SPOT - fee_bound <= after_buy.spot < STARTING_SPOT
    assert close_to(after_drop.spot, STARTING_SPOT - paid / 2, fee_bound)
    assert after_buy.futures == after_drop.futures == 0


async def test_the_free_spot_balance_is_what_a_buy_left_after_a_fee_taken_in_base(
    gateway: GatewayUnderTest,
) -> None:
    order = await gateway.gateway.create_order(gateway.account, market_buy("0.00123"))
    held = await gateway.gateway.fetch_spot_free(gateway.account, "BTC")
    fee_in_base = order.fee if order.fee_asset == "BTC" else Decimal(0)
    assert held == order.filled - fee_in_base
    assert await gateway.gateway.fetch_spot_free(gateway.account, "ETH") == 0


async def test_an_order_sent_twice_with_one_client_order_id_is_placed_once(
    gateway: GatewayUnderTest,
) -> None:
    first = await gateway.gateway.create_order(gateway.account, market_buy("0.001", "once-1"))
    again = await gateway.gateway.create_order(gateway.account, market_buy("0.001", "once-1"))

    assert again.exchange_order_id == first.exchange_order_id
    assert again.client_order_id == "once-1" and again.status is OrderStatus.FILLED
    assert await gateway.orders_placed() == 1
    # One fee at most (a second fill would cost a second one): the wallet paid once.
    one_fee = Decimal("0.001") * BTC_PRICE * MAX_FEE_RATE
    balance = await gateway.gateway.fetch_balance(gateway.account)
    assert balance.spot >= STARTING_SPOT - one_fee * Decimal("1.5")


async def test_a_resting_order_sent_twice_with_one_client_order_id_is_listed_once(
    gateway: GatewayUnderTest,
) -> None:
    first = await gateway.gateway.create_order(gateway.account, limit_buy("0.001", "50000", "r-1"))
    again = await gateway.gateway.create_order(gateway.account, limit_buy("0.001", "50000", "r-1"))

    open_orders = await gateway.gateway.fetch_open_orders(gateway.account, SPOT, "BTCUSDT")

    assert again.exchange_order_id == first.exchange_order_id
    assert [o.client_order_id for o in open_orders] == ["r-1"]
    assert await gateway.orders_placed() == 1


async def test_an_order_below_the_minimum_notional_is_refused_before_anything_is_sent(
    gateway: GatewayUnderTest,
) -> None:
    # 0.00005 BTC at 60,000 is 3 USDT; the market's minimum notional is 5 USDT.
    with pytest.raises(BelowMarketMinimum) as refused:
        await gateway.gateway.create_order(gateway.account, market_buy("0.00005"))

    assert Decimal(refused.value.details["min_notional"]) == 5
    assert gateway.stub.requests_to("/api/v3/order", "POST") == []
    assert await gateway.orders_placed() == 0


async def test_buying_more_than_the_balance_is_insufficient_funds(
    gateway: GatewayUnderTest,
) -> None:
    with pytest.raises(InsufficientFunds):
        await gateway.gateway.create_order(gateway.account, market_buy("1"))

    assert await gateway.orders_placed() == 0
    assert (await gateway.gateway.fetch_balance(gateway.account)).spot == STARTING_SPOT


async def test_a_limit_buy_below_the_price_rests_until_the_price_falls_through_it(
    gateway: GatewayUnderTest,
) -> None:
    exchange, account = gateway.gateway, gateway.account

    placed = await exchange.create_order(account, limit_buy("0.001", "50000", "dip-1"))
    resting = await exchange.fetch_open_orders(account, SPOT, "BTCUSDT")
    gateway.stub.set_price("BTCUSDT", "49000")
    filled = await exchange.fetch_order_by_client_id(account, SPOT, "BTCUSDT", "dip-1")

    assert placed.status is OrderStatus.OPEN and placed.filled == 0
    assert placed.price == Decimal(50_000) and placed.type is OrderType.LIMIT
    assert [(o.client_order_id, o.status) for o in resting] == [("dip-1", OrderStatus.OPEN)]
    assert filled is not None
    assert filled.exchange_order_id == placed.exchange_order_id
    assert filled.status is OrderStatus.FILLED and filled.filled == Decimal("0.001")
    assert filled.average_price == Decimal(50_000)
    assert await exchange.fetch_open_orders(account, SPOT, "BTCUSDT") == []


async def test_open_orders_without_a_symbol_list_every_open_order_of_the_market_type(
    gateway: GatewayUnderTest,
) -> None:
    exchange, account = gateway.gateway, gateway.account
    await exchange.create_order(account, limit_buy("0.001", "50000", "any-1"))

    open_orders = await exchange.fetch_open_orders(account, SPOT)

    assert [o.client_order_id for o in open_orders] == ["any-1"]


async def test_an_unknown_client_order_id_is_not_found(gateway: GatewayUnderTest) -> None:
    found = await gateway.gateway.fetch_order_by_client_id(
        gateway.account, SPOT, "BTCUSDT", "never-sent"
    )

    assert found is None


# ----------------------------------------------------------------- wallets and futures


async def test_a_transfer_moves_usdt_from_spot_to_futures(gateway: GatewayUnderTest) -> None:
    await gateway.gateway.transfer(
        gateway.account, "USDT", Decimal(1_000), Wallet.SPOT, Wallet.FUTURES
    )

    balance = await gateway.gateway.fetch_balance(gateway.account)
    assert balance.spot == Decimal(9_000)
    assert balance.futures == Decimal(1_000)
    assert balance.total == STARTING_SPOT


async def test_transferring_more_than_the_wallet_holds_is_insufficient_funds(
    gateway: GatewayUnderTest,
) -> None:
    with pytest.raises(InsufficientFunds):
        await gateway.gateway.transfer(
            gateway.account, "USDT", Decimal(20_000), Wallet.SPOT, Wallet.FUTURES
        )

    balance = await gateway.gateway.fetch_balance(gateway.account)
    assert (balance.spot, balance.futures) == (STARTING_SPOT, 0)


def futures_sell(amount: str, client_order_id: str) -> OrderRequest:
    return OrderRequest(
        symbol="BTCUSDT",
        market_type=FUTURES,
        side=OrderSide.SELL,
        type=OrderType.MARKET,
        amount=Decimal(amount),
        client_order_id=client_order_id,
    )


async def test_a_futures_order_without_margin_in_the_futures_wallet_is_insufficient_funds(
    gateway: GatewayUnderTest,
) -> None:
    with pytest.raises(InsufficientFunds):
        await gateway.gateway.create_order(gateway.account, futures_sell("0.01", "no-margin-1"))

    assert await gateway.gateway.fetch_positions(gateway.account) == []
    assert await gateway.orders_placed() == 0


async def test_a_futures_market_sell_opens_a_short_at_the_leverage_that_was_set(
    gateway: GatewayUnderTest,
) -> None:

    exchange, account = gateway.gateway, gateway.account
    await exchange.transfer(account, "USDT", Decimal(1_000), Wallet.SPOT, Wallet.FUTURES)
    await exchange.set_leverage(account, "BTCUSDT", 10)

    order = await exchange.create_order(account, futures_sell("0.01", "short-1"))
    positions = await exchange.fetch_positions(account)

    assert order.status is OrderStatus.FILLED and order.market_type is FUTURES
    [position] = positions
    assert position.symbol == "BTCUSDT"
    assert position.side is PositionSide.SHORT
    assert position.amount == Decimal("0.01")
    assert position.entry_price == BTC_PRICE
    assert position.leverage == 10
    assert close_to(position.unrealized_pnl, Decimal(0), Decimal("0.01"))
    # 600 USDT of BTC at 10x ties up 60 USDT; the fee is a fraction of a percent of 600.
    balance = await exchange.fetch_balance(account)
    assert close_to(balance.futures, Decimal(1_000), Decimal("0.5"))
