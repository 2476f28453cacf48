"""A live bot through ccxt against the Binance stub when the exchange does not simply
fill: several fills, a partial fill that expires, refusals with Binance's own codes, an
order that executes although the call timed out, fees in BNB. The position, the trades
and their PnL are what the exchange's records say."""

from __future__ import annotations

from decimal import Decimal

import ccxt.async_support as ccxt
import pytest

from tests.integration import exchange_fixtures
from tests.integration.binance_stub import BinanceStub, OrderOutcome, route_exchange_to_stub
from tests.integration.fill_pnl import round_trip_pnl
from tests.integration.test_worker_binance_stub import BOT, FUTURES_BOT, KEY, Live, live

binance_stub = exchange_fixtures.binance_stub
__all__ = ["binance_stub", "live"]

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def first_round_trip(live: Live, bot_id: int) -> tuple[int, int]:
    expected = await live.expected(bot_id)
    return expected[0].index, expected[1].index


@SQLITE
async def test_several_fills_make_one_trade_at_their_volume_weighted_price(live: Live) -> None:
    bot_id = await live.start_bot(**BOT)
    entry, _ = await first_round_trip(live, bot_id)
    await live.run(range(entry))
    price = Decimal(repr(live.candles[entry].close))
    live.stub.script_orders(OrderOutcome.fill([("0.25", price - 10), ("0.75", price + 20)]))

    await live.close(entry)

    [order] = live.stub.orders(KEY)
    [trade] = await live.stored_trades()
    quote = sum((Decimal(f["price"]) * Decimal(f["qty"]) for f in order.fills), Decimal(0))
    vwap = quote / order.executed_qty
    assert len({f["price"] for f in order.fills}) == 2
    assert trade.price == vwap.quantize(Decimal("1e-18"))
    assert trade.quantity_filled == order.executed_qty
    assert trade.quote_quantity_filled == quote
    fees = sum((Decimal(f["commission"]) for f in order.fills), Decimal(0))
    assert (trade.commission_amount, trade.commission_asset) == (fees, "BTC")
    state = await live.state(bot_id)
    # Held: what was filled less the fee Binance took in BTC; the stop from the real entry.
    assert Decimal(repr(state["current_position_size_coins"])) == order.executed_qty - fees
    assert state["stop_loss_price"] == pytest.approx(
        float(vwap) * (1 - BOT["stop_loss_perc"] / 100)
    )


@SQLITE
async def test_an_entry_filled_in_part_then_expired_holds_the_part_and_sells_it(
    live: Live,
) -> None:
    bot_id = await live.start_bot(**BOT)
    entry, exit_ = await first_round_trip(live, bot_id)
    await live.run(range(entry))
    live.stub.script_orders(OrderOutcome.partial_then_expire("0.4"))

    await live.close(entry)

    [order] = live.stub.orders(KEY)
    assert (order.status, order.executed_qty < order.orig_qty) == ("EXPIRED", True)
    [intent] = await live.intents(bot_id)
    assert intent.status == "partially_filled"
    assert intent.filled_amount == order.executed_qty
    state = await live.state(bot_id)
    assert state["status"] == "running"
    assert "then expired" in state["last_error_message"]
    fee = sum((Decimal(f["commission"]) for f in order.fills), Decimal(0))
    assert Decimal(repr(state["current_position_size_coins"])) == order.executed_qty - fee

    await live.run(range(entry + 1, exit_ + 1))
    entry_order, exit_order = live.stub.orders(KEY)
    assert exit_order.side == "SELL"
    assert exit_order.executed_qty == (order.executed_qty - fee).quantize(Decimal("0.00001"))
    sell = (await live.stored_trades())[-1]
    assert sell.pnl == round_trip_pnl(entry_order, exit_order, "BTC", "USDT")


@SQLITE
@pytest.mark.parametrize(
    ("refusal", "words"),
    [
        (OrderOutcome.position_side_mismatch(), "Order's position side does not match"),
        (OrderOutcome.max_position_exceeded(), "Exceeded the maximum allowable position"),
        (OrderOutcome.margin_insufficient(), "Margin is insufficient"),
    ],
)
async def test_a_futures_entry_the_exchange_refuses_stops_the_bot_flat_with_its_words(
    live: Live, refusal: OrderOutcome, words: str
) -> None:
    bot_id = await live.start_bot(futures={"USDT": "5000"}, **FUTURES_BOT)
    entry, _ = await first_round_trip(live, bot_id)
    await live.run(range(entry))
    live.stub.script_orders(refusal)

    await live.close(entry)

    state = await live.state(bot_id)
    assert state["status"] == "stopped"
    assert words in state["last_error_message"]
    assert state["in_position"] is False
    assert live.stub.orders(KEY) == []
    assert [i.status for i in await live.intents(bot_id)] == ["failed"]
    assert await live.close(entry + 1) == 0  # stopped: not evaluated, nothing sent


@SQLITE
async def test_an_order_that_executed_although_the_call_timed_out_is_recorded_once(
    live: Live,
) -> None:
    bot_id = await live.start_bot(**BOT)
    entry, _ = await first_round_trip(live, bot_id)
    await live.run(range(entry))
    live.stub.script_orders(OrderOutcome.timeout_after_execute(1.5))

    await live.close(entry)
    await live.later(seconds=31)

    [order] = live.stub.orders(KEY)
    assert order.status == "FILLED"
    [intent] = await live.intents(bot_id)
    assert (intent.status, intent.exchange_order_id) == ("filled", str(order.order_id))
    assert [t.binance_order_id for t in await live.stored_trades()] == [str(order.order_id)]
    posts = live.stub.requests_to("/api/v3/order", "POST")
    assert len(posts) == 1  # asked for, never sent again


@SQLITE
async def test_fees_paid_in_bnb_are_valued_in_quote_and_the_pnl_is_the_fills(live: Live) -> None:
    live.stub.spot_commission_asset = "BNB"
    bot_id = await live.start_bot(spot={"USDT": "10000", "BNB": "5"}, **BOT)
    _, exit_ = await first_round_trip(live, bot_id)

    await live.run(range(exit_ + 1))

    entry_order, exit_order = live.stub.orders(KEY)[:2]
    assert {f["commissionAsset"] for f in entry_order.fills + exit_order.fills} == {"BNB"}
    buy, sell = (await live.stored_trades())[:2]
    assert (buy.commission_asset, sell.commission_asset) == ("BNB", "BNB")
    # Nothing taken from the coins bought: all of them are sold.
    assert exit_order.executed_qty == entry_order.executed_qty
    bnb = live.stub.price("BNBUSDT")
    assert sell.pnl == round_trip_pnl(entry_order, exit_order, "BTC", "USDT", bnb_price=bnb)
    assert sell.pnl < exit_order.cum_quote - entry_order.cum_quote  # the fees count


@SQLITE
async def test_an_open_order_that_is_not_the_bots_pauses_a_futures_bot(
    live: Live, binance_stub: BinanceStub
) -> None:
    bot_id = await live.start_bot(futures={"USDT": "5000"}, **FUTURES_BOT)
    await live.run(range(2))
    # An order placed by hand on the bot's symbol, still working.
    binance_stub.script_orders(OrderOutcome.rest())
    client = ccxt.binanceusdm({"apiKey": KEY, "secret": binance_stub.account(KEY).secret})
    route_exchange_to_stub(client, binance_stub.base_url)
    try:
        await client.create_order("BTC/USDT:USDT", "market", "buy", 2, None, {})
    finally:
        await client.close()

    await live.close(2)

    state = await live.state(bot_id)
    assert state["status"] == "paused"
    assert "is not the bot's" in state["last_error_message"]


@SQLITE
async def test_an_order_still_working_holds_decisions_back_until_it_is_done(live: Live) -> None:
    bot_id = await live.start_bot(**BOT)
    entry, _ = await first_round_trip(live, bot_id)
    await live.run(range(entry))
    live.stub.script_orders(OrderOutcome.rest("0.5"))  # PARTIALLY_FILLED, still working

    await live.close(entry)

    [intent] = await live.intents(bot_id)
    assert intent.status == "pending"
    assert await live.stored_trades() == []
    await live.later(seconds=15)  # asked again: still working, nothing new decided
    assert [i.status for i in await live.intents(bot_id)] == ["pending"]
    assert len(live.stub.requests_to("/api/v3/order", "POST")) == 1

    live.stub.complete_order(intent.client_order_id)
    await live.later(seconds=15)

    [order] = live.stub.orders(KEY)
    [filled] = await live.intents(bot_id)
    assert (filled.status, filled.filled_amount) == ("filled", order.executed_qty)
    [trade] = await live.stored_trades()
    assert trade.quantity_filled == order.executed_qty
    quote = sum((Decimal(f["price"]) * Decimal(f["qty"]) for f in order.fills), Decimal(0))
    assert trade.quote_quantity_filled == quote
    assert (await live.state(bot_id))["in_position"] is True
