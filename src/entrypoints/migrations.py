"""Alembic, driven from code: `tradebot db ...`, `tradebot serve` on start, and the tests."""

from __future__ import annotations

import asyncio
import io
import sys
import sysconfig
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TextIO, TypeVar

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

T = TypeVar("T")


def script_location() -> Path:
    """The checkout's `alembic/`, or the copy that `pip install .` put in share/."""
    candidates = [
        Path(__file__).resolve().parents[2] / "alembic",
        Path(sysconfig.get_path("data")) / "share" / "tradebot" / "alembic",
        Path(sys.prefix) / "share" / "tradebot" / "alembic",
    ]
    for candidate in candidates:
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("alembic migrations not found; install tradebot from its checkout")


def alembic_config(database_url: str, output: TextIO | None = None) -> Config:
    config = Config(stdout=output or sys.stdout)
    config.set_main_option("script_location", str(script_location()))
    config.attributes["database_url"] = database_url
    return config


def _outside_event_loop(function: Callable[[], T]) -> T:
    """Alembic's env.py runs its own event loop; from inside a running loop (tests,
    async callers) the command runs in a helper thread, blocking until it is done."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function).result()


def upgrade(database_url: str, revision: str = "head") -> None:
    _outside_event_loop(lambda: command.upgrade(alembic_config(database_url), revision))


def downgrade(database_url: str, revision: str = "-1") -> None:
    _outside_event_loop(lambda: command.downgrade(alembic_config(database_url), revision))


def current(database_url: str) -> str:
    buffer = io.StringIO()
    _outside_event_loop(lambda: command.current(alembic_config(database_url, buffer)))
    return buffer.getvalue().strip()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
