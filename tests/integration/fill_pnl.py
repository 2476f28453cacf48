"""Round-trip PnL restated from the Binance stub's own records (its orders' fills), so a
test proves the recorded PnL from what the exchange did, not from what the bot believes.

Spot: what the exit's fills brought in, less every exit fee valued in quote, less what
the entry's fills cost and the entry fees paid in quote or BNB (a fee taken in the coin
bought is coins never received: it is already missing from what was sold).
Futures: the side times (exit notional - entry notional), less both sides' fees.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from tests.integration.binance_stub import StubOrder

ZERO = Decimal(0)


def _quote(order: StubOrder) -> Decimal:
    return sum((Decimal(f["price"]) * Decimal(f["qty"]) for f in order.fills), ZERO)


def _fees(order: StubOrder, valued: Callable[[dict[str, str]], Decimal | None]) -> Decimal:
    total = ZERO
    for fill in order.fills:
        value = valued(fill)
        if value is not None:
            total += value
    return total


def round_trip_pnl(
    entry: StubOrder, exit_: StubOrder, base: str, quote: str, bnb_price: Decimal = ZERO
) -> Decimal:
    def in_quote(fill: dict[str, str]) -> Decimal:
        asset, amount = fill["commissionAsset"], Decimal(fill["commission"])
        if asset == quote:
            return amount
        if asset == base:
            return amount * Decimal(fill["price"])
        return amount * bnb_price

    def cash_fee(fill: dict[str, str]) -> Decimal | None:
        return None if fill["commissionAsset"] == base else in_quote(fill)

    if entry.market_type == "futures":
        side = 1 if entry.side == "BUY" else -1
        return (
            side * (_quote(exit_) - _quote(entry)) - _fees(entry, in_quote) - _fees(exit_, in_quote)
        )
    return _quote(exit_) - _fees(exit_, in_quote) - _quote(entry) - _fees(entry, cash_fee)


def pnl_of_round_trips(
    orders: list[StubOrder], base: str = "BTC", quote: str = "USDT"
) -> list[Decimal]:
    """Orders in sequence entry, exit, entry, exit, …: each exit's PnL from the fills."""
    return [
        round_trip_pnl(orders[i], orders[i + 1], base, quote) for i in range(0, len(orders) - 1, 2)
    ]
