"""The ASGI factory uvicorn calls in each worker process: `entrypoints.http.asgi:app_factory`."""

from __future__ import annotations

from litestar import Litestar

from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.logging_setup import configure_logging
from entrypoints.secrets_file import with_generated_secrets
from entrypoints.settings import Settings, load_settings


def app_factory() -> Litestar:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    settings = with_generated_secrets(settings)
    return create_app(build_container(settings), with_worker=runs_worker_in_process(settings))


def runs_worker_in_process(settings: Settings) -> bool:
    """On the embedded default (SQLite) `tradebot serve` runs the bot worker
    too; on PostgreSQL `tradebot worker` processes do, unless asked otherwise."""
    if settings.serve_worker == "auto":
        return settings.database_url.startswith("sqlite")
    return settings.serve_worker == "in-process"
