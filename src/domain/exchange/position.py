from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class PositionSide(StrEnum):
    LONG = "long"
    SHORT = "short"


@dataclass(frozen=True, slots=True)
class ExchangePosition:
    """An open futures position as the exchange reports it."""

    symbol: str
    side: PositionSide
    amount: Decimal
    entry_price: Decimal
    leverage: int
    unrealized_pnl: Decimal
    liquidation_price: Decimal | None = None
