"""ccxt exceptions → domain errors, with messages built from the exchange's code and text only."""

from __future__ import annotations

import re

import ccxt.async_support as ccxt

from adapters.metrics.counters import count_exchange_error
from domain.errors import DomainError
from domain.exchange.errors import (
    BelowMarketMinimum,
    ExchangeRateLimited,
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidCredentials,
    OrderRejected,
    UnknownSymbol,
)

_CODE = re.compile(r'"code"\s*:\s*(-?\d+)')
_MSG = re.compile(r'"msg"\s*:\s*"([^"]{0,200})"')
# Binance codes that mean "these credentials do not work", whatever ccxt calls them.
CREDENTIAL_CODES = {"-2014", "-2015", "-1022", "-2008"}
DUPLICATE_ORDER_CODES = {"-4116", "-4015"}
_DUPLICATE_TEXT = "duplicate"


def exchange_code(exc: BaseException) -> str | None:
    match = _CODE.search(str(exc))
    return match.group(1) if match else None


def exchange_reason(exc: BaseException) -> str:
    """The exchange's own short explanation, never the URL or request parameters."""
    match = _MSG.search(str(exc))
    if match:
        return match.group(1)
    return type(exc).__name__


def is_duplicate_order(exc: BaseException) -> bool:
    return exchange_code(exc) in DUPLICATE_ORDER_CODES or _DUPLICATE_TEXT in str(exc).lower()


def translate(exc: Exception, retry_after_seconds: int | None = None) -> DomainError:
    """The domain error for a ccxt failure; every one is counted for `/metrics`."""
    error = _domain_error(exc, retry_after_seconds)
    count_exchange_error(error)
    return error


def _domain_error(exc: Exception, retry_after_seconds: int | None) -> DomainError:
    code = exchange_code(exc)
    details = {"exchange_code": code, "reason": exchange_reason(exc)} if code else None
    if code in CREDENTIAL_CODES or isinstance(
        exc, ccxt.AuthenticationError | ccxt.PermissionDenied | ccxt.AccountSuspended
    ):
        return InvalidCredentials(details=details)
    if isinstance(exc, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
        return ExchangeRateLimited(retry_after_seconds=retry_after_seconds or 60, details=details)
    if isinstance(exc, ccxt.InsufficientFunds):
        return InsufficientFunds(details=details)
    if isinstance(exc, ccxt.BadSymbol):
        return UnknownSymbol(details=details)
    # OperationRejected: the exchange understood and refused (-4061 position side,
    # -2027 position limit at this leverage): final, like an invalid order.
    if isinstance(
        exc, ccxt.InvalidOrder | ccxt.OrderNotFound | ccxt.BadRequest | ccxt.OperationRejected
    ):
        return OrderRejected(exchange_reason(exc), details=details)
    if isinstance(exc, ccxt.NetworkError):
        return ExchangeUnavailable(details={"reason": type(exc).__name__})
    return ExchangeUnavailable(details={"reason": exchange_reason(exc)})


def below_minimum(exc: Exception) -> BelowMarketMinimum:
    return BelowMarketMinimum(exchange_reason(exc))
