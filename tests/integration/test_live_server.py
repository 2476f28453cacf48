"""`tradebot serve` as operators run it: a real process, a real port, a fresh data directory."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from entrypoints.settings import ENV_NAMES
from tests.support.servers import free_port

TRADEBOT = Path(sys.executable).parent / "tradebot"
EMAIL = "live.trader@example.com"
PASSWORD = "Correct-Horse-9-Battery"


def clean_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The caller's environment without any TradeBot configuration, on a temp database."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TRADEBOT_") and name not in ENV_NAMES.values()
    }
    env["TRADEBOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/live.db"
    env["TRADEBOT_DATA_DIR"] = str(tmp_path / "data")
    env.update(overrides)
    return env


@dataclass
class LiveServer:
    base_url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    stderr_path: Path


def wait_for_health(server: LiveServer, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"tradebot serve exited with {server.process.returncode}:\n"
                + server.stderr_path.read_text(errors="replace")
            )
        try:
            if httpx.get(f"{server.base_url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(
        f"tradebot serve did not answer /health within {timeout} s:\n"
        + server.stderr_path.read_text(errors="replace")
    )


@contextmanager
def running_server(tmp_path: Path, workers: int = 1, **env_overrides: str) -> Iterator[LiveServer]:
    port = free_port()
    env = clean_env(tmp_path, **env_overrides)
    stderr_path = tmp_path / "serve.stderr"
    with stderr_path.open("wb") as stderr, (tmp_path / "serve.stdout").open("wb") as stdout:
        process = subprocess.Popen(
            [
                str(TRADEBOT),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            cwd=tmp_path,
            stdout=stdout,
            stderr=stderr,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", env, process, stderr_path)
    try:
        wait_for_health(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    with running_server(tmp_path) as server:
        yield server


def test_a_fresh_install_serves_health_docs_and_the_auth_flow_over_a_real_socket(
    live_server: LiveServer, tmp_path: Path
) -> None:
    with httpx.Client(base_url=live_server.base_url, timeout=10.0) as http:
        health = http.get("/health")
        assert health.status_code == 200
        assert health.json() == {"status": "healthy", "service": "tradebot-backend"}
        assert health.headers.get("x-request-id")

        swagger = http.get("/schema/swagger")
        assert swagger.status_code == 200
        assert swagger.headers["content-type"].startswith("text/html")

        openapi = http.get("/schema/openapi.json")
        assert openapi.status_code == 200
        assert "/api/v1/auth/register" in openapi.json()["paths"]

        registered = http.post("/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD})
        assert registered.status_code == 201, registered.text
        assert registered.headers.get("x-request-id")

        logged_in = http.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert logged_in.status_code == 200, logged_in.text
        token = logged_in.json()["access_token"]

        profile = http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert profile.status_code == 200
        assert profile.json()["email"] == EMAIL
        assert profile.headers.get("x-request-id")

    secrets_file = tmp_path / "data" / "secrets.json"
    assert secrets_file.is_file()
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600

    assert (tmp_path / "live.db").is_file()
    current = subprocess.run(
        [str(TRADEBOT), "db", "current"],
        env=live_server.env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert current.returncode == 0, current.stderr
    assert "(head)" in current.stdout


def test_serve_refuses_a_malformed_setting_with_one_line_naming_the_variable(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [str(TRADEBOT), "serve", "--host", "127.0.0.1", "--port", str(free_port())],
        env=clean_env(tmp_path, TRADEBOT_SMTP_PORT="notaport"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "TRADEBOT_SMTP_PORT" in lines[0]
    assert not (tmp_path / "live.db").exists()
    assert not (tmp_path / "data").exists()


def test_serve_with_json_logging_writes_every_stderr_line_as_json(tmp_path: Path) -> None:
    with running_server(tmp_path, TRADEBOT_LOG_JSON="true") as server:
        request_id = httpx.get(f"{server.base_url}/health", timeout=10.0).headers["x-request-id"]
        deadline = time.monotonic() + 5
        while request_id not in server.stderr_path.read_text(errors="replace"):
            assert time.monotonic() < deadline, "the access log line never arrived"
            time.sleep(0.05)
        lines = [line for line in server.stderr_path.read_text().splitlines() if line.strip()]

    not_json = []
    for line in lines:
        try:
            json.loads(line)
        except ValueError:
            not_json.append(line)
    assert not_json == []
    [access] = [json.loads(line) for line in lines if request_id in line]
    assert access["request_id"] == request_id
    assert access["path"] == "/health"


def test_serve_with_two_workers_counts_every_workers_requests_in_one_metrics_answer(
    tmp_path: Path,
) -> None:
    with running_server(tmp_path, workers=2) as server:
        before = health_requests(server.base_url)
        for _ in range(40):
            # A new connection each time, so that both worker processes answer some.
            assert httpx.get(f"{server.base_url}/health", timeout=10.0).status_code == 200
        # Each scrape may reach either process; every one sees the sum of both.
        seen = {health_requests(server.base_url) for _ in range(10)}
    assert seen == {before + 40}


def health_requests(base_url: str) -> float:
    text = httpx.get(f"{base_url}/metrics", timeout=10.0).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "tradebot_http_requests_total"
        and sample.labels["path"] == "/health"
        and sample.labels["status_code"] == "200"
    )
