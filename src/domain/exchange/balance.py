from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Wallet(StrEnum):
    SPOT = "spot"
    FUTURES = "futures"


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """Wallet values in one quote currency (USDT)."""

    spot: Decimal
    futures: Decimal
    currency: str

    @property
    def total(self) -> Decimal:
        return self.spot + self.futures
