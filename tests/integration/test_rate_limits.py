"""Brute-force limits of the seed, in memory and in a real Redis, and Redis outages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
from redis.asyncio import Redis

from adapters.security.argon2_hasher import fast_test_hasher
from application.auth.login import LoginCommand
from domain.errors import RateLimited
from domain.users.errors import IncorrectCredentials
from entrypoints.container import Container, build_container, close_container
from entrypoints.settings import Settings
from tests.integration.app_under_test import asgi_client
from tests.integration.bots_api import add_api_key, create_bot, sign_up
from tests.support.fakes import FakeExchange, OutboxMailer
from tests.support.servers import RedisServer

PASSWORD = "Correct-Horse-9-Battery"


def limited_container(settings: Settings, redis_url: str | None) -> Container:
    """The production container with the real rate limiter (Redis or memory)."""
    container = build_container(msgspec.structs.replace(settings, redis_url=redis_url))
    container.password_hasher.override(fast_test_hasher())
    container.mailer.override(OutboxMailer())
    container.exchange.override(FakeExchange())
    return container


@pytest.fixture
async def redis_container(
    settings: Settings, redis_server: RedisServer
) -> AsyncIterator[Container]:
    redis = Redis.from_url(redis_server.url)
    await redis.flushall()
    await redis.aclose()
    container = limited_container(settings, redis_server.url)
    yield container
    await close_container(container)


async def attempt_login(client: httpx.AsyncClient, email: str = "a@example.com") -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})


def assert_too_many(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 3600
    body = response.json()
    assert body["code"] == 429 and body["error"] == "Too many requests"


@pytest.fixture(params=["memory", "redis"])
async def any_limited_container(
    request: pytest.FixtureRequest, settings: Settings
) -> AsyncIterator[Container]:
    """The real limiter on each storage: in-process (embedded default) and Redis."""
    redis_url = None
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        redis = Redis.from_url(server.url)
        await redis.flushall()
        await redis.aclose()
        redis_url = server.url
    container = limited_container(settings, redis_url)
    yield container
    await close_container(container)


async def test_sixth_login_in_a_minute_from_one_ip_gets_429(
    any_limited_container: Container,
) -> None:
    async with asgi_client(any_limited_container) as client:
        for i in range(5):
            assert (await attempt_login(client, f"user{i}@example.com")).status_code == 401
        assert_too_many(await attempt_login(client, "user9@example.com"))


async def test_eleventh_login_in_an_hour_for_one_email_gets_429_from_any_ip(
    redis_container: Container,
) -> None:
    for i in range(10):
        with pytest.raises(IncorrectCredentials):
            await redis_container.login().execute(
                LoginCommand(email="Target@example.com", password=PASSWORD, client_ip=f"10.0.0.{i}")
            )
    with pytest.raises(RateLimited) as caught:
        await redis_container.login().execute(
            LoginCommand(email="target@example.com", password=PASSWORD, client_ip="10.0.1.1")
        )
    assert caught.value.retry_after_seconds > 60


async def test_fourth_reset_mail_in_an_hour_for_one_email_gets_429(
    redis_container: Container,
) -> None:
    async with asgi_client(redis_container) as client:
        for _ in range(3):
            response = await client.post(
                "/api/v1/auth/forgot-password", json={"email": "someone@example.com"}
            )
            assert response.status_code == 200
        assert_too_many(
            await client.post("/api/v1/auth/forgot-password", json={"email": "someone@example.com"})
        )


async def test_requests_pass_while_redis_is_down_and_limits_resume_after(
    redis_container: Container, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with asgi_client(redis_container) as client:
        assert (await attempt_login(client)).status_code == 401
        redis_server.stop()
        try:
            with caplog.at_level(logging.WARNING, logger="tradebot.rate_limit"):
                for i in range(8):
                    assert (await attempt_login(client, f"u{i}@example.com")).status_code == 401
            assert any("unavailable" in r.getMessage() for r in caplog.records)
            assert (await client.get("/health/ready")).status_code == 503
        finally:
            redis_server.start()
        statuses = [
            (await attempt_login(client, f"v{i}@example.com")).status_code for i in range(8)
        ]
        assert 429 in statuses
        assert set(statuses) <= {401, 429}
        assert (await client.get("/health/ready")).status_code == 200


@pytest.fixture(params=["memory", "redis"])
async def storage_redis_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "memory":
        return None
    server: RedisServer = request.getfixturevalue("redis_server")
    redis = Redis.from_url(server.url)
    await redis.flushall()
    await redis.aclose()
    return server.url


async def test_a_user_past_the_per_user_limit_gets_429_while_another_user_is_served(
    settings: Settings, storage_redis_url: str | None
) -> None:
    container = limited_container(
        msgspec.structs.replace(settings, rate_limit_per_user="5/minute"), storage_redis_url
    )
    try:
        async with asgi_client(container) as client:
            alice = await sign_up(client, "alice@example.com")
            bob = await sign_up(client, "bob@example.com")
            for _ in range(5):
                assert (await client.get("/api/v1/bot-configs/", headers=alice)).status_code == 200
            assert_too_many(await client.get("/api/v1/auth/me", headers=alice))
            assert_too_many(await client.get("/api/v1/trades/", headers=alice))
            assert (
                int((await client.get("/api/v1/trades/", headers=alice)).headers["retry-after"])
                <= 60
            )
            assert (await client.get("/api/v1/bot-configs/", headers=bob)).status_code == 200
    finally:
        await close_container(container)


async def test_two_api_processes_sharing_redis_count_a_user_once(
    settings: Settings, redis_server: RedisServer
) -> None:
    redis = Redis.from_url(redis_server.url)
    await redis.flushall()
    await redis.aclose()
    limited = msgspec.structs.replace(settings, rate_limit_per_user="6/minute")
    first = limited_container(limited, redis_server.url)
    second = limited_container(limited, redis_server.url)
    try:
        async with asgi_client(first) as one, asgi_client(second) as two:
            alice = await sign_up(one, "alice@example.com")
            statuses = []
            for i in range(8):
                client = one if i % 2 == 0 else two
                statuses.append((await client.get("/api/v1/auth/me", headers=alice)).status_code)
            assert statuses == [200] * 6 + [429] * 2
    finally:
        await close_container(first)
        await close_container(second)


async def test_unauthenticated_routes_are_limited_per_ip_but_health_never_is(
    settings: Settings, storage_redis_url: str | None
) -> None:
    container = limited_container(
        msgspec.structs.replace(settings, rate_limit_per_ip="4/minute"), storage_redis_url
    )
    try:
        async with asgi_client(container) as client:
            for _ in range(4):
                assert (await client.get("/schema/openapi.json")).status_code == 200
            assert_too_many(await client.get("/schema/openapi.json"))
            assert_too_many(
                await client.post(
                    "/api/v1/auth/register", json={"email": "c@example.com", "password": PASSWORD}
                )
            )
            for _ in range(10):
                assert (await client.get("/health")).status_code == 200
                assert (await client.get("/health/ready")).status_code == 200
            async with asgi_client(container, client_host="10.9.8.7") as elsewhere:
                assert (await elsewhere.get("/schema/openapi.json")).status_code == 200
    finally:
        await close_container(container)


async def test_general_limits_set_to_off_never_refuse_and_auth_limits_can_be_switched_off(
    settings: Settings,
) -> None:
    container = limited_container(
        msgspec.structs.replace(
            settings, rate_limit_per_user="off", rate_limit_per_ip="off", auth_rate_limits=False
        ),
        None,
    )
    try:
        async with asgi_client(container) as client:
            for i in range(12):
                assert (await attempt_login(client, f"flood{i}@example.com")).status_code == 401
    finally:
        await close_container(container)


async def test_bots_and_their_events_keep_working_while_redis_is_down(
    redis_container: Container, redis_server: RedisServer
) -> None:
    """Redis carries the limits, events and stream tickets: while it is down the API
    still serves everything else (events are dropped, logged), and tickets are a 503."""
    exchange = FakeExchange()
    redis_container.exchange.override(exchange)
    async with asgi_client(redis_container) as client:
        headers = await sign_up(client, "alice@example.com")
        key_id = await add_api_key(client, exchange, headers)
        redis_server.stop()
        try:
            bot = await create_bot(client, headers, api_key_id=key_id)
            listed = await client.get("/api/v1/bot-configs/", headers=headers)
            started = await client.post(f"/api/v1/bot-configs/{bot['id']}/start", headers=headers)
            stopped = await client.post(f"/api/v1/bot-configs/{bot['id']}/stop", headers=headers)
            ticket = await client.post("/api/v1/auth/stream-ticket", headers=headers)
            assert (listed.status_code, started.status_code, stopped.status_code) == (200,) * 3
            assert ticket.status_code == 503
            assert ticket.json()["error"] == "Stream tickets unavailable (Redis unreachable)"
        finally:
            redis_server.start()
        assert (await client.post("/api/v1/auth/stream-ticket", headers=headers)).status_code == 201
