"""The app as the integration tests run it: the production container with test
overrides, and an httpx client on its ASGI interface in the test's own event loop."""

from __future__ import annotations

import httpx

from adapters.rate_limit.limits_rate_limiter import DisabledRateLimiter
from adapters.security.argon2_hasher import fast_test_hasher
from domain.ports.exchange_gateway import ExchangeGateway
from domain.ports.mailer import Mailer
from entrypoints.container import Container, build_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.support.fakes import FakeExchange, OutboxMailer


def overridden_container(
    settings: Settings, exchange: ExchangeGateway | None = None, mailer: Mailer | None = None
) -> Container:
    """The production container with cheap hashing, no rate limits, a mail outbox and
    an in-memory exchange unless told otherwise."""
    container = build_container(settings)
    container.password_hasher.override(fast_test_hasher())
    container.rate_limiter.override(DisabledRateLimiter())
    container.mailer.override(mailer or OutboxMailer())
    container.exchange.override(exchange or FakeExchange())
    return container


def asgi_client(container: Container, client_host: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(container), client=(client_host, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")
