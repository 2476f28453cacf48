"""Password reset end to end: the production mailer sends through a real local SMTP sink.

Only hashing and rate limits are overridden; the SmtpMailer wrapped in the
BackgroundMailer delivers to an aiosmtpd server on a free loopback port. The last
test (two redemptions at once) needs concurrent requests in one event loop, so it
uses the shared in-loop `client` and the mail outbox instead.
"""

from __future__ import annotations

import asyncio
import email
import re
import statistics
import threading
import time
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import msgspec
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.rate_limit.limits_rate_limiter import DisabledRateLimiter
from adapters.security.argon2_hasher import Argon2PasswordHasher, fast_test_hasher
from entrypoints.container import Container, build_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.support.fakes import OutboxMailer
from tests.support.servers import free_port

SENDER = "noreply@tradebot.test"
EMAIL = "trader@example.com"
PASSWORD = "Correct-Horse-9-Battery"
NEW_PASSWORD = "Brand-New-Secret-42!"
Received = tuple[Envelope, EmailMessage]
RESET_LINK = re.compile(r"http://127\.0\.0\.1:8000/reset-password\?token=\S+")
TOKEN_LINE = re.compile(r"reset token: (\S+)")


class RecordingHandler:
    """aiosmtpd handler that keeps every accepted message."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[Received] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self._messages.append((envelope, parsed))
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[Received]:
        with self._lock:
            return list(self._messages)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return self.messages
            await asyncio.sleep(0.05)
        raise AssertionError(
            f"the SMTP sink got {len(self.messages)} message(s) in {timeout} s, expected {count}"
        )


@pytest.fixture
def smtp_sink() -> Iterator[tuple[RecordingHandler, int]]:
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
async def smtp_client(
    settings: Settings, smtp_sink: tuple[RecordingHandler, int]
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    _, port = smtp_sink
    smtp_settings = msgspec.structs.replace(
        settings, smtp_host="127.0.0.1", smtp_port=port, smtp_from=SENDER
    )
    container = build_container(smtp_settings)
    container.password_hasher.override(fast_test_hasher())
    container.rate_limiter.override(DisabledRateLimiter())
    async with AsyncTestClient(app=create_app(container)) as client:
        yield client


@pytest.fixture
def sink(smtp_sink: tuple[RecordingHandler, int]) -> RecordingHandler:
    return smtp_sink[0]


async def register(client: AsyncTestClient[Litestar], address: str, password: str) -> None:
    response = await client.post(
        "/api/v1/auth/register", json={"email": address, "password": password}
    )
    assert response.status_code == 201, response.text


async def login(client: AsyncTestClient[Litestar], address: str, password: str) -> Any:
    return await client.post("/api/v1/auth/login", json={"email": address, "password": password})


async def me(client: AsyncTestClient[Litestar], token: str) -> Any:
    return await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


async def test_a_mailed_reset_token_sets_a_new_password_once_and_revokes_older_tokens(
    smtp_client: AsyncTestClient[Litestar], sink: RecordingHandler
) -> None:
    await register(smtp_client, EMAIL, PASSWORD)
    first_login = await login(smtp_client, EMAIL, PASSWORD)
    assert first_login.status_code == 200
    token_a = first_login.json()["access_token"]

    forgot = await smtp_client.post("/api/v1/auth/forgot-password", json={"email": EMAIL})
    assert forgot.status_code == 200

    [(envelope, mail)] = await sink.wait_for(1)
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == [EMAIL]
    assert mail["To"] == EMAIL
    assert mail["From"] == SENDER
    assert mail["Subject"] == "Reset your TradeBot password"
    body = mail.get_content()
    links = RESET_LINK.findall(body)
    assert len(links) == 1, body
    [link_token] = parse_qs(urlsplit(links[0]).query)["token"]
    token_match = TOKEN_LINE.search(body)
    assert token_match is not None, body
    reset_token = token_match.group(1)
    assert reset_token == link_token

    reset = await smtp_client.post(
        "/api/v1/auth/reset-password", json={"token": reset_token, "new_password": NEW_PASSWORD}
    )
    assert reset.status_code == 200, reset.text

    assert (await login(smtp_client, EMAIL, PASSWORD)).status_code == 401
    new_login = await login(smtp_client, EMAIL, NEW_PASSWORD)
    assert new_login.status_code == 200
    assert (await me(smtp_client, token_a)).status_code == 401
    fresh = await me(smtp_client, new_login.json()["access_token"])
    assert fresh.status_code == 200
    assert fresh.json()["email"] == EMAIL

    reused = await smtp_client.post(
        "/api/v1/auth/reset-password",
        json={"token": reset_token, "new_password": "Another-Secret-77?"},
    )
    assert reused.status_code == 400
    envelope_body = reused.json()
    assert set(envelope_body) == {"error", "code", "details"}
    assert envelope_body["code"] == 400
    assert envelope_body["error"]
    assert (await login(smtp_client, EMAIL, NEW_PASSWORD)).status_code == 200


async def test_forgot_password_answers_an_unknown_email_identically_and_mails_nobody(
    smtp_client: AsyncTestClient[Litestar], sink: RecordingHandler
) -> None:
    await register(smtp_client, EMAIL, PASSWORD)

    unknown = await smtp_client.post(
        "/api/v1/auth/forgot-password", json={"email": "nobody@example.com"}
    )
    await asyncio.sleep(1.0)
    assert sink.messages == []

    known = await smtp_client.post("/api/v1/auth/forgot-password", json={"email": EMAIL})
    assert unknown.status_code == known.status_code == 200
    assert unknown.content == known.content
    assert unknown.headers["content-type"] == known.headers["content-type"]

    # The sink does receive mail for the registered address, so the silence above means something.
    [(envelope, _)] = await sink.wait_for(1)
    assert envelope.rcpt_tos == [EMAIL]
    await asyncio.sleep(0.5)
    assert len(sink.messages) == 1


async def test_forgot_password_takes_about_as_long_for_known_and_unknown_emails(
    smtp_client: AsyncTestClient[Litestar], sink: RecordingHandler
) -> None:
    await register(smtp_client, EMAIL, PASSWORD)

    async def timed(address: str) -> float:
        started = time.perf_counter()
        response = await smtp_client.post("/api/v1/auth/forgot-password", json={"email": address})
        elapsed = time.perf_counter() - started
        assert response.status_code == 200
        return elapsed

    # Warm both paths up (connection pool, first SMTP connection) before measuring.
    await timed(EMAIL)
    await timed("nobody@example.com")
    known: list[float] = []
    unknown: list[float] = []
    for _ in range(5):
        known.append(await timed(EMAIL))
        unknown.append(await timed("nobody@example.com"))

    difference = abs(statistics.mean(known) - statistics.mean(unknown))
    assert difference < 0.1, f"known {known}, unknown {unknown}"
    await sink.wait_for(6)


class RendezvousHasher:
    """Holds each hash() until `parties` callers are hashing, then lets them all go on.

    Two resets with the same token then enter their final transaction together, the
    way two requests racing on one mailed link do.
    """

    def __init__(self, inner: Argon2PasswordHasher, parties: int) -> None:
        self._inner = inner
        self._barrier = asyncio.Barrier(parties)

    async def hash(self, password: str) -> str:
        hashed = await self._inner.hash(password)
        await asyncio.wait_for(self._barrier.wait(), timeout=10)
        return hashed

    async def verify(self, password_hash: str, password: str) -> bool:
        return await self._inner.verify(password_hash, password)

    async def burn(self, password: str) -> None:
        await self._inner.burn(password)


async def test_a_reset_token_redeemed_twice_at_the_same_time_works_only_once(
    client: httpx.AsyncClient, container: Container, outbox: OutboxMailer
) -> None:
    await client.post("/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD})
    forgot = await client.post("/api/v1/auth/forgot-password", json={"email": EMAIL})
    assert forgot.status_code == 200
    [mail] = outbox.outbox
    token_match = TOKEN_LINE.search(mail.body)
    assert token_match is not None, mail.body
    reset_token = token_match.group(1)
    container.password_hasher.override(RendezvousHasher(fast_test_hasher(), parties=2))

    responses = await asyncio.gather(
        *(
            client.post(
                "/api/v1/auth/reset-password",
                json={"token": reset_token, "new_password": password},
            )
            for password in (NEW_PASSWORD, "Another-Secret-77?")
        )
    )

    assert sorted(response.status_code for response in responses) == [200, 400]
