"""Order sizes are rounded and checked against the market's rules before anything is sent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.exchange.errors import BelowMarketMinimum
from domain.exchange.market import Market, MarketType
from domain.exchange.order import InvalidOrderRequest, OrderRequest, OrderSide, OrderType

steps = st.sampled_from([Decimal(s) for s in ("0.00001", "0.001", "0.01", "0.1", "1", "10")])
amounts = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("1000000"), places=8)


def market(
    amount_step: Decimal = Decimal("0.001"), price_step: Decimal = Decimal("0.01")
) -> Market:
    return Market(
        symbol="BTCUSDT",
        base="BTC",
        quote="USDT",
        market_type=MarketType.SPOT,
        amount_step=amount_step,
        price_step=price_step,
        min_amount=Decimal("0.001"),
        min_notional=Decimal("5"),
    )


@given(amount=amounts, step=steps)
def test_rounded_amount_is_a_multiple_of_the_step_and_never_more_than_asked(
    amount: Decimal, step: Decimal
) -> None:
    rounded = market(amount_step=step).round_amount(amount)
    assert rounded <= amount
    assert amount - rounded < step
    assert rounded % step == 0


@given(price=amounts, step=steps)
def test_rounded_price_is_the_nearest_tick(price: Decimal, step: Decimal) -> None:
    rounded = market(price_step=step).round_price(price)
    assert rounded % step == 0
    assert abs(rounded - price) <= step / 2


def test_an_order_below_the_minimum_notional_is_refused_with_the_limits() -> None:
    with pytest.raises(BelowMarketMinimum) as caught:
        market().check_minimums(Decimal("0.001"), Decimal("4000"))
    assert caught.value.details["min_notional"] == "5"
    assert caught.value.details["min_amount"] == "0.001"


def test_an_amount_that_rounds_to_zero_is_refused() -> None:
    m = market()
    with pytest.raises(BelowMarketMinimum):
        m.check_minimums(m.round_amount(Decimal("0.0009")), Decimal("100000"))


def test_an_order_meeting_both_minimums_passes() -> None:
    market().check_minimums(Decimal("0.002"), Decimal("3000"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"client_order_id": "has space"},
        {"client_order_id": "x" * 37},
        {"client_order_id": ""},
        {"amount": Decimal(0)},
        {"type": OrderType.LIMIT, "price": None},
        {"reduce_only": True},
    ],
)
def test_malformed_order_requests_are_refused(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {
        "symbol": "BTCUSDT",
        "market_type": MarketType.SPOT,
        "side": OrderSide.BUY,
        "type": OrderType.MARKET,
        "amount": Decimal("0.01"),
        "client_order_id": "tb-1-abc",
    }
    with pytest.raises(InvalidOrderRequest):
        OrderRequest(**{**base, **kwargs})  # type: ignore[arg-type]
