"""The general request limits: per user on authenticated routes, per IP elsewhere (beyond
the seed's login and reset limits).

Every authenticated request counts against its user; every other request counts
against its client IP, except the health and metrics probes (`opt` key
`RATE_LIMIT_EXEMPT`), so monitoring is never refused. Both rules use the shared
rate limiter: Redis when configured, so that all processes count together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from domain.ports.rate_limiter import RateLimit, RateLimiter
from entrypoints.settings import Settings, request_limit

RATE_LIMIT_EXEMPT = "rate_limit_exempt"
_AUTHENTICATED_BY = "current_user"


@dataclass(frozen=True, slots=True)
class RequestLimits:
    per_user: RateLimit | None
    per_ip: RateLimit | None

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestLimits:
        return cls(
            per_user=_rule("api-user", settings.rate_limit_per_user),
            per_ip=_rule("api-ip", settings.rate_limit_per_ip),
        )


def _rule(name: str, setting: str) -> RateLimit | None:
    parsed = request_limit(setting)
    if parsed is None:
        return None
    hits, period_seconds = parsed
    return RateLimit(name, limit=hits, period_seconds=period_seconds, exact=False)


async def count_user_request(connection: ASGIConnection[Any, Any, Any, Any], user_id: int) -> None:
    """RateLimited (429) once the user has spent their per-user allowance."""
    limits: RequestLimits = connection.app.state.container.request_limits()
    await _hit(connection, limits.per_user, str(user_id))


async def limit_anonymous_requests(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """App-wide guard: the per-IP limit on routes that do not authenticate a user."""
    if handler.opt.get(RATE_LIMIT_EXEMPT) or _AUTHENTICATED_BY in handler.resolve_dependencies():
        return
    limits: RequestLimits = connection.app.state.container.request_limits()
    client = connection.client
    await _hit(connection, limits.per_ip, client.host if client else "unknown")


async def _hit(
    connection: ASGIConnection[Any, Any, Any, Any], rule: RateLimit | None, key: str
) -> None:
    if rule is not None:
        limiter: RateLimiter = connection.app.state.container.rate_limiter()
        await limiter.hit(rule, key)
