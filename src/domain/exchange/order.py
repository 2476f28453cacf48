from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from domain.errors import InvalidInput
from domain.exchange.market import MarketType

# Binance's rule for client order ids, which is also the strictest we support.
_CLIENT_ORDER_ID = re.compile(r"^[.A-Za-z0-9:/_-]{1,36}$")


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class OrderStatus(StrEnum):
    """OPEN: still working (partly filled when `filled` > 0); the others are final."""

    OPEN = "open"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"


class InvalidOrderRequest(InvalidInput):
    message = "Invalid order"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    symbol: str
    market_type: MarketType
    side: OrderSide
    type: OrderType
    amount: Decimal
    client_order_id: str
    price: Decimal | None = None
    reduce_only: bool = False

    def __post_init__(self) -> None:
        if not _CLIENT_ORDER_ID.match(self.client_order_id):
            raise InvalidOrderRequest(
                details={"client_order_id": ["1-36 characters of A-Z a-z 0-9 . : / _ -"]}
            )
        if self.amount <= 0:
            raise InvalidOrderRequest(details={"amount": ["must be positive"]})
        if self.type is OrderType.LIMIT and (self.price is None or self.price <= 0):
            raise InvalidOrderRequest(details={"price": ["a limit order needs a positive price"]})
        if self.reduce_only and self.market_type is not MarketType.FUTURES:
            raise InvalidOrderRequest(details={"reduce_only": ["only for futures"]})


@dataclass(frozen=True, slots=True)
class Order:
    """An order as the exchange reports it."""

    exchange_order_id: str
    client_order_id: str
    symbol: str
    market_type: MarketType
    side: OrderSide
    type: OrderType
    status: OrderStatus
    amount: Decimal
    filled: Decimal
    price: Decimal | None
    average_price: Decimal | None
    fee: Decimal
    fee_asset: str
    created_at: datetime

    @property
    def is_done(self) -> bool:
        """The exchange will not fill any more of it."""
        return self.status is not OrderStatus.OPEN
