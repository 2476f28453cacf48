"""Auth hot paths, in process: the app's overhead per request against a bare Litestar app.

Requests go through the real ASGI app (httpx ASGITransport, no sockets), so
the numbers are the framework + our middleware, dependency injection, token
verification and database lookup, not the network. The bare app runs in the
same process and the same run, so the ratio is what to compare across
machines. The socket-level load test (wrk, several workers, PostgreSQL) is a
separate benchmark.
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from litestar import Litestar, get

from adapters.security.argon2_hasher import Argon2Cost, argon2_for
from adapters.security.jwt_codec import JwtAccessTokenCodec
from adapters.system_clock import SystemClock
from entrypoints.container import build_container, close_container
from entrypoints.http.app import create_app
from entrypoints.migrations import upgrade
from entrypoints.settings import Settings

DURATION_SECONDS = 3.0
CONCURRENCY = 16
PASSWORD = "Bench-Password-123"  # noqa: S105 - a throwaway benchmark account


@dataclass
class Row:
    name: str
    requests: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    ratio_to_bare: float | None = None


async def load(client: httpx.AsyncClient, name: str, method: str, path: str, **kwargs) -> Row:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + DURATION_SECONDS

    async def worker() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await client.request(method, path, **kwargs)
            latencies.append(time.perf_counter() - started)
            if response.status_code >= 400:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return Row(
        name=name,
        requests=len(ordered),
        requests_per_second=round(len(ordered) / elapsed, 1),
        p50_ms=round(statistics.median(ordered) * 1000, 2),
        p99_ms=round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
        errors=errors,
    )


def bare_app() -> Litestar:
    @get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar([ping], logging_config=None)


def client_for(app: Litestar) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://bench")


def micro(label: str, function, repeat: int) -> dict[str, float | str]:
    started = time.perf_counter()
    for _ in range(repeat):
        function()
    per_call = (time.perf_counter() - started) / repeat
    return {"name": label, "microseconds_per_call": round(per_call * 1e6, 2)}


async def run() -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="tradebot-bench-"))
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{workdir}/bench.db",
        jwt_secret="bench-secret-" + "b" * 40,
        fernet_keys=(Fernet.generate_key().decode(),),
        data_dir=str(workdir),
        # Counted on every request as in production, but out of reach of the load.
        rate_limit_per_user="100000000/minute",
        rate_limit_per_ip="100000000/minute",
    )
    await asyncio.to_thread(upgrade, settings.database_url)
    container = build_container(settings)
    rows: list[Row] = []
    async with client_for(bare_app()) as bare:
        rows.append(await load(bare, "bare Litestar GET /ping", "GET", "/ping"))
    async with client_for(create_app(container)) as client:
        await client.post("/api/v1/auth/register", json={"email": "b@x.io", "password": PASSWORD})
        login = await client.post(
            "/api/v1/auth/login", json={"email": "b@x.io", "password": PASSWORD}
        )
        token = login.json()["access_token"]
        rows.append(await load(client, "GET /health", "GET", "/health"))
        rows.append(
            await load(
                client,
                "GET /api/v1/auth/me (JWT + user lookup)",
                "GET",
                "/api/v1/auth/me",
                headers={"Authorization": f"Bearer {token}"},
            )
        )
    await close_container(container)
    ceiling = rows[0].requests_per_second
    for row in rows:
        row.ratio_to_bare = round(row.requests_per_second / ceiling, 3)

    secret = settings.jwt_secret or ""
    codec = JwtAccessTokenCodec(secret, SystemClock())
    sample = codec.issue(1, 0, timedelta(days=7))
    argon2 = argon2_for(Argon2Cost())  # the production parameters
    micros = [
        micro("JWT issue (HS256)", lambda: codec.issue(1, 0, timedelta(days=7)), 2000),
        micro(
            "JWT verify (HS256, first time)",
            lambda: JwtAccessTokenCodec(secret, SystemClock()).verify(sample),
            2000,
        ),
        micro("JWT verify (HS256, remembered)", lambda: codec.verify(sample), 2000),
        micro("argon2id hash (production parameters)", lambda: argon2.hash(PASSWORD), 10),
    ]
    return {
        "benchmark": "auth_http",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count()},
        "method": f"in-process ASGI, {CONCURRENCY} concurrent clients, {DURATION_SECONDS} s each",
        "http": [asdict(row) for row in rows],
        "micro": micros,
    }


def print_table(result: dict[str, object]) -> None:
    print(f"\nauth_http — {result['method']}")
    print(f"{'route':<42} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs bare':>8}")
    for row in result["http"]:  # type: ignore[attr-defined]
        print(
            f"{row['name']:<42} {row['requests_per_second']:>9.1f} {row['p50_ms']:>8.2f} "
            f"{row['p99_ms']:>8.2f} {row['errors']:>7} {row['ratio_to_bare']:>8.2f}"
        )
    print()
    for item in result["micro"]:  # type: ignore[attr-defined]
        print(f"{item['name']:<42} {item['microseconds_per_call']:>12.1f} µs")


def main() -> dict[str, object]:
    result = asyncio.run(run())
    print_table(result)
    return result
