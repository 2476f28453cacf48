"""Secret hygiene: a whole user journey with every logger at DEBUG, on the Binance exchange
(ccxt against the loopback stub, so keys are sent and signed) and on the paper exchange.
No password, access token (nor its signature), API key, API secret or reset token may
appear in any log record, nor in any error body.

The one documented exception is the LoggingMailer (`tradebot.mail`), which writes the
reset mail to the log when SMTP is not configured: the journey uses the mail outbox, and
the last test shows that without SMTP the mailer is the only logger to show the token.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest

from adapters.rate_limit.limits_rate_limiter import DisabledRateLimiter
from adapters.security.argon2_hasher import fast_test_hasher
from entrypoints.container import Container, build_container, close_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration import exchange_fixtures
from tests.integration.backtest_candles import backtest_request, hourly_klines
from tests.integration.binance_stub import BinanceStub
from tests.integration.bots_api import trade_body
from tests.support.fakes import OutboxMailer

# The shared fixture, bound here so that pytest finds it in this module.
binance_stub = exchange_fixtures.binance_stub

EMAIL = "secretive@example.com"
PASSWORD = "Correct-Horse-9-Battery"
NEW_PASSWORD = "Another-Staple-7-Horse"
# 16-128 letters and digits: valid on the paper exchange, and registered in the stub.
API_KEY = "HygieneKey0123456789abcdefGHIJ"
API_SECRET = "HygieneSecret0123456789abcdefKLMN"
MAIL_LOGGER = "tradebot.mail"
CANDLE_DAYS = 3
RESET_TOKEN = re.compile(r"reset token: (\S+)")


@dataclass
class Journey:
    """What the client sent or received that must stay secret, and every error answer."""

    secrets: dict[str, str] = field(default_factory=dict)
    error_bodies: list[str] = field(default_factory=list)

    def keep(self, name: str, value: str) -> None:
        self.secrets[name] = value

    def keep_token(self, name: str, token: str) -> None:
        self.keep(name, token)
        self.keep(f"{name} signature", token.rsplit(".", 1)[1])


@pytest.fixture
def every_logger_at_debug(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog at DEBUG on the root and on every logger that has a level of its own; loggers
    that do not propagate get caplog's handler directly."""
    caplog.set_level(logging.DEBUG)
    detached: list[logging.Logger] = []
    for name, existing in list(logging.root.manager.loggerDict.items()):
        if not isinstance(existing, logging.Logger):
            continue
        caplog.set_level(logging.DEBUG, logger=name)
        if not existing.propagate:
            existing.addHandler(caplog.handler)
            detached.append(existing)
    yield caplog
    for existing in detached:
        existing.removeHandler(caplog.handler)


def record_text(record: logging.LogRecord) -> str:
    """The message, its arguments, extras, exception: all of a record."""
    parts = [record.getMessage(), repr(record.msg), repr(record.args)]
    parts += [repr(value) for value in vars(record).values()]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


def leaks(records: list[logging.LogRecord], secrets: dict[str, str]) -> list[str]:
    return [
        f"{name} in a {record.levelname} record of {record.name}: {record.getMessage()[:200]!r}"
        for record in records
        for name, secret in secrets.items()
        if secret in record_text(record)
    ]


def exchange_container(settings: Settings, stub: BinanceStub, exchange: str) -> Container:
    container = build_container(
        msgspec.structs.replace(
            settings,
            exchange=exchange,
            binance_base_url=stub.base_url,
            exchange_timeout_seconds=exchange_fixtures.CONTRACT_TIMEOUT_SECONDS,
        )
    )
    container.password_hasher.override(fast_test_hasher())
    container.rate_limiter.override(DisabledRateLimiter())
    return container


@pytest.fixture(params=["binance", "paper"])
async def journey_client(
    request: pytest.FixtureRequest,
    settings: Settings,
    binance_stub: BinanceStub,
    outbox: OutboxMailer,
) -> AsyncIterator[httpx.AsyncClient]:
    binance_stub.add_account(API_KEY, API_SECRET)
    binance_stub.set_klines("BTCUSDT", "spot", hourly_klines(CANDLE_DAYS * 24))
    container = exchange_container(settings, binance_stub, request.param)
    container.mailer.override(outbox)
    transport = httpx.ASGITransport(app=create_app(container), client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await close_container(container)


class Steps:
    """The journey's requests; every 4xx/5xx body is kept for the check."""

    def __init__(self, client: httpx.AsyncClient, journey: Journey) -> None:
        self.client = client
        self.journey = journey
        self.headers: dict[str, str] = {}

    async def send(self, method: str, path: str, expect: int, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("headers", self.headers)
        response = await self.client.request(method, path, **kwargs)
        if response.status_code >= 400:
            self.journey.error_bodies.append(
                f"{method} {path} {response.status_code}: {response.text}"
            )
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response

    async def login(self, password: str, name: str) -> None:
        response = await self.send(
            "POST",
            "/api/v1/auth/login",
            200,
            json={"email": EMAIL, "password": password, "remember_me": True},
            headers={},
        )
        token = response.json()["access_token"]
        self.journey.keep_token(name, token)
        self.headers = {"Authorization": f"Bearer {token}"}


async def walk(client: httpx.AsyncClient, outbox: OutboxMailer, settings: Settings) -> Journey:
    """Register, log in, reset the password, store a key, read the balance, run a bot,
    record a trade, backtest; with wrong passwords, tokens and secrets along the way."""
    journey = Journey()
    journey.keep("password", PASSWORD)
    journey.keep("new password", NEW_PASSWORD)
    journey.keep("API key", API_KEY)
    journey.keep("API secret", API_SECRET)
    assert settings.jwt_secret is not None
    journey.keep("JWT signing secret", settings.jwt_secret)
    journey.keep("Fernet key", settings.fernet_keys[0])
    steps = Steps(client, journey)
    auth = "/api/v1/auth"

    weak = "short-but-secret"
    journey.keep("refused password", weak)
    await steps.send("POST", f"{auth}/register", 400, json={"email": EMAIL, "password": weak})
    await steps.send("POST", f"{auth}/register", 201, json={"email": EMAIL, "password": PASSWORD})
    await steps.send(
        "POST", f"{auth}/login", 401, json={"email": EMAIL, "password": PASSWORD + "x"}
    )
    await steps.login(PASSWORD, "first access token")
    old_headers = steps.headers
    await steps.send("GET", f"{auth}/me", 200)
    forged = steps.headers["Authorization"][:-4] + "AAAA"
    journey.keep("forged access token", forged.removeprefix("Bearer "))
    await steps.send("GET", f"{auth}/me", 401, headers={"Authorization": forged})

    await steps.send("POST", f"{auth}/forgot-password", 200, json={"email": EMAIL})
    match = RESET_TOKEN.search(outbox.outbox[-1].body)
    assert match is not None, outbox.outbox[-1].body
    reset_token = match.group(1)
    journey.keep("reset token", reset_token)
    wrong_token = reset_token[::-1]
    journey.keep("wrong reset token", wrong_token)
    await steps.send(
        "POST",
        f"{auth}/reset-password",
        400,
        json={"token": wrong_token, "new_password": NEW_PASSWORD},
    )
    reset = {"token": reset_token, "new_password": NEW_PASSWORD}
    await steps.send("POST", f"{auth}/reset-password", 200, json=reset)
    await steps.send("POST", f"{auth}/reset-password", 400, json=reset)
    await steps.send("GET", f"{auth}/me", 401, headers=old_headers)
    await steps.login(NEW_PASSWORD, "second access token")

    keys = "/api/v1/api-keys/"
    # Refused by both: a key the stub does not know, a secret paper does not accept.
    wrong_secret = "Wrong-Secret-0123456789abcdef"
    journey.keep("refused API secret", wrong_secret)
    await steps.send("POST", keys, 400, json={"api_key": API_KEY + "Z", "secret_key": wrong_secret})
    created = await steps.send(
        "POST", keys, 201, json={"api_key": API_KEY, "secret_key": API_SECRET, "label": "main"}
    )
    await steps.send(
        "POST", keys, 400, json={"api_key": API_KEY, "secret_key": API_SECRET, "label": "again"}
    )
    await steps.send("GET", f"{keys}me", 200)
    await steps.send("GET", f"{keys}balance", 200)

    bot = await steps.send(
        "POST",
        "/api/v1/bot-configs/",
        201,
        json={"name": "BTC bot", "symbol": "BTCUSDT", "api_key_id": created.json()["id"]},
    )
    bot_id = bot.json()["id"]
    await steps.send("POST", f"/api/v1/bot-configs/{bot_id}/start", 200)
    await steps.send(
        "POST",
        "/api/v1/trades/",
        201,
        json=trade_body(bot_id),
    )
    backtest = await steps.send(
        "POST", "/api/v1/backtest/run", 200, json=backtest_request(CANDLE_DAYS)
    )
    await steps.send("GET", f"/api/v1/backtest/detail/{backtest.json()['data']['id']}", 200)
    await steps.send("DELETE", f"{keys}me", 204)
    await steps.send("GET", f"{keys}balance", 404)
    return journey


async def test_no_secret_reaches_a_log_record_or_an_error_body(
    every_logger_at_debug: pytest.LogCaptureFixture,
    journey_client: httpx.AsyncClient,
    outbox: OutboxMailer,
    settings: Settings,
) -> None:
    journey = await walk(journey_client, outbox, settings)

    records = every_logger_at_debug.records
    assert records, "nothing was logged: the capture is broken"
    assert not [r for r in records if r.name == MAIL_LOGGER]
    found = leaks(records, journey.secrets)
    assert not found, "\n".join(found)
    in_bodies = [
        f"{name} in {body[:200]!r}"
        for body in journey.error_bodies
        for name, secret in journey.secrets.items()
        if secret in body
    ]
    assert not in_bodies, "\n".join(in_bodies)
    assert len(journey.error_bodies) >= 8


async def test_without_smtp_only_the_logging_mailer_shows_the_reset_token(
    settings: Settings,
    binance_stub: BinanceStub,
    every_logger_at_debug: pytest.LogCaptureFixture,
) -> None:
    assert settings.smtp_host is None
    container = exchange_container(settings, binance_stub, "paper")
    transport = httpx.ASGITransport(app=create_app(container), client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        register = {"email": EMAIL, "password": PASSWORD}
        assert (await client.post("/api/v1/auth/register", json=register)).status_code == 201
        forgot = await client.post("/api/v1/auth/forgot-password", json={"email": EMAIL})
        assert forgot.status_code == 200
        await container.mailer().drain()
        mails = [r for r in every_logger_at_debug.records if r.name == MAIL_LOGGER]
        assert len(mails) == 1
        match = RESET_TOKEN.search(mails[0].getMessage())
        assert match is not None, mails[0].getMessage()
        token = match.group(1)
        reset = {"token": token, "new_password": NEW_PASSWORD}
        assert (await client.post("/api/v1/auth/reset-password", json=reset)).status_code == 200
    await close_container(container)

    showing = {r.name for r in every_logger_at_debug.records if token in record_text(r)}
    assert showing == {MAIL_LOGGER}
