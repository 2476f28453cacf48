"""Database faults through the HTTP API, each against the real thing.

- PostgreSQL stopped and started again (`pg_ctl -m fast`) while requests flow.
- SQLite on a full disk: a real tmpfs filled to the last block (ENOSPC → SQLITE_FULL).
- SQLite on a file that cannot be written: a read-only bind mount (EROFS → SQLITE_READONLY).

Every fault answers a 503 error envelope saying what is wrong, within a bounded time,
never a 500 or a hung request, and never with SQL in the body; the data written before
stays readable, and the service recovers once the fault is gone, without a restart.

The SQLite faults need `mount` (root with CAP_SYS_ADMIN, as in this project's dev
containers and CI); where mounting is not permitted they are skipped, saying so, or fail
under `make test` and CI, which must run them.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from adapters.persistence.engine import create_engine
from entrypoints.container import close_container
from entrypoints.http.database_errors import database_fault
from entrypoints.migrations import upgrade
from entrypoints.settings import Settings
from tests.integration.app_under_test import asgi_client, overridden_container
from tests.integration.bots_api import BOT_CONFIGS, PASSWORD, create_bot, sign_up
from tests.integration.conftest import (
    TEST_JWT_SECRET,
    create_postgres_database,
    started_postgres,
)
from tests.support.environment import unavailable
from tests.support.servers import PostgresServer

# No fault may hold a request longer than this (the readiness probe's limit is 2 s,
# the PostgreSQL connect timeout 5 s; a refused connection fails in milliseconds).
REQUEST_DEADLINE = 5.0
# Connections the app holds before the restart: every one of them is stale after it.
POOLED_CONNECTIONS = 6
DATABASE_LOGGER = "tradebot.http"
BOT_CONFIGS_PATH = BOT_CONFIGS.rstrip("/")  # as the log names it
TMPFS_BYTES = 4 * 1024 * 1024  # the migrated database takes ~200 KB of it


# ---------------------------------------------------------------- helpers


def fault_settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        jwt_secret=TEST_JWT_SECRET,
        fernet_keys=(Fernet.generate_key().decode(),),
        data_dir=str(tmp_path / "data"),
    )


async def timed(request: Awaitable[httpx.Response]) -> tuple[float, httpx.Response]:
    """The response and how long it took; a request that hangs fails the test."""
    started = time.monotonic()
    response = await asyncio.wait_for(request, REQUEST_DEADLINE)
    return time.monotonic() - started, response


def assert_database_503(response: httpx.Response, message: str) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == {"error": message, "code": 503, "details": None}
    for leak in ("SELECT", "INSERT", "UPDATE", "sqlalchemy", "Traceback", "[parameters"):
        assert leak not in response.text


def assert_logged(caplog: pytest.LogCaptureFixture, *words: str) -> None:
    """One ERROR line names the cause; none carries the SQL or a traceback."""
    errors = [r for r in caplog.records if r.name == DATABASE_LOGGER and r.levelno == logging.ERROR]
    assert any(all(w in r.getMessage() for w in words) for r in errors), [
        r.getMessage() for r in errors
    ]
    assert all(r.exc_info is None and "SELECT" not in r.getMessage() for r in errors)


async def assert_bot_write_refused(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    message: str,
    cause: str,
) -> None:
    """Creating a bot is a 503 with `message`, in time, logged at ERROR naming `cause`."""
    caplog.set_level(logging.ERROR, logger=DATABASE_LOGGER)
    elapsed, write = await timed(
        client.post(BOT_CONFIGS, json={"name": "refused", "symbol": "BTCUSDT"}, headers=headers)
    )
    assert_database_503(write, message)
    assert elapsed < REQUEST_DEADLINE
    assert_logged(caplog, message, cause, BOT_CONFIGS_PATH)


async def bot_names(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    response = await client.get(BOT_CONFIGS, headers=headers)
    assert response.status_code == 200, response.text
    return [bot["name"] for bot in response.json()]


@contextmanager
def mounted(*arguments: str, target: Path) -> Iterator[None]:
    """`mount ARGUMENTS TARGET` for the block; skipped where mounting is not permitted."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        unavailable("simulating this fault needs `mount` as root")
    result = subprocess.run(
        ["mount", *arguments, str(target)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        unavailable(f"mount is not permitted here: {result.stderr.strip()}")
    try:
        yield
    finally:
        if subprocess.run(["umount", str(target)], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgresServer]:
    """A cluster of this module's own, not the session's: these tests stop it."""
    with started_postgres() as server:
        yield server


@pytest.fixture
def own_postgres_url(own_postgres: PostgresServer) -> str:
    """A fresh, migrated database on the module's own server."""
    url = create_postgres_database(own_postgres)
    upgrade(url)
    return url


@pytest.fixture
async def postgres_app(
    own_postgres_url: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """A user with one bot, and several connections in the app's pool."""
    url = own_postgres_url
    container = overridden_container(fault_settings(url, tmp_path))
    try:
        async with asgi_client(container) as client:
            headers = await sign_up(client, "restart@example.com")
            await create_bot(client, headers, name="before")
            # Hold several pooled connections: after the restart every one is stale.
            warm = [client.get(BOT_CONFIGS, headers=headers) for _ in range(POOLED_CONNECTIONS)]
            assert {r.status_code for r in await asyncio.gather(*warm)} == {200}
            yield client, headers
    finally:
        await close_container(container)


class RequestFlow:
    """Authenticated reads, one after another, until stopped; every response is kept."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self._client = client
        self._headers = headers
        self._stop = asyncio.Event()
        self.responses: list[tuple[float, httpx.Response]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> list[tuple[float, httpx.Response]]:
        self._stop.set()
        assert self._task is not None
        await self._task
        return self.responses

    async def _run(self) -> None:
        paths = ("/api/v1/auth/me", BOT_CONFIGS)
        i = 0
        while not self._stop.is_set():
            path = paths[i % len(paths)]
            i += 1
            self.responses.append(await timed(self._client.get(path, headers=self._headers)))
            await asyncio.sleep(0.01)


async def wait_until_ready(client: httpx.AsyncClient, attempts: int = 50) -> httpx.Response:
    """Readiness is the one place that may ask again while the server comes back."""
    for _ in range(attempts):
        _, response = await timed(client.get("/health/ready"))
        if response.status_code == 200:
            return response
        await asyncio.sleep(0.1)
    raise AssertionError(f"not ready after {attempts} attempts: {response.text}")


@pytest.mark.postgres
async def test_postgres_restart_while_requests_flow(
    postgres_app: tuple[httpx.AsyncClient, dict[str, str]],
    own_postgres: PostgresServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, headers = postgres_app
    flow = RequestFlow(client, headers)
    flow.start()
    await asyncio.sleep(0.2)
    caplog.set_level(logging.ERROR, logger=DATABASE_LOGGER)
    try:
        # `fast`: a clean shutdown that terminates every session, as on a restart.
        await asyncio.to_thread(own_postgres.stop, "fast")

        elapsed, ready = await timed(client.get("/health/ready"))
        assert ready.status_code == 503, ready.text
        body = ready.json()
        assert body["error"] == "Service not ready" and body["code"] == 503
        assert body["details"]["database"].startswith("unavailable")
        assert elapsed < REQUEST_DEADLINE

        for path in ("/api/v1/auth/me", BOT_CONFIGS):
            _, response = await timed(client.get(path, headers=headers))
            assert_database_503(response, "Database unavailable")
        _, write = await timed(
            client.post(BOT_CONFIGS, json={"name": "lost", "symbol": "BTCUSDT"}, headers=headers)
        )
        assert_database_503(write, "Database unavailable")
        await asyncio.sleep(0.2)
    finally:
        during = await flow.stop()
        await asyncio.to_thread(own_postgres.start)

    assert_logged(caplog, "Database unavailable", "/api/v1/")
    statuses = [response.status_code for _, response in during]
    assert 200 in statuses and 503 in statuses, statuses
    for _, response in during:
        if response.status_code != 200:
            assert_database_503(response, "Database unavailable")

    assert (await wait_until_ready(client)).json()["checks"]["database"] == "ok"
    # From here on, first time every time: stale pooled connections are replaced unseen.
    caplog.clear()
    mine = await asyncio.gather(
        *(client.get("/api/v1/auth/me", headers=headers) for _ in range(POOLED_CONNECTIONS))
    )
    assert [r.status_code for r in mine] == [200] * POOLED_CONNECTIONS
    await create_bot(client, headers, name="after")
    assert await bot_names(client, headers) == ["before", "after"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.postgres
async def test_stale_pooled_connections_are_replaced_after_a_quick_restart(
    postgres_app: tuple[httpx.AsyncClient, dict[str, str]], own_postgres: PostgresServer
) -> None:
    """No request sees the outage: the pool still holds only dead connections when the
    first requests after the restart arrive. Each must succeed at the first attempt
    (`pool_pre_ping` replaces a dead connection at checkout)."""
    client, headers = postgres_app
    await asyncio.to_thread(own_postgres.stop, "fast")
    await asyncio.to_thread(own_postgres.start)
    first = await asyncio.gather(
        *(client.get("/api/v1/auth/me", headers=headers) for _ in range(POOLED_CONNECTIONS))
    )
    assert [r.status_code for r in first] == [200] * POOLED_CONNECTIONS, [r.text for r in first]
    assert await bot_names(client, headers) == ["before"]


async def terminate_other_sessions(server: PostgresServer, database: str) -> int:
    admin = await asyncpg.connect(server.admin_dsn)
    try:
        terminated = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await admin.close()
    return len(terminated)


@pytest.mark.postgres
async def test_pooled_sessions_the_server_terminated_are_replaced_at_checkout(
    postgres_app: tuple[httpx.AsyncClient, dict[str, str]],
    own_postgres: PostgresServer,
    own_postgres_url: str,
) -> None:
    """An administrator (or an idle-session timeout) ends the app's idle sessions, and
    requests follow at once, before the app may have read the server's goodbye: the
    pool hands out none of the dead sessions."""
    client, headers = postgres_app
    database = own_postgres_url.rsplit("/", 1)[1]
    assert await terminate_other_sessions(own_postgres, database) >= POOLED_CONNECTIONS

    first = await asyncio.gather(
        *(client.get("/api/v1/auth/me", headers=headers) for _ in range(POOLED_CONNECTIONS))
    )
    assert [r.status_code for r in first] == [200] * POOLED_CONNECTIONS, [r.text for r in first]
    assert await bot_names(client, headers) == ["before"]


@pytest.mark.postgres
async def test_a_query_cut_off_mid_flight_is_an_outage_and_a_bad_query_is_a_bug(
    own_postgres: PostgresServer, own_postgres_url: str
) -> None:
    """What the 503 handler decides from, on the real driver errors: a session the server
    terminates in the middle of a query (57P01, as a restart does to a running request)
    is an outage; a query that cannot run is not, and stays a 500."""
    engine = create_engine(own_postgres_url)
    try:
        async with engine.connect() as victim:
            pid = await victim.scalar(text("SELECT pg_backend_pid()"))

            async def terminate() -> None:
                await asyncio.sleep(0.2)
                admin = await asyncpg.connect(own_postgres.admin_dsn)
                try:
                    await admin.execute("SELECT pg_terminate_backend($1)", pid)
                finally:
                    await admin.close()

            killer = asyncio.create_task(terminate())
            with pytest.raises(DBAPIError) as cut_off:
                await asyncio.wait_for(victim.execute(text("SELECT pg_sleep(10)")), 5)
            await killer
        fault = database_fault(cut_off.value)
        assert fault is not None and fault.message == "Database unavailable", fault
        assert "SELECT" not in fault.cause

        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as bad_query:
                await connection.execute(text("SELECT * FROM no_such_table"))
        assert database_fault(bad_query.value) is None
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- SQLite


def write_until_it_fails(out: BinaryIO, block: bytes) -> None:
    while True:
        out.write(block)


def fill(directory: Path) -> Path:
    """Another file takes every free block of the file system, as a runaway log would."""
    filler = directory / "filler"
    block = b"\0" * 4096
    with (
        filler.open("wb", buffering=0) as out,
        pytest.raises(OSError, match="No space left") as full,
    ):
        write_until_it_fails(out, block)
    assert full.value.errno == errno.ENOSPC
    assert shutil.disk_usage(directory).free == 0
    return filler


async def test_a_full_disk_is_a_503_and_half_writes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite on a real, full file system: a 4 MiB tmpfs that another file fills up.

    The kernel answers the next write with ENOSPC and SQLite reports SQLITE_FULL
    ("database or disk is full") — the same path as a full production disk, which
    `PRAGMA max_page_count` would only imitate inside SQLite. The WAL is truncated
    first (`wal_checkpoint(TRUNCATE)`): a WAL that still has room from earlier
    transactions is reused in place and the write would need no new block.
    """
    disk = tmp_path / "disk"
    disk.mkdir()
    with mounted("-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", target=disk):
        database = disk / "tradebot.db"
        url = f"sqlite+aiosqlite:///{database}"
        upgrade(url)
        container = overridden_container(fault_settings(url, tmp_path))
        try:
            async with asgi_client(container) as client:
                headers = await sign_up(client, "full@example.com")
                await create_bot(client, headers, name="before")
                bystander = sqlite3.connect(database)
                try:
                    busy, _, _ = bystander.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                finally:
                    bystander.close()
                assert busy == 0 and (disk / "tradebot.db-wal").stat().st_size == 0
                filler = fill(disk)

                await assert_bot_write_refused(
                    client, headers, caplog, "Database storage is full", "SQLITE_FULL"
                )
                registration = await client.post(
                    "/api/v1/auth/register", json={"email": "new@example.com", "password": PASSWORD}
                )
                assert_database_503(registration, "Database storage is full")

                # Reads go on while the disk is full.
                assert await bot_names(client, headers) == ["before"]
                assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200

                filler.unlink()
                await create_bot(client, headers, name="after")
                # The refused bot left nothing behind, the next one is whole.
                assert await bot_names(client, headers) == ["before", "after"]
        finally:
            await close_container(container)


async def test_a_read_only_database_file_refuses_writes_with_a_503(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite on a file the process cannot write: the file is bind-mounted read-only
    over itself (root ignores file modes, and `?mode=ro` would only ask SQLite to
    pretend). Opening it read-write fails with EROFS, so SQLite opens it read-only —
    as it does for a file without write permission — and every write fails with
    SQLITE_READONLY. The directory stays writable: SQLite keeps its -wal/-shm files
    beside the database, which it must create even to read a WAL database.

    A connection opened before the mount would keep writing through its open file, so
    the app starts on the read-only file (a restart, or a pool opening new connections).
    """
    database = tmp_path / "db" / "tradebot.db"
    url = f"sqlite+aiosqlite:///{database}"
    upgrade(url)
    settings = fault_settings(url, tmp_path)
    container = overridden_container(settings)
    try:
        async with asgi_client(container) as client:
            headers = await sign_up(client, "readonly@example.com")
            await create_bot(client, headers, name="before")
    finally:
        await close_container(container)

    with mounted("--bind", "-o", "ro", str(database), target=database):
        assert not os.access(database, os.W_OK)
        container = overridden_container(settings)
        try:
            async with asgi_client(container) as client:
                elapsed, ready = await timed(client.get("/health/ready"))
                assert ready.status_code == 503 and elapsed < REQUEST_DEADLINE
                assert ready.json()["details"]["database"] == "unavailable: DatabaseReadOnly"

                assert await bot_names(client, headers) == ["before"]
                assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200

                await assert_bot_write_refused(
                    client, headers, caplog, "Database is read-only", "SQLITE_READONLY"
                )
                assert await bot_names(client, headers) == ["before"]
        finally:
            await close_container(container)
