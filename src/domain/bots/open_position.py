"""A live bot's position as the exchange filled it, in exact Decimal.

The engine (floats) decides; this is what was bought or sold. Realised PnL is computed
here from the fills alone: spot, what the exit's fills brought in, less their fees, less
what the entry cost (fills plus fees paid in quote or BNB; a fee taken in the coin bought
is coins never received, not a cost on top); futures, the price difference of the fills
times the quantity, less the fees of both sides.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from domain.bots.execution import Execution
from domain.trading.risk_engine import Side

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class OpenPosition:
    side: Side
    quantity: Decimal  # held now (spot: filled minus the fee taken in the coin)
    entry_quantity: Decimal  # filled by the entry
    entry_quote: Decimal  # sum of price * quantity of the entry's fills
    entry_fees: Decimal  # the entry's fees that cost quote on top of the price
    leverage: int = 1
    futures: bool = False
    # The best price since entry (the trailing stop's anchor), kept as the engine moves it.
    extreme_price: float | None = None

    @classmethod
    def opened(cls, side: Side, entry: Execution, futures: bool, leverage: int) -> OpenPosition:
        quantity = entry.quantity if futures else entry.quantity - entry.base_fee
        return cls(
            side=side,
            quantity=quantity,
            entry_quantity=entry.quantity,
            entry_quote=entry.quote,
            entry_fees=entry.fees_in_quote if futures else entry.cash_fees,
            leverage=leverage if futures else 1,
            futures=futures,
        )

    @property
    def entry_price(self) -> Decimal:
        """Volume-weighted over the entry's fills."""
        return self.entry_quote / self.entry_quantity

    @property
    def margin(self) -> Decimal:
        return self.entry_quote / self.leverage if self.futures else ZERO

    @property
    def cost(self) -> Decimal:
        """What opening took from the bot's capital: notional (spot) or margin, plus fees."""
        return (self.margin if self.futures else self.entry_quote) + self.entry_fees

    def closed_by(self, exit_: Execution, closes: bool) -> tuple[Decimal, OpenPosition | None]:
        """The realised PnL of an exit and what is left open. `closes`: the exit order is
        done with the position (a spot remainder below one amount step is dust, written
        off); otherwise an exit that filled part of the position leaves the rest open."""
        sold = min(exit_.quantity, self.quantity)
        whole = closes or sold >= self.quantity

        def share(value: Decimal) -> Decimal:
            return value if whole else value * sold / self.quantity

        if self.futures:
            pnl = (
                int(self.side) * (exit_.quote - share(self.entry_quote))
                - exit_.fees_in_quote
                - share(self.entry_fees)
            )
        else:
            pnl = exit_.quote - exit_.fees_in_quote - share(self.cost)
        if whole:
            return pnl, None
        left = replace(
            self,
            quantity=self.quantity - sold,
            entry_quantity=self.entry_quantity - share(self.entry_quantity),
            entry_quote=self.entry_quote - share(self.entry_quote),
            entry_fees=self.entry_fees - share(self.entry_fees),
        )
        return pnl, left

    def corrected(self, quantity: Decimal, entry_price: Decimal | None) -> OpenPosition:
        """An operator's correction (PUT /bot-states): the quantity held and, optionally,
        the entry price; the entry's cost is scaled, its fees kept."""
        price = entry_price if entry_price is not None else self.entry_price
        return replace(
            self, quantity=quantity, entry_quantity=quantity, entry_quote=quantity * price
        )

    def to_dict(self) -> dict[str, str | int | bool | float | None]:
        return {
            "side": int(self.side),
            "quantity": str(self.quantity),
            "entry_quantity": str(self.entry_quantity),
            "entry_quote": str(self.entry_quote),
            "entry_fees": str(self.entry_fees),
            "leverage": self.leverage,
            "futures": self.futures,
            "extreme_price": self.extreme_price,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> OpenPosition:
        return cls(
            side=Side(int(str(data["side"]))),
            quantity=Decimal(str(data["quantity"])),
            entry_quantity=Decimal(str(data["entry_quantity"])),
            entry_quote=Decimal(str(data["entry_quote"])),
            entry_fees=Decimal(str(data["entry_fees"])),
            leverage=int(str(data.get("leverage", 1))),
            futures=bool(data.get("futures", False)),
            extreme_price=float(str(data["extreme_price"]))
            if data.get("extreme_price") is not None
            else None,
        )
