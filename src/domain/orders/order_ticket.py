"""What a user asks for when placing an order by hand, and how it becomes an exchange order."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal, localcontext

from domain.errors import InvalidInput
from domain.exchange.market import Market, MarketType
from domain.exchange.order import OrderSide, OrderType
from domain.values import Symbol

# Enough digits for any amount divided by any step or tick (amounts below 1e20, steps of
# 1e-18 at the finest), so rounding never overflows the default 28-digit context.
_PRECISION = 60


@dataclass(frozen=True, slots=True)
class SizedOrder:
    """The order as it will be sent: on the market's grid and above its minimums."""

    amount: Decimal
    price: Decimal | None  # the limit price; None for a market order


@dataclass(frozen=True, slots=True)
class OrderTicket:
    """A manual order request: exactly one of `quantity` (base asset) and `quote_amount`
    (quote asset, converted at the limit price, or at the last price for a market order);
    a price for a limit order and none for a market order. `api_key_id` picks the account
    (None: the user's key, or the paper account)."""

    symbol: str
    side: OrderSide
    type: OrderType
    market_type: MarketType = MarketType.SPOT
    quantity: Decimal | None = None
    quote_amount: Decimal | None = None
    price: Decimal | None = None
    api_key_id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", Symbol(self.symbol).value)
        problems: dict[str, list[str]] = {}
        if (self.quantity is None) == (self.quote_amount is None):
            problems["quantity"] = ["give exactly one of quantity and quote_amount"]
        for name in ("quantity", "quote_amount", "price"):
            value: Decimal | None = getattr(self, name)
            if value is not None and (not value.is_finite() or value <= 0):
                problems[name] = ["a positive amount"]
        if self.type is OrderType.LIMIT and self.price is None:
            problems["price"] = ["a limit order needs a price"]
        if self.type is OrderType.MARKET and self.price is not None:
            problems["price"] = ["a market order takes no price"]
        if problems:
            raise InvalidInput("Validation failed", details=problems)

    def fingerprint(self) -> str:
        """The same for the same request however it was written (key order, 0.10 or 0.1)."""
        fields = {
            "symbol": self.symbol,
            "side": self.side.value,
            "type": self.type.value,
            "market_type": self.market_type.value,
            "quantity": _canonical(self.quantity),
            "quote_amount": _canonical(self.quote_amount),
            "price": _canonical(self.price),
            "api_key_id": self.api_key_id,
        }
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()

    def size(self, market: Market, last_price: Decimal | None) -> SizedOrder:
        """Round to the market's grid (amount down to the step, price to the nearest tick)
        and check its minimums against the limit price, or `last_price` for a market order;
        BelowMarketMinimum, with the market's limits, when the rounded order is too small."""
        with localcontext() as context:
            context.prec = _PRECISION
            price = market.round_price(self.price) if self.price is not None else None
            if price is not None and price <= 0:
                raise InvalidInput(
                    "Validation failed",
                    details={"price": [f"below the market's tick size {market.price_step}"]},
                )
            reference = price if price is not None else last_price
            if reference is None or reference <= 0:
                raise ValueError("a market order is sized at a positive last price")
            if self.quantity is not None:
                wanted = self.quantity
            else:
                assert self.quote_amount is not None
                wanted = self.quote_amount / reference
            amount = market.round_amount(wanted)
            market.check_minimums(amount, reference)
        return SizedOrder(amount=amount, price=price)


def _canonical(amount: Decimal | None) -> str | None:
    return None if amount is None else format(amount.normalize(), "f")
