"""Small value objects shared by several aggregates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from domain.errors import InvalidInput

_SYMBOL = re.compile(r"^[A-Z0-9]{2,20}$")


@dataclass(frozen=True, slots=True)
class Symbol:
    """An exchange market id such as BTCUSDT (upper-cased; "BTC/USDT" is accepted)."""

    value: str

    def __post_init__(self) -> None:
        normalised = self.value.strip().upper().split(":")[0].replace("/", "")
        if not _SYMBOL.match(normalised):
            raise InvalidInput(
                "Invalid symbol", details={"symbol": ["2-20 letters or digits, e.g. BTCUSDT"]}
            )
        object.__setattr__(self, "value", normalised)

    def __str__(self) -> str:
        return self.value


def money(value: Decimal | int | str, field: str = "amount") -> Decimal:
    """A finite Decimal amount, or InvalidInput naming the field."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput("Validation failed", details={field: ["not a number"]}) from None
    if not amount.is_finite():
        raise InvalidInput("Validation failed", details={field: ["must be finite"]})
    return amount
