"""One execution of an order, as the exchange reports it (Binance: a row of myTrades)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class OrderFill:
    """`fee` is charged in `fee_asset`; `fee_in_quote` is its value in the market's quote
    asset at the fill (the fee itself when charged in quote)."""

    trade_id: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str
    fee_in_quote: Decimal
    time: datetime

    @property
    def quote(self) -> Decimal:
        return self.price * self.quantity
