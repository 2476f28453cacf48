"""Starting `tradebot worker` processes from tests: their environment and their logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any

from entrypoints.settings import ENV_NAMES, Settings

TRADEBOT = Path(sys.executable).parent / "tradebot"
# The `tradebot worker` console script, whose imports are done before it is told to go
# on standard input (an end of input instead: the test gave up on it, nothing runs).
_PREPARED = """
import sys
from entrypoints.cli.main import main
import entrypoints.logging_setup, entrypoints.migrations, entrypoints.secrets_file
import entrypoints.worker_process
if sys.stdin.readline() == "go\\n":
    sys.argv[0] = "tradebot"
    sys.exit(main(["worker"]))
"""


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


class Workers:
    """`tradebot worker` processes that a test starts one after another, in the order
    given: each with its environment and its log. A process is created `ahead` starts
    before its turn and does the console script's imports (about 2 s, most of a start)
    meanwhile, then waits; `start()` lets the next one go on to `main(["worker"])`, so
    that a start costs what it costs an operator after the imports. On exit, any
    process still running is killed (the test has waited for those it needed)."""

    def __init__(self, runs: list[tuple[dict[str, str], Path]], ahead: int = 2) -> None:
        self._runs = list(runs)
        self._ahead = ahead
        self._waiting: deque[subprocess.Popen[bytes]] = deque()
        self._all: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Workers:
        self._prepare()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for process in self._all:
            if process.poll() is None:
                process.kill()
                process.wait(10)

    def start(self) -> subprocess.Popen[bytes]:
        process = self._waiting.popleft()
        assert process.stdin is not None
        process.stdin.write(b"go\n")
        process.stdin.close()
        self._prepare()
        return process

    def _prepare(self) -> None:
        while self._runs and len(self._waiting) < self._ahead:
            env, log_path = self._runs.pop(0)
            with log_path.open("ab") as log:
                process = subprocess.Popen(
                    # -P: no working directory on sys.path, as for the console script.
                    [sys.executable, "-P", "-c", _PREPARED],
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=log,
                    stderr=log,
                )
            self._all.append(process)
            self._waiting.append(process)
