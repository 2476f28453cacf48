from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from enum import StrEnum

from domain.exchange.errors import BelowMarketMinimum


class MarketType(StrEnum):
    SPOT = "spot"
    FUTURES = "futures"


@dataclass(frozen=True, slots=True)
class Market:
    """A tradable pair and the exchange's rules for orders on it.

    `amount_step` and `price_step` are the exchange's lot and tick sizes;
    amounts are rounded down (never order more than intended), prices to the
    nearest tick.
    """

    symbol: str
    base: str
    quote: str
    market_type: MarketType
    amount_step: Decimal
    price_step: Decimal
    min_amount: Decimal
    min_notional: Decimal
    max_leverage: int = 1

    def round_amount(self, amount: Decimal) -> Decimal:
        return _to_step(amount, self.amount_step, ROUND_DOWN)

    def round_price(self, price: Decimal) -> Decimal:
        return _to_step(price, self.price_step, ROUND_HALF_UP)

    def check_minimums(self, amount: Decimal, price: Decimal) -> None:
        """BelowMarketMinimum, with the market's limits, when the order is too small."""
        if amount <= 0 or amount < self.min_amount or amount * price < self.min_notional:
            raise BelowMarketMinimum(
                "below the market's minimum amount or notional",
                details={
                    "symbol": self.symbol,
                    "amount": str(amount),
                    "notional": str(amount * price),
                    "min_amount": str(self.min_amount),
                    "min_notional": str(self.min_notional),
                    "amount_step": str(self.amount_step),
                    "price_step": str(self.price_step),
                },
            )


def _to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    if step <= 0:
        return value
    units = (value / step).quantize(Decimal(1), rounding=rounding)
    return (units * step).quantize(step) if step < 1 else units * step
