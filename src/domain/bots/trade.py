from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from domain.errors import InvalidInput


class TradeSide(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


@dataclass(eq=False, slots=True)
class Trade:
    """One fill, as the seed's trade record: what was bought or sold, at what price and cost.

    `bot_config_id` is None for the fill of a manual order (POST /orders)."""

    user_id: int
    bot_config_id: int | None
    symbol: str
    side: TradeSide
    order_type: str
    price: Decimal
    quantity_filled: Decimal
    quote_quantity_filled: Decimal
    timestamp: datetime
    binance_order_id: str | None = None
    commission_amount: Decimal = Decimal(0)
    commission_asset: str | None = None
    pnl: Decimal | None = None
    realized_pnl: Decimal | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        problems: dict[str, list[str]] = {}
        if not self.price.is_finite() or self.price <= 0:
            problems["price"] = ["a positive amount"]
        for name in ("quantity_filled", "quote_quantity_filled", "commission_amount"):
            value: Decimal = getattr(self, name)
            if not value.is_finite() or value < 0:
                problems[name] = ["a non-negative amount"]
        for name in ("pnl", "realized_pnl"):
            optional: Decimal | None = getattr(self, name)
            if optional is not None and not optional.is_finite():
                problems[name] = ["a finite amount"]
        if self.timestamp.tzinfo is None:
            problems["timestamp"] = ["needs a UTC offset"]
        if problems:
            raise InvalidInput("Validation failed", details=problems)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Trade) and self.id is not None and self.id == other.id

    def __hash__(self) -> int:
        return hash(("Trade", self.id))
