"""First-run secrets: generated once into the data directory when not configured."""

from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path

import msgspec
from cryptography.fernet import Fernet

from entrypoints.settings import Settings

logger = logging.getLogger("tradebot.settings")

SECRETS_FILE_NAME = "secrets.json"


class GeneratedSecrets(msgspec.Struct, frozen=True):
    jwt_secret: str
    fernet_keys: tuple[str, ...]


def with_generated_secrets(settings: Settings) -> Settings:
    """Settings with a JWT secret and Fernet keys, generating and storing them if missing.

    The file is created exclusively with mode 0600, so concurrent first starts
    (several workers) agree on one set of secrets.
    """
    if settings.jwt_secret and settings.fernet_keys:
        return settings
    stored = _load_or_create(Path(settings.data_dir) / SECRETS_FILE_NAME)
    missing = [
        name
        for name, value in (
            ("TRADEBOT_JWT_SECRET", settings.jwt_secret),
            ("TRADEBOT_FERNET_KEYS", settings.fernet_keys),
        )
        if not value
    ]
    logger.warning(
        "%s not set; using the generated value(s) in %s. Set them explicitly in production "
        "and keep a backup: losing the Fernet keys makes stored API secrets unreadable.",
        " and ".join(missing),
        Path(settings.data_dir) / SECRETS_FILE_NAME,
    )
    return msgspec.structs.replace(
        settings,
        jwt_secret=settings.jwt_secret or stored.jwt_secret,
        fernet_keys=settings.fernet_keys or stored.fernet_keys,
    )


def _load_or_create(path: Path) -> GeneratedSecrets:
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = GeneratedSecrets(
        jwt_secret=secrets.token_urlsafe(48),
        fernet_keys=(Fernet.generate_key().decode(),),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "wb") as handle:
        handle.write(msgspec.json.encode(fresh))
        handle.flush()
        os.fsync(handle.fileno())
    return fresh


def _read(path: Path) -> GeneratedSecrets:
    for _ in range(50):
        data = path.read_bytes()
        if data:
            return msgspec.json.decode(data, type=GeneratedSecrets)
        # Another process created the file a moment ago and is still writing it.
        time.sleep(0.02)
    raise RuntimeError(f"{path} is empty; delete it to generate new secrets")
