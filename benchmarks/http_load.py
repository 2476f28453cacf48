"""Socket-level HTTP load: `tradebot serve` on PostgreSQL under wrk, against a bare Litestar.

What runs (all on loopback, everything started here and stopped in `finally`):

- a throwaway PostgreSQL cluster (tests/support/servers.py), a database, the migrations,
  and a few stored candles of BTCUSDT so that the paper exchange (replay feed) knows
  the symbol without the network;
- `tradebot serve --workers 2` on it (paper exchange, no Redis, bot worker off, logs
  to a file), and the ceiling: a bare Litestar app with one JSON GET route
  (benchmarks/bare_litestar_app.py) under uvicorn with the same workers and options;
- one user with 50 bot configurations and a JWT, plus accounts for the login flood;
- `wrk -t2 -c32 --latency` for N seconds (default 30) on each of: the ceiling,
  GET /health, authenticated GET /api/v1/bot-configs/ (50 items), authenticated
  POST /api/v1/trades/, and POST /api/v1/auth/login (argon2id) while a second wrk
  with 2 connections measures GET /health beside the flood;
- then, with the API stopped, the floor of an authenticated read
  (benchmarks/floor_litestar_app.py): a bare Litestar route that verifies the same JWT,
  reads the user's row once (through SQLAlchemy, then through raw asyncpg) and answers
  the listing's exact bytes. No implementation of the listing that checks revocation
  per request can beat it with this framework and driver on this machine.

Every endpoint is first checked once with httpx (expected status and body), then
warmed up for a moment, then measured. The Lua scripts (benchmarks/wrk_scripts/)
print one JSON line per run, parsed here. Ratios are to the ceiling of the same run.

    .venv/bin/python -m benchmarks.http_load [--seconds 30]   (or `make bench`)

Needs wrk (scripts/ensure-wrk.sh) and PostgreSQL (scripts/ensure-test-services.sh).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg
import httpx
from cryptography.fernet import Fernet
from tests.support.servers import PostgresServer, free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results"
WRK_SCRIPTS = Path(__file__).parent / "wrk_scripts"

WORKERS = 2
THREADS = 2
CONNECTIONS = 32
PROBE_THREADS = 1
PROBE_CONNECTIONS = 2
# 32 logins in flight at ~5-10 argon2 verifies a second queue for several seconds; wrk's
# default timeout (2 s) would count them as socket errors.
WRK_TIMEOUT = "30s"
BOT_CONFIGS = 50
PASSWORD = "Bench-Password-123"  # noqa: S105 - throwaway benchmark accounts
SYMBOL = "BTCUSDT"
# Accounts the login flood cycles over (with the login limits off, a few are enough).
FLOOD_ACCOUNTS = 4

# The general request limits, raised out of reach but still counted on every request
# (so their cost is part of the figures).
GENERAL_RATE_LIMIT_ENV = {
    "TRADEBOT_RATE_LIMIT_PER_USER": "100000000/minute",
    "TRADEBOT_RATE_LIMIT_PER_IP": "100000000/minute",
}
# The seed's login limits (5/min per IP, 10/hour per email) off, for the login flood: every
# login is then a full argon2id verify answered 200. wrk_scripts/login.lua also gives each
# request its own X-Forwarded-For address; answers rate limited anyway are counted
# (`status_429`) and are errors.
LOGIN_RATE_LIMIT_ENV = {"TRADEBOT_AUTH_RATE_LIMITS": "off"}

CEILING = "bare Litestar GET /ping (ceiling)"
HEALTH = "GET /health"
BOT_CONFIGS_ROW = "GET /api/v1/bot-configs/ (JWT, 50 items)"
TRADES = "POST /api/v1/trades/ (JWT)"
LOGIN = "POST /api/v1/auth/login (flood)"
HEALTH_DURING_LOGIN = "GET /health during the login flood"
FLOOR_SQLALCHEMY = "floor: JWT + 1 SQLAlchemy read, same body"
FLOOR_ASYNCPG = "floor: JWT + 1 asyncpg read, same body"

# From the hardening issue: ratios to the ceiling, p99 at 32 connections, 0 errors.
TARGETS: dict[str, dict[str, float]] = {
    HEALTH: {"max_errors": 0},
    BOT_CONFIGS_ROW: {"min_ratio": 0.40, "max_p99_ms": 25.0, "max_errors": 0},
    TRADES: {"min_ratio": 0.25, "max_errors": 0},
    LOGIN: {"max_errors": 0},
    HEALTH_DURING_LOGIN: {"max_p99_ms": 20.0, "max_errors": 0},
}


@dataclass
class Row:
    name: str
    connections: int
    requests: int
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx_3xx: int
    socket_errors: int
    errors: int
    ratio_to_ceiling: float | None = None
    target: dict[str, float] = field(default_factory=dict)
    met: bool | None = None
    extra: dict[str, int] = field(default_factory=dict)


class BenchmarkError(RuntimeError):
    pass


# -- processes ---------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    base_url: str

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def start_server(
    name: str, command: Sequence[str], env: Mapping[str, str], port: int, log: Path
) -> Server:
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and programs
            list(command),
            cwd=ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C at the terminal reaches only us, and we stop it.
            start_new_session=True,
        )
    return Server(name, process, log, f"http://127.0.0.1:{port}")


def stop_server(server: Server) -> None:
    process = server.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # uvicorn's master stops its workers
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
    # Whatever is left of its own process group (workers), by the group we created.
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def wait_ready(
    server: Server, path: str, timeout: float = 60.0, headers: Mapping[str, str] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchmarkError(f"{server.name} exited at start:\n{server.tail()}")
        try:
            if httpx.get(server.base_url + path, timeout=1.0, headers=headers).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise BenchmarkError(f"{server.name} not ready after {timeout} s:\n{server.tail()}")


def uvicorn_command(app: str, port: int) -> list[str]:
    """A benchmark app served like `tradebot serve`: same workers, no access log."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--app-dir",
        str(ROOT),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(WORKERS),
        "--no-access-log",
        "--no-server-header",
        "--log-level",
        "warning",
    ]


def tradebot_command() -> list[str]:
    script = Path(sys.executable).parent / "tradebot"
    if script.exists():
        return [str(script)]
    found = shutil.which("tradebot")
    if found is None:
        raise BenchmarkError("the `tradebot` command is not installed (make install)")
    return [found]


def run_cli(arguments: Sequence[str], env: Mapping[str, str]) -> None:
    result = subprocess.run(  # noqa: S603 - our own command
        [*tradebot_command(), *arguments],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BenchmarkError(
            f"tradebot {' '.join(arguments)} failed:\n{result.stderr}{result.stdout}"
        )


@contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so that `finally` stops every server."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- setup -------------------------------------------------------------------------------


async def create_database(admin_dsn: str, name: str) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def write_candles(path: Path, count: int = 600) -> None:
    """Hourly BTCUSDT candles for the replay feed: it only has to know the symbol."""
    rng = random.Random(7)
    start_ms = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
    price = 42_000.0
    lines = []
    for i in range(count):
        open_ = price
        price = max(1000.0, price * (1 + rng.gauss(0, 0.004)))
        high = max(open_, price) * 1.002
        low = min(open_, price) * 0.998
        lines.append(
            f"{start_ms + i * 3_600_000},{open_:.2f},{high:.2f},{low:.2f},{price:.2f},"
            f"{rng.uniform(10, 100):.3f}"
        )
    path.write_text("\n".join(lines) + "\n")


def server_env(database_url: str, workdir: Path, log_level: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TRADEBOT_") and key != "VALIDATE_API_ON_TESTNET"
    }
    env.update(
        {
            "TRADEBOT_DATABASE_URL": database_url,
            "TRADEBOT_JWT_SECRET": "http-load-bench-secret-" + "h" * 40,
            "TRADEBOT_FERNET_KEYS": Fernet.generate_key().decode(),
            "TRADEBOT_EXCHANGE": "paper",
            "TRADEBOT_PAPER_FEED": "replay",
            "TRADEBOT_SERVE_WORKER": "off",
            "TRADEBOT_AUTO_MIGRATE": "false",
            "TRADEBOT_LOG_LEVEL": log_level,
            "TRADEBOT_DATA_DIR": str(workdir / "data"),
            # uvicorn's default, made explicit: the login flood's X-Forwarded-For is
            # trusted from loopback only.
            "FORWARDED_ALLOW_IPS": "127.0.0.1",
            **GENERAL_RATE_LIMIT_ENV,
            **LOGIN_RATE_LIMIT_ENV,
        }
    )
    return env


@dataclass
class Fixtures:
    token: str
    bot_config_ids: list[int]
    flood_emails: list[str]


async def prepare(base_url: str, flood_accounts: int) -> Fixtures:
    """One user with BOT_CONFIGS bot configurations and a JWT; accounts for the flood."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0) as client:
        owner = "owner@bench.example.com"
        flood_emails = [f"flood{i}@bench.example.com" for i in range(flood_accounts)]
        gate = asyncio.Semaphore(2 * WORKERS)  # registration hashes: keep both workers busy

        async def register(email: str) -> None:
            async with gate:
                response = await client.post(
                    "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
                )
            expect(response, 201, f"register {email}")

        await asyncio.gather(*(register(email) for email in [owner, *flood_emails]))
        login = await client.post(
            "/api/v1/auth/login",
            json={"email": owner, "password": PASSWORD, "remember_me": True},
        )
        expect(login, 200, "login")
        token = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        ids = []
        for i in range(BOT_CONFIGS):
            response = await client.post(
                "/api/v1/bot-configs/",
                headers=headers,
                json={"name": f"bench bot {i}", "symbol": SYMBOL, "timeframe": "1h"},
            )
            expect(response, 201, "create a bot configuration")
            ids.append(int(response.json()["id"]))
        return Fixtures(token, ids, flood_emails)


def expect(response: httpx.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise BenchmarkError(
            f"{what}: expected {status}, got {response.status_code}: {response.text[:500]}"
        )


def trade_body(bot_config_id: int) -> str:
    return json.dumps(
        {
            "bot_config_id": bot_config_id,
            "symbol": SYMBOL,
            "side": "BUY",
            "order_type": "MARKET",
            "price": 42_000.5,
            "quantity_filled": 0.001,
            "quote_quantity_filled": 42.0005,
            "commission_amount": 0.042,
            "commission_asset": "USDT",
            "timestamp": "2026-01-01T12:00:00Z",
        },
        separators=(",", ":"),
    )


def preflight(base_url: str, fixtures: Fixtures) -> None:
    """Each measured request once: the status and body we mean to measure."""
    auth = {"Authorization": f"Bearer {fixtures.token}"}
    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        expect(client.get("/health"), 200, "GET /health")
        listing = client.get("/api/v1/bot-configs/", headers=auth)
        expect(listing, 200, "GET /api/v1/bot-configs/")
        if len(listing.json()) != BOT_CONFIGS:
            raise BenchmarkError(f"expected {BOT_CONFIGS} bot configurations in the listing")
        trade = client.post(
            "/api/v1/trades/",
            headers={**auth, "Content-Type": "application/json"},
            content=trade_body(fixtures.bot_config_ids[0]),
        )
        expect(trade, 201, "POST /api/v1/trades/")


def listing_body(base_url: str, fixtures: Fixtures) -> bytes:
    """The exact bytes of the measured listing, for the floor app to answer."""
    response = httpx.get(
        base_url + "/api/v1/bot-configs/",
        headers={"Authorization": f"Bearer {fixtures.token}"},
        timeout=10.0,
    )
    expect(response, 200, "GET /api/v1/bot-configs/")
    return response.content


# -- wrk ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    url: str
    script: str = "fixed.lua"
    method: str = "GET"
    body: str = ""
    authorization: str = ""
    threads: int = THREADS
    connections: int = CONNECTIONS
    extra_env: tuple[tuple[str, str], ...] = ()

    def command(self, seconds: float) -> list[str]:
        wrk = shutil.which("wrk")
        if wrk is None:
            raise BenchmarkError("wrk is not installed: run scripts/ensure-wrk.sh")
        return [
            wrk,
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{max(1, round(seconds))}s",
            f"--timeout={WRK_TIMEOUT}",
            "--latency",
            "-s",
            str(WRK_SCRIPTS / self.script),
            self.url,
        ]

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "WRK_SCRIPTS_DIR": str(WRK_SCRIPTS),
            "WRK_METHOD": self.method,
            "WRK_BODY": self.body,
            "WRK_AUTHORIZATION": self.authorization,
            "WRK_THREADS": str(self.threads),
            **dict(self.extra_env),
        }

    def start(self, seconds: float) -> subprocess.Popen[str]:
        return subprocess.Popen(  # noqa: S603 - wrk, found on PATH
            self.command(seconds),
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def finish(name: str, load: Load, process: subprocess.Popen[str]) -> Row:
    try:
        stdout, stderr = process.communicate()
    finally:
        if process.poll() is None:  # interrupted: wrk must not outlive the run
            process.kill()
            process.wait()
    line = next((x for x in stdout.splitlines() if x.startswith("WRK_RESULT ")), None)
    if process.returncode != 0 or line is None:
        raise BenchmarkError(f"wrk failed on {name} ({process.returncode}):\n{stdout}{stderr}")
    data = json.loads(line.removeprefix("WRK_RESULT "))
    seconds = data["duration_us"] / 1e6
    socket_errors = sum(
        data[key] for key in ("connect_errors", "read_errors", "write_errors", "timeouts")
    )
    known = {
        "requests",
        "duration_us",
        "bytes",
        "non_2xx_3xx",
        "connect_errors",
        "read_errors",
        "write_errors",
        "timeouts",
        "p50_us",
        "p90_us",
        "p99_us",
        "max_us",
        "mean_us",
    }
    return Row(
        name=name,
        connections=load.connections,
        requests=data["requests"],
        requests_per_second=round(data["requests"] / seconds, 1),
        p50_ms=round(data["p50_us"] / 1000, 2),
        p90_ms=round(data["p90_us"] / 1000, 2),
        p99_ms=round(data["p99_us"] / 1000, 2),
        max_ms=round(data["max_us"] / 1000, 2),
        non_2xx_3xx=data["non_2xx_3xx"],
        socket_errors=socket_errors,
        errors=data["non_2xx_3xx"] + socket_errors,
        extra={key: value for key, value in data.items() if key not in known},
    )


def measure(name: str, load: Load, seconds: float, warmup: float) -> Row:
    if warmup > 0:
        finish(name, load, load.start(warmup))
    print(f"  {name}: {seconds:.0f} s ...", flush=True)
    return finish(name, load, load.start(seconds))


def measure_side_by_side(
    name: str, load: Load, probe_name: str, probe: Load, seconds: float
) -> tuple[Row, Row]:
    print(f"  {name} + {probe_name}: {seconds:.0f} s ...", flush=True)
    main_process = load.start(seconds)
    probe_process = probe.start(seconds)
    try:
        return finish(name, load, main_process), finish(probe_name, probe, probe_process)
    finally:
        for process in (main_process, probe_process):
            if process.poll() is None:
                process.kill()
                process.wait()


# -- the run -----------------------------------------------------------------------------


def code_state() -> dict[str, Any]:
    """The commit measured, and whether src/ had uncommitted changes (figures move with them)."""

    def git(*arguments: str) -> str:
        result = subprocess.run(  # noqa: S603 - git, found on PATH
            ["git", *arguments],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        return result.stdout.strip() if result.returncode == 0 else ""

    return {
        "commit": git("rev-parse", "--short", "HEAD") or None,
        "uncommitted_changes_in_src": bool(git("status", "--porcelain", "--", "src")),
    }


def judge(row: Row, ceiling_rps: float) -> None:
    row.ratio_to_ceiling = round(row.requests_per_second / ceiling_rps, 3)
    target = TARGETS.get(row.name)
    if not target:
        return
    row.target = target
    met = row.errors <= target.get("max_errors", math.inf)
    if "min_ratio" in target:
        met = met and row.ratio_to_ceiling >= target["min_ratio"]
    if "max_p99_ms" in target:
        met = met and row.p99_ms <= target["max_p99_ms"]
    row.met = met


def run(seconds: float, warmup: float, log_level: str) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise BenchmarkError("wrk is not installed: run scripts/ensure-wrk.sh")
    workdir = Path(tempfile.mkdtemp(prefix="tradebot-http-load-"))
    postgres: PostgresServer | None = None
    servers: list[Server] = []
    load_average = os.getloadavg()
    flood_accounts = FLOOD_ACCOUNTS
    rows: list[Row] = []
    try:
        print("http_load: PostgreSQL, migrations, servers ...", flush=True)
        postgres = PostgresServer()
        postgres.start()
        asyncio.run(create_database(postgres.admin_dsn, "bench"))
        env = server_env(postgres.url("bench"), workdir, log_level)
        run_cli(["db", "upgrade"], env)
        candles = workdir / "candles.csv"
        write_candles(candles)
        run_cli(["data", "import", str(candles), "--symbol", SYMBOL, "--interval", "1h"], env)

        # The ceiling first, alone on the machine, then the API alone.
        bare_port = free_port()
        bare = start_server(
            "bare Litestar",
            uvicorn_command("benchmarks.bare_litestar_app:app", bare_port),
            {**env, "PYTHONPATH": str(ROOT)},
            bare_port,
            workdir / "bare.log",
        )
        servers.append(bare)
        wait_ready(bare, "/ping")
        rows.append(measure(CEILING, Load(bare.base_url + "/ping"), seconds, warmup))
        stop_server(bare)
        servers.remove(bare)

        port = free_port()
        api = start_server(
            "tradebot serve",
            [
                *tradebot_command(),
                "serve",
                "--workers",
                str(WORKERS),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env,
            port,
            workdir / "tradebot.log",
        )
        servers.append(api)
        wait_ready(api, "/health")
        print(f"  setup: 1 user, {BOT_CONFIGS} bot configurations, {flood_accounts} flood accounts")
        fixtures = asyncio.run(prepare(api.base_url, flood_accounts))
        preflight(api.base_url, fixtures)
        bearer = f"Bearer {fixtures.token}"

        rows.append(measure(HEALTH, Load(api.base_url + "/health"), seconds, warmup))
        rows.append(
            measure(
                BOT_CONFIGS_ROW,
                Load(api.base_url + "/api/v1/bot-configs/", authorization=bearer),
                seconds,
                warmup,
            )
        )
        rows.append(
            measure(
                TRADES,
                Load(
                    api.base_url + "/api/v1/trades/",
                    method="POST",
                    body=trade_body(fixtures.bot_config_ids[0]),
                    authorization=bearer,
                ),
                seconds,
                warmup,
            )
        )
        login_row, probe_row = measure_side_by_side(
            LOGIN,
            Load(
                api.base_url + "/api/v1/auth/login",
                script="login.lua",
                extra_env=(
                    ("WRK_LOGIN_EMAILS", ",".join(fixtures.flood_emails)),
                    ("WRK_LOGIN_PASSWORD", PASSWORD),
                ),
            ),
            HEALTH_DURING_LOGIN,
            Load(
                api.base_url + "/health",
                threads=PROBE_THREADS,
                connections=PROBE_CONNECTIONS,
            ),
            seconds,
        )
        rows.extend([login_row, probe_row])
        if api.process.poll() is not None:
            raise BenchmarkError(f"tradebot serve exited during the run:\n{api.tail()}")
        body = workdir / "bot-configs.json"
        body.write_bytes(listing_body(api.base_url, fixtures))
        stop_server(api)
        servers.remove(api)

        # The floor of any authenticated, revocable read on this stack (see the module).
        floor_port = free_port()
        floor = start_server(
            "floor Litestar",
            uvicorn_command("benchmarks.floor_litestar_app:app", floor_port),
            {
                **env,
                "PYTHONPATH": str(ROOT),
                "FLOOR_DATABASE_URL": env["TRADEBOT_DATABASE_URL"],
                "FLOOR_JWT_SECRET": env["TRADEBOT_JWT_SECRET"],
                "FLOOR_BODY_FILE": str(body),
            },
            floor_port,
            workdir / "floor.log",
        )
        servers.append(floor)
        wait_ready(floor, "/floor/asyncpg", headers={"Authorization": bearer})
        for name, path in ((FLOOR_SQLALCHEMY, "sqlalchemy"), (FLOOR_ASYNCPG, "asyncpg")):
            load = Load(f"{floor.base_url}/floor/{path}", authorization=bearer)
            expect(httpx.get(load.url, headers={"Authorization": bearer}), 200, name)
            if httpx.get(load.url, headers={"Authorization": "Bearer x"}).status_code != 401:
                raise BenchmarkError(f"{name}: a bad token must be refused")
            rows.append(measure(name, load, seconds, warmup))
    finally:
        for server in servers:
            stop_server(server)
        if postgres is not None:
            postgres.destroy()
        shutil.rmtree(workdir, ignore_errors=True)

    ceiling_rps = rows[0].requests_per_second
    for row in rows:
        judge(row, ceiling_rps)
    return {
        "benchmark": "http",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in load_average],
        },
        "code": code_state(),
        "method": (
            f"wrk -t{THREADS} -c{CONNECTIONS} -d{seconds:.0f}s --latency (after a "
            f"{warmup:.0f} s warm-up) on loopback; `tradebot serve --workers {WORKERS}` on "
            f"PostgreSQL (paper exchange, no Redis, log level {log_level} to a file, request "
            "limits raised, login limits off) and the "
            f"ceiling, a bare Litestar JSON route under uvicorn --workers {WORKERS}; the login "
            f"flood spread over {flood_accounts} accounts and one X-Forwarded-For address per "
            f"request, with GET /health measured beside it by wrk -t{PROBE_THREADS} "
            f"-c{PROBE_CONNECTIONS}; the floor rows: a bare Litestar route doing only the JWT "
            "check and one read of the user's row, answering the listing's bytes"
        ),
        "seconds": seconds,
        "targets": TARGETS,
        "all_targets_met": all(row.met is not False for row in rows),
        "http": [asdict(row) for row in rows],
    }


def describe(target: Mapping[str, float]) -> str:
    parts = []
    if "min_ratio" in target:
        parts.append(f">= {target['min_ratio']:.0%}")
    if "max_p99_ms" in target:
        parts.append(f"p99 <= {target['max_p99_ms']:g} ms")
    if "max_errors" in target:
        parts.append(f"{target['max_errors']:g} errors")
    return ", ".join(parts) or "-"


def print_table(result: Mapping[str, Any]) -> None:
    print(f"\nhttp — {result['method']}")
    print(
        f"{'endpoint':<42} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7} {'% ceil':>7}  {'target':<32} met?"
    )
    for row in result["http"]:
        met = {True: "yes", False: "NO", None: "-"}[row["met"]]
        print(
            f"{row['name']:<42} {row['connections']:>5} {row['requests_per_second']:>9.1f} "
            f"{row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} {row['errors']:>7} "
            f"{row['ratio_to_ceiling']:>7.1%}  {describe(row['target']):<32} {met}"
        )
    print(f"all targets met: {'yes' if result['all_targets_met'] else 'NO'}")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.http_load", description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="per endpoint (default 30)")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds before each measured run (default 2)"
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="the server's TRADEBOT_LOG_LEVEL; INFO (the default) writes one access line "
        "per request, to a file",
    )
    args = parser.parse_args(argv)
    with sigterm_as_exit():
        result = run(args.seconds, args.warmup, args.log_level)
    print_table(result)
    return result


if __name__ == "__main__":
    try:
        outcome = main()
    except KeyboardInterrupt:
        print("http_load: interrupted; servers stopped", file=sys.stderr)
        sys.exit(130)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{outcome['benchmark']}.json"
    path.write_text(json.dumps(outcome, indent=2) + "\n")
    print(f"wrote {path}")
