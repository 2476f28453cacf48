"""`tradebot users ...` and `tradebot db ...` as operators run them, against a temp SQLite file.

Accounts are opened and used over HTTP through an app built on the same database, so
each CLI change is checked by what a client sees next.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.rate_limit.limits_rate_limiter import DisabledRateLimiter
from adapters.security.argon2_hasher import fast_test_hasher
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.migrations import head_revision, upgrade
from entrypoints.settings import ENV_NAMES, Settings
from tests.support.fakes import OutboxMailer

TRADEBOT = Path(sys.executable).parent / "tradebot"
JWT_SECRET = "cli-integration-test-secret-" + "y" * 24
EMAIL = "operator.managed@example.com"
PASSWORD = "Correct-Horse-9-Battery"


@pytest.fixture
def database_file(tmp_path: Path) -> Path:
    return tmp_path / "cli.db"


@pytest.fixture
def sqlite_url(database_file: Path) -> str:
    return f"sqlite+aiosqlite:///{database_file}"


@pytest.fixture
def cli_env(sqlite_url: str, tmp_path: Path) -> dict[str, str]:
    """The caller's environment without any TradeBot configuration, on the temp database."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TRADEBOT_") and name not in ENV_NAMES.values()
    }
    env["TRADEBOT_DATABASE_URL"] = sqlite_url
    env["TRADEBOT_DATA_DIR"] = str(tmp_path / "data")
    return env


@pytest.fixture
def run_cli(cli_env: dict[str, str], tmp_path: Path) -> Any:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(TRADEBOT), *args],
            env=cli_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


@pytest.fixture
def migrated_sqlite_url(sqlite_url: str) -> str:
    upgrade(sqlite_url)
    return sqlite_url


@pytest.fixture
async def client(
    migrated_sqlite_url: str, tmp_path: Path
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    settings = Settings(
        database_url=migrated_sqlite_url,
        jwt_secret=JWT_SECRET,
        fernet_keys=(Fernet.generate_key().decode(),),
        data_dir=str(tmp_path / "data"),
    )
    container = build_container(settings)
    container.password_hasher.override(fast_test_hasher())
    container.rate_limiter.override(DisabledRateLimiter())
    container.mailer.override(OutboxMailer())
    async with AsyncTestClient(app=create_app(container)) as test_client:
        yield test_client


async def login(client: AsyncTestClient[Litestar]) -> Any:
    return await client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})


async def me(client: AsyncTestClient[Litestar], token: str) -> Any:
    return await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
async def token(client: AsyncTestClient[Litestar]) -> str:
    registered = await client.post(
        "/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    logged_in = await login(client)
    assert logged_in.status_code == 200, logged_in.text
    return str(logged_in.json()["access_token"])


async def test_users_list_shows_a_registered_account_as_active(token: str, run_cli: Any) -> None:
    result = run_cli("users", "list")

    assert result.returncode == 0, result.stderr
    [header, *rows] = result.stdout.splitlines()
    assert header.split() == ["id", "active", "created", "(UTC)", "email"]
    assert len(rows) == 1
    assert rows[0].split()[1] == "yes"
    assert rows[0].split()[-1] == EMAIL


async def test_deactivating_an_account_refuses_its_login_and_its_existing_tokens(
    client: AsyncTestClient[Litestar], token: str, run_cli: Any
) -> None:
    result = run_cli("users", "deactivate", EMAIL.upper())

    assert result.returncode == 0, result.stderr
    assert f"{EMAIL} is now inactive" in result.stdout
    refused = await login(client)
    assert refused.status_code == 400
    assert refused.json()["error"] == "Inactive user"
    assert (await me(client, token)).status_code == 401
    listed = run_cli("users", "list")
    assert listed.stdout.splitlines()[1].split()[1] == "no"


async def test_reactivating_an_account_restores_its_login(
    client: AsyncTestClient[Litestar], token: str, run_cli: Any
) -> None:
    assert run_cli("users", "deactivate", EMAIL).returncode == 0
    assert (await login(client)).status_code == 400

    result = run_cli("users", "activate", EMAIL)

    assert result.returncode == 0, result.stderr
    assert f"{EMAIL} is now active" in result.stdout
    restored = await login(client)
    assert restored.status_code == 200
    assert (await me(client, restored.json()["access_token"])).status_code == 200


async def test_deactivating_an_unknown_email_fails_with_one_clear_line(
    token: str, run_cli: Any
) -> None:
    result = run_cli("users", "deactivate", "unknown@x.io")

    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "User not found" in lines[0]
    assert "unknown@x.io" in lines[0]


def test_db_downgrade_to_base_empties_the_schema_and_upgrade_restores_head(
    migrated_sqlite_url: str, run_cli: Any
) -> None:
    head = head_revision()
    assert head is not None
    at_head = run_cli("db", "current")
    assert at_head.returncode == 0, at_head.stderr
    assert at_head.stdout.strip() == f"{head} (head)"

    downgraded = run_cli("db", "downgrade", "base")
    assert downgraded.returncode == 0, downgraded.stderr
    empty = run_cli("db", "current")
    assert empty.returncode == 0, empty.stderr
    assert head not in empty.stdout
    assert "(head)" not in empty.stdout
    assert empty.stdout.strip() == "(empty database)"

    upgraded = run_cli("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    back = run_cli("db", "current")
    assert back.stdout.strip() == f"{head} (head)"


def test_db_upgrade_creates_the_schema_of_a_new_database_file(
    database_file: Path, run_cli: Any
) -> None:
    assert not database_file.exists()

    upgraded = run_cli("db", "upgrade")

    assert upgraded.returncode == 0, upgraded.stderr
    assert database_file.is_file()
    assert "(head)" in run_cli("db", "current").stdout
    assert run_cli("users", "list").returncode == 0
