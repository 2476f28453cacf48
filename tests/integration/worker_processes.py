"""Starting `tradebot worker` processes from tests: their environment and their logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from entrypoints.settings import ENV_NAMES, Settings

TRADEBOT = Path(sys.executable).parent / "tradebot"


def worker_env(settings: Settings, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The caller's environment minus any TradeBot variable, plus the test database,
    its secrets, JSON logs and short poll and lease times; `extra` on top."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES.values()}
    env.pop("TRADEBOT_FAILPOINTS", None)
    env.update(
        TRADEBOT_DATABASE_URL=settings.database_url,
        TRADEBOT_JWT_SECRET=settings.jwt_secret or "",
        TRADEBOT_FERNET_KEYS=",".join(settings.fernet_keys),
        TRADEBOT_AUTO_MIGRATE="false",
        TRADEBOT_LOG_JSON="true",
        TRADEBOT_DATA_DIR=str(tmp_path / "data"),
        TRADEBOT_WORKER_POLL_SECONDS="0.1",
        TRADEBOT_WORKER_LEASE_SECONDS="2",
    )
    env.update(extra)
    return env


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen([str(TRADEBOT), "worker"], env=env, stdout=log, stderr=log)


def evaluations(log_path: Path) -> list[dict[str, Any]]:
    """The structured `evaluated` lines of a worker's JSON log (a killed worker's last
    line may be cut short: skipped)."""
    found = []
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and "evaluation" in entry:
            found.append({**entry["evaluation"], "time": datetime.fromisoformat(entry["time"])})
    return found
