"""What can go wrong talking to an exchange, in the domain's words.

Messages never contain credentials: adapters build them from the exchange's
error code and text only.
"""

from __future__ import annotations

from typing import Any

from domain.errors import InvalidInput, RateLimited, ServiceUnavailable


class InvalidCredentials(InvalidInput):
    message = "Invalid API credentials"


class InsufficientFunds(InvalidInput):
    message = "Insufficient funds"


class UnknownSymbol(InvalidInput):
    message = "Invalid symbol"


class OrderRejected(InvalidInput):
    message = "Order rejected"

    def __init__(self, reason: str, details: Any = None) -> None:
        super().__init__(f"Order rejected: {reason}", details)
        self.reason = reason


class BelowMarketMinimum(OrderRejected):
    """The rounded order is smaller than the market's minimum amount or notional."""


class ExchangeUnavailable(ServiceUnavailable):
    message = "Exchange unavailable"


class ExchangeRateLimited(RateLimited):
    message = "Rate limited by the exchange"
