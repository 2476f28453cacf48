"""Manual order bodies (POST /api/v1/orders)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from domain.exchange.market import MarketType
from domain.exchange.order import OrderSide, OrderStatus, OrderType
from domain.orders.manual_order import ManualOrder
from entrypoints.http.json_response import Money
from entrypoints.http.request_fields import RecordId


class PlaceOrderRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Exactly one of `quantity` (base asset) and `quote_amount` (quote asset: converted at
    the limit price, or at the last price for a market order); `price` for a limit order
    only. `api_key_id` defaults to the user's key (on the paper exchange, a user without
    one trades the paper account)."""

    symbol: Annotated[str, msgspec.Meta(min_length=1, max_length=32, examples=["BTCUSDT"])]
    side: OrderSide
    type: OrderType
    quantity: Money | None = None
    quote_amount: Money | None = None
    price: Money | None = None
    market_type: MarketType = MarketType.SPOT
    api_key_id: RecordId | None = None


class OrderResponse(msgspec.Struct):
    """The order as the exchange answered, rounded to the market's precision."""

    id: int
    client_order_id: str
    exchange_order_id: str
    symbol: str
    market_type: MarketType
    side: OrderSide
    type: OrderType
    status: OrderStatus
    amount: Money
    filled: Money
    price: Money | None
    average_price: Money | None
    fee: Money
    fee_asset: str
    created_at: datetime


def order_response(order: ManualOrder) -> OrderResponse:
    assert order.id is not None
    assert order.is_placed
    assert order.exchange_order_id is not None
    assert order.placed_at is not None
    assert order.amount is not None
    assert order.filled is not None
    assert order.fee is not None
    return OrderResponse(
        id=order.id,
        client_order_id=order.client_order_id,
        exchange_order_id=order.exchange_order_id,
        symbol=order.symbol,
        market_type=order.market_type,
        side=order.side,
        type=order.type,
        status=OrderStatus(order.status.value),
        amount=order.amount,
        filled=order.filled,
        price=order.price,
        average_price=order.average_price,
        fee=order.fee,
        fee_asset=order.fee_asset or "",
        created_at=order.placed_at,
    )
