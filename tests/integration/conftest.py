from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet
from litestar import Litestar

from entrypoints.container import Container, close_container
from entrypoints.http.app import create_app
from entrypoints.migrations import upgrade
from entrypoints.settings import Settings
from tests.integration.app_under_test import overridden_container
from tests.support.environment import unavailable
from tests.support.fakes import FakeExchange, OutboxMailer
from tests.support.servers import PostgresServer, RedisServer, ServerUnavailable

TEST_JWT_SECRET = "integration-test-secret-" + "x" * 24


@contextmanager
def started_postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster on a free loopback port, destroyed afterwards."""
    try:
        server = PostgresServer()
    except ServerUnavailable as exc:
        unavailable(str(exc))
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with started_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    try:
        server = RedisServer()
    except ServerUnavailable as exc:
        unavailable(str(exc))
    server.start()
    yield server
    server.stop()


def create_postgres_database(server: PostgresServer) -> str:
    name = f"tradebot_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        connection = await asyncpg.connect(server.admin_dsn)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    return server.url(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend the product supports."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/tradebot.db"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return create_postgres_database(server)


@pytest.fixture
def migrated_database_url(database_url: str) -> str:
    upgrade(database_url)
    return database_url


@pytest.fixture
def settings(migrated_database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=migrated_database_url,
        jwt_secret=TEST_JWT_SECRET,
        fernet_keys=(Fernet.generate_key().decode(),),
        data_dir=str(tmp_path / "data"),
    )


@pytest.fixture
def exchange() -> FakeExchange:
    return FakeExchange()


@pytest.fixture
def outbox() -> OutboxMailer:
    return OutboxMailer()


@pytest.fixture
def container(
    settings: Settings, outbox: OutboxMailer, exchange: FakeExchange
) -> Iterator[Container]:
    """The production container with cheap hashing, no rate limits, a mail outbox and
    an in-memory exchange.

    Tests that are about rate limits or SMTP build their own overrides.
    """
    container = overridden_container(settings, exchange, outbox)
    yield container
    container.unwire()


@pytest.fixture
def app(container: Container) -> Litestar:
    return create_app(container)


@pytest.fixture
async def client(app: Litestar, container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """The real ASGI app in the test's own event loop.

    Litestar's AsyncTestClient runs the app on a portal thread with its own
    loop; pooled asyncpg connections cannot cross loops, and tests here also
    call use cases from the container directly.
    """
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await close_container(container)
