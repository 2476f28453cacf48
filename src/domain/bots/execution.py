"""What one order did on the exchange: its fills, summed exactly in Decimal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.exchange.fill import OrderFill

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Execution:
    """The fills of one order. `base_fee` is the part of the fees charged in the base
    asset (Binance takes a spot buy's fee from the coins bought unless BNB pays it): it
    is not a cost to add, it is coins the account never received."""

    fills: tuple[OrderFill, ...]
    base_asset: str
    quote_asset: str

    @classmethod
    def of(cls, fills: Sequence[OrderFill], base_asset: str, quote_asset: str) -> Execution:
        return cls(tuple(fills), base_asset, quote_asset)

    @property
    def quantity(self) -> Decimal:
        return sum((f.quantity for f in self.fills), ZERO)

    @property
    def quote(self) -> Decimal:
        """sum of price * quantity."""
        return sum((f.quote for f in self.fills), ZERO)

    @property
    def average_price(self) -> Decimal:
        quantity = self.quantity
        return self.quote / quantity if quantity else ZERO

    @property
    def base_fee(self) -> Decimal:
        return sum((f.fee for f in self.fills if f.fee_asset == self.base_asset), ZERO)

    @property
    def fees_in_quote(self) -> Decimal:
        """Every fee valued in quote, the base-asset ones included (what the trader paid)."""
        return sum((f.fee_in_quote for f in self.fills), ZERO)

    @property
    def cash_fees(self) -> Decimal:
        """Fees paid out of quote or a third asset (BNB), valued in quote: the ones that
        are a cost on top of the fills' price."""
        return sum((f.fee_in_quote for f in self.fills if f.fee_asset != self.base_asset), ZERO)

    @property
    def fee_assets(self) -> frozenset[str]:
        return frozenset(f.fee_asset for f in self.fills if f.fee)

    @property
    def last_time(self) -> datetime | None:
        return max((f.time for f in self.fills), default=None)

    def __bool__(self) -> bool:
        return self.quantity > 0
