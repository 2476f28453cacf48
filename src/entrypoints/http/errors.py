"""One error envelope for every 4xx/5xx, and one table from domain errors to statuses."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import DBAPIError

from domain.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    RateLimited,
    ServiceUnavailable,
)
from entrypoints.http.database_errors import database_fault

logger = logging.getLogger("tradebot.http")


class ErrorBody(msgspec.Struct):
    """The error envelope: a short message, the HTTP status, and optional details."""

    error: str
    code: int
    details: str | dict[str, Any] | list[Any] | None = None


STATUS_BY_ERROR: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (InvalidInput, 400),
    (AuthenticationFailed, 401),
    (RateLimited, 429),
    (ServiceUnavailable, 503),
)

_DESCRIPTIONS = {
    400: "Invalid request (details name the fields)",
    401: "Missing, invalid or expired credentials",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the current state",
    429: "Rate limit exceeded (see Retry-After)",
    500: "Internal server error",
    503: "A dependency is unavailable",
}


def error_responses(*codes: int, rate_limited: bool = True) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the error statuses a route can answer with.

    400 is always listed: any route with a path parameter, query or body can answer
    it, and without our entry Litestar documents its own 400 shape, not the envelope.
    429 is listed unless the route is exempt from the general request limits, and
    503 always: a database outage reaches every route (`database_errors`).
    """
    always = {400, 429, 503} if rate_limited else {400, 503}
    return {
        code: ResponseSpec(data_container=ErrorBody, description=_DESCRIPTIONS[code])
        for code in sorted({*always, *codes})
    }


def envelope(
    status: int, error: str, details: Any = None, headers: dict[str, str] | None = None
) -> Response[ErrorBody]:
    return Response(
        ErrorBody(error=error, code=status, details=details),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def domain_error_handler(_: Request[Any, Any, Any], exc: DomainError) -> Response[ErrorBody]:
    status = next((code for kind, code in STATUS_BY_ERROR if isinstance(exc, kind)), 500)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 500:
        logger.error("unmapped domain error %s", type(exc).__name__)
        return envelope(500, "Internal server error")
    return envelope(status, exc.message, exc.details, headers)


def http_exception_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    status = exc.status_code
    if status >= 500:
        logger.error("HTTP %s raised: %s", status, exc.detail)
        return envelope(status, "Internal server error" if status == 500 else exc.detail)
    if isinstance(exc, ValidationException):
        return envelope(400, "Validation failed", _field_details(exc.extra))
    headers = dict(exc.headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return envelope(status, exc.detail, _plain_details(exc.extra), headers)


def unexpected_error_handler(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[ErrorBody]:
    logger.exception("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return envelope(HTTP_500_INTERNAL_SERVER_ERROR, "Internal server error")


def database_error_handler(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[ErrorBody]:
    """The database is down, full or read-only: 503 with a plain message; anything else
    a database raises is a bug (500). The log names the driver's cause, never the SQL
    or its parameters (both are in `str(exc)`)."""
    fault = database_fault(exc)
    if fault is None:
        return unexpected_error_handler(request, exc)
    logger.error("%s (%s) on %s %s", fault.message, fault.cause, request.method, request.url.path)
    return envelope(503, fault.message)


def _field_details(extra: Any) -> dict[str, list[str]] | str | None:
    """Litestar/msgspec validation output as {field: [messages]}."""
    if not isinstance(extra, list):
        return _plain_details(extra)
    fields: dict[str, list[str]] = {}
    for item in extra:
        if not isinstance(item, dict):
            fields.setdefault("body", []).append(str(item))
            continue
        message = str(item.get("message", "invalid value"))
        key = item.get("key")
        if key in (None, "", "data"):
            key = _named_field(message) or "body"
        fields.setdefault(str(key), []).append(message)
    return fields


def _named_field(message: str) -> str | None:
    """msgspec names body-level fields in backticks: "unknown field `x`"."""
    if "field `" in message:
        return message.split("field `", 1)[1].split("`", 1)[0]
    return None


def _plain_details(extra: Any) -> str | dict[str, Any] | None:
    if extra is None or extra == {} or extra == []:
        return None
    if isinstance(extra, dict | str):
        return extra
    return str(extra)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: domain_error_handler,
    DBAPIError: database_error_handler,
    HTTPException: http_exception_handler,
    Exception: unexpected_error_handler,
}
