"""`tradebot keys rotate` as an operator runs it: old secrets end up under the new key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec
from cryptography.fernet import Fernet
from sqlalchemy import select

from adapters.persistence.tables import api_keys
from adapters.rate_limit.limits_rate_limiter import DisabledRateLimiter
from adapters.security.argon2_hasher import fast_test_hasher
from adapters.vault.fernet_vault import FernetVault
from application.api_keys.create_api_key import CreateApiKeyCommand
from application.auth.register_user import RegisterUserCommand
from entrypoints.container import build_container, close_container
from entrypoints.migrations import upgrade
from entrypoints.settings import ENV_NAMES, Settings

TRADEBOT = Path(sys.executable).parent / "tradebot"
KEY = "PaperKey0123456789abcdef"
SECRET = "PaperSecret0123456789abcdefXYZ"


def run_cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TRADEBOT), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_keys_rotate_reencrypts_every_secret_under_the_newest_key(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/keys.db"
    upgrade(url)
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = Settings(
        database_url=url,
        jwt_secret="cli-keys-secret-" + "z" * 32,
        fernet_keys=(old_key,),
        exchange="paper",
        data_dir=str(tmp_path / "data"),
    )
    container = build_container(settings)
    container.password_hasher.override(fast_test_hasher())
    container.rate_limiter.override(DisabledRateLimiter())
    for n in range(3):
        user = await container.register_user().execute(
            RegisterUserCommand(email=f"u{n}@example.com", password="Correct-Horse-9-Battery")
        )
        assert user.id is not None
        await container.create_api_key().execute(
            CreateApiKeyCommand(user_id=user.id, api_key=KEY, api_secret=SECRET)
        )
    await close_container(container)

    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES.values()}
    env |= {
        "TRADEBOT_DATABASE_URL": url,
        "TRADEBOT_DATA_DIR": str(tmp_path / "data"),
        "TRADEBOT_JWT_SECRET": settings.jwt_secret or "",
        "TRADEBOT_FERNET_KEYS": f"{new_key},{old_key}",
    }
    result = run_cli(env, tmp_path, "keys", "rotate", "--batch-size", "2")
    assert result.returncode == 0, result.stderr
    assert "re-encrypted 3 stored API key(s)" in result.stdout
    assert SECRET not in result.stdout + result.stderr

    reader = build_container(msgspec.structs.replace(settings, fernet_keys=(new_key,)))
    async with reader.engine().connect() as connection:
        rows = (await connection.execute(select(api_keys))).all()
    await close_container(reader)
    only_new = FernetVault([new_key])
    assert [only_new.decrypt(row.encrypted_secret) for row in rows] == [SECRET] * 3

    env["TRADEBOT_FERNET_KEYS"] = Fernet.generate_key().decode()
    lost = run_cli(env, tmp_path, "keys", "rotate")
    assert lost.returncode == 1
    assert "cannot be decrypted" in lost.stderr
    assert len(lost.stderr.strip().splitlines()) == 1
