"""A position as the exchange filled it: exact PnL from fills, fees by the asset charged,
partial exits, and the engine set to what was filled."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.bots.execution import Execution
from domain.bots.open_position import OpenPosition
from domain.bots.trade import Trade, TradeSide
from domain.exchange.fill import OrderFill
from domain.trading.fill_sync import HeldPosition, entry_settled, exit_settled
from domain.trading.live import retry_exit
from domain.trading.risk_engine import ExitReason, Side, TradingState
from domain.trading.risk_params import RiskParams

AT = datetime(2026, 1, 1, tzinfo=UTC)

prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)
amounts = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("50"), places=3)


def fill(price: Decimal, qty: Decimal, fee: Decimal, asset: str, in_quote: Decimal) -> OrderFill:
    return OrderFill("1", price, qty, fee, asset, in_quote, AT)


def quote_fills(
    parts: list[tuple[Decimal, Decimal]], rate: Decimal = Decimal("0.001")
) -> Execution:
    return Execution.of(
        [fill(p, q, p * q * rate, "USDT", p * q * rate) for p, q in parts], "BTC", "USDT"
    )


@given(entry=st.lists(st.tuples(prices, amounts), min_size=1, max_size=4), exit_price=prices)
def test_a_spot_round_trip_realises_its_fills_exactly(
    entry: list[tuple[Decimal, Decimal]], exit_price: Decimal
) -> None:
    bought = quote_fills(entry)
    position = OpenPosition.opened(Side.LONG, bought, futures=False, leverage=1)
    sold = quote_fills([(exit_price, position.quantity)])
    pnl, left = position.closed_by(sold, closes=True)
    assert left is None
    assert pnl == sold.quote - sold.fees_in_quote - bought.quote - bought.fees_in_quote
    assert position.entry_price == bought.quote / bought.quantity


@given(entry_price=prices, exit_price=prices, quantity=amounts, short=st.booleans())
def test_a_futures_round_trip_is_the_price_difference_less_both_fees(
    entry_price: Decimal, exit_price: Decimal, quantity: Decimal, short: bool
) -> None:
    side = Side.SHORT if short else Side.LONG
    opened = quote_fills([(entry_price, quantity)], Decimal("0.0004"))
    position = OpenPosition.opened(side, opened, futures=True, leverage=5)
    closed = quote_fills([(exit_price, quantity)], Decimal("0.0004"))
    pnl, _ = position.closed_by(closed, closes=True)
    direction = -1 if short else 1
    expected = (
        direction * (exit_price - entry_price) * quantity
        - opened.fees_in_quote
        - closed.fees_in_quote
    )
    assert pnl == expected
    assert position.cost == entry_price * quantity / 5 + opened.fees_in_quote


@given(price=prices, quantity=amounts, first=st.integers(min_value=1, max_value=99))
def test_selling_in_two_parts_realises_what_one_sale_would(
    price: Decimal, quantity: Decimal, first: int
) -> None:
    position = OpenPosition.opened(Side.LONG, quote_fills([(price, quantity)]), False, 1)
    part = (quantity * first / 100).quantize(Decimal("0.00001"))
    if part <= 0 or part >= quantity:
        return
    pnl_a, left = position.closed_by(quote_fills([(price, part)]), closes=False)
    assert left is not None and left.quantity == quantity - part
    pnl_b, none = left.closed_by(quote_fills([(price, left.quantity)]), closes=True)
    whole, _ = position.closed_by(quote_fills([(price, quantity)]), closes=True)
    assert none is None
    assert abs(pnl_a + pnl_b - whole) < Decimal("1e-20")


def test_a_fee_taken_in_the_coin_bought_is_coins_never_received_not_a_cost() -> None:
    bought = Execution.of(
        [fill(Decimal(100), Decimal(2), Decimal("0.002"), "BTC", Decimal("0.2"))], "BTC", "USDT"
    )
    position = OpenPosition.opened(Side.LONG, bought, futures=False, leverage=1)
    assert position.quantity == Decimal("1.998")
    assert position.cost == Decimal(200)  # no fee on top: it came out of the coins
    assert bought.fees_in_quote == Decimal("0.2") and bought.cash_fees == 0
    sold = quote_fills([(Decimal(110), Decimal("1.998"))])
    pnl, _ = position.closed_by(sold, closes=True)
    assert pnl == Decimal("1.998") * 110 - sold.fees_in_quote - 200


def test_a_fee_paid_in_bnb_is_a_cost_valued_in_quote() -> None:
    bought = Execution.of(
        [fill(Decimal(100), Decimal(2), Decimal("0.0003"), "BNB", Decimal("0.18"))], "BTC", "USDT"
    )
    position = OpenPosition.opened(Side.LONG, bought, futures=False, leverage=1)
    assert (position.quantity, position.cost) == (Decimal(2), Decimal("200.18"))
    trade = Trade.from_fills(1, 1, "BTCUSDT", TradeSide.BUY, "market", bought, "9", None, AT)
    assert (trade.commission_amount, trade.commission_asset) == (Decimal("0.0003"), "BNB")
    assert (trade.price, trade.quantity_filled, trade.quote_quantity_filled) == (
        Decimal(100), Decimal(2), Decimal(200),
    )  # fmt: skip


def test_fees_in_several_assets_are_one_commission_in_quote() -> None:
    mixed = Execution.of(
        [
            fill(Decimal(100), Decimal(1), Decimal("0.001"), "BTC", Decimal("0.1")),
            fill(Decimal(101), Decimal(1), Decimal("0.0002"), "BNB", Decimal("0.12")),
        ],
        "BTC",
        "USDT",
    )
    trade = Trade.from_fills(1, 1, "BTCUSDT", TradeSide.BUY, "market", mixed, "9", None, AT)
    assert (trade.commission_amount, trade.commission_asset) == (Decimal("0.22"), "USDT")
    assert trade.price == Decimal("100.5")
    assert trade.timestamp == AT
    assert not Execution.of([], "BTC", "USDT")
    assert Execution.of([], "BTC", "USDT").average_price == 0


def test_the_filled_position_is_stored_and_read_back_exactly() -> None:
    position = OpenPosition(
        Side.SHORT, Decimal("0.123"), Decimal("0.123"), Decimal("7380.5"), Decimal("2.95"),
        10, True, 59_000.5,
    )  # fmt: skip
    assert OpenPosition.from_dict(position.to_dict()) == position
    corrected = position.corrected(Decimal("0.2"), Decimal(60000))
    assert (corrected.quantity, corrected.entry_price) == (Decimal("0.2"), Decimal(60000))
    assert corrected.entry_fees == position.entry_fees


RISK = RiskParams(fee_rate=0.001, stop_loss_perc=2.0, take_profit_perc=4.0)


def optimistic_entry() -> TradingState:
    """The engine's own entry: 5 coins at 100, 500 taken from 1,000."""
    return TradingState(
        cash=500.0, side=Side.LONG, quantity=5.0, entry_price=100.0, entry_index=3,
        entry_cost=500.0, stop_loss_price=98.0, take_profit_price=104.0, extreme_price=100.0,
        day=1, day_start_equity=1000.0, daily_entries=1,
    )  # fmt: skip


def test_the_engine_takes_the_filled_entry_and_derives_its_levels_from_it() -> None:
    held = HeldPosition(Side.LONG, 4.9, 101.0, 495.39, 0.49, 0.0)
    state = entry_settled(optimistic_entry(), held, RISK)
    assert (state.quantity, state.entry_price, state.entry_cost) == (4.9, 101.0, 495.39)
    assert state.cash == 1000.0 - 495.39
    assert state.stop_loss_price == 101.0 * 0.98
    assert state.take_profit_price == 101.0 * 1.04
    assert state.entry_index == 3


def test_an_entry_that_filled_nothing_leaves_the_engine_flat_as_before() -> None:
    state = entry_settled(optimistic_entry(), None, RISK)
    assert (state.side, state.cash, state.daily_entries) == (Side.FLAT, 1000.0, 0)


def test_a_refused_exit_puts_the_position_back_with_its_trailing_anchor() -> None:
    trailing = RiskParams(fee_rate=0.001, trailing_stop_active=True, trailing_stop_perc=5.0)
    flat = TradingState(cash=990.0, day=1, day_start_equity=1000.0, daily_pnl=-10.0)
    held = HeldPosition(Side.LONG, 5.0, 100.0, 500.0, 0.0, 0.0)
    state = exit_settled(flat, -10.0, 0.0, held, 7, trailing, 120.0)
    assert (state.side, state.quantity, state.entry_index) == (Side.LONG, 5.0, 7)
    assert state.cash == 1000.0 - 500.0
    assert state.daily_pnl == 0.0
    assert state.trailing_stop_price == 120.0 * 0.95
    assert math.isnan(state.stop_loss_price)


def test_the_days_loss_limit_is_judged_on_the_real_pnl() -> None:
    limited = RiskParams(fee_rate=0.001, max_daily_loss_perc=2.0)
    # The engine booked -10 (1 %); the fills say -25 (2.5 %): no more entries today.
    flat = TradingState(cash=990.0, day=1, day_start_equity=1000.0, daily_pnl=-10.0)
    state = exit_settled(flat, -10.0, -25.0, None, 7, limited, math.nan)
    assert (state.cash, state.daily_pnl, state.halted) == (975.0, -25.0, True)


def test_an_exit_tried_again_closes_the_position_at_the_last_price() -> None:
    state, exit_fill = retry_exit(
        optimistic_entry(), 97.0, 9, 9_000, 86_400_000 + 1, ExitReason.STOP_LOSS, RISK
    )
    assert exit_fill is not None and exit_fill.reason is ExitReason.STOP_LOSS
    assert (exit_fill.price, state.side, state.risk_exit_open_ms) == (97.0, Side.FLAT, 9_000)
    flat = TradingState(cash=1.0)
    assert retry_exit(flat, 97.0, 9, 9_000, 0, ExitReason.STOP_LOSS, RISK) == (flat, None)
