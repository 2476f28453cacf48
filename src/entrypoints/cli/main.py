"""`tradebot`: serve the API, run migrations, manage accounts and stored candles, backtest."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from dotenv import load_dotenv

from entrypoints.cli.backtest_command import add_backtest_command, run_backtest_command
from entrypoints.cli.data_commands import add_data_commands, run_data
from entrypoints.settings import ConfigError, Settings, load_settings

logger = logging.getLogger("tradebot.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tradebot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the HTTP API (migrates on start)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")

    commands.add_parser(
        "worker", help="run the bot worker alone (start several to scale out; migrates on start)"
    )

    db = commands.add_parser("db", help="database migrations (Alembic)")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate up (default: to the newest)")
    upgrade.add_argument("revision", nargs="?", default="head")
    downgrade = db_commands.add_parser("downgrade", help="migrate down (default: one step)")
    downgrade.add_argument("revision", nargs="?", default="-1")
    db_commands.add_parser("current", help="show the database's revision")

    users = commands.add_parser("users", help="operators' account management")
    users_commands = users.add_subparsers(dest="users_command", required=True)
    users_commands.add_parser("list", help="list every account")
    for action in ("deactivate", "activate"):
        sub = users_commands.add_parser(action, help=f"{action} an account by email")
        sub.add_argument("email")

    keys = commands.add_parser("keys", help="stored exchange credentials")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    rotate = keys_commands.add_parser(
        "rotate",
        help="re-encrypt every stored secret with the newest TRADEBOT_FERNET_KEYS key",
    )
    rotate.add_argument("--batch-size", type=int, default=200)

    add_data_commands(commands)
    add_backtest_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A .env file in the working directory may set the variables;
    # the real environment wins over it.
    load_dotenv(Path.cwd() / ".env", override=False)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"tradebot: {exc}", file=sys.stderr)
        return 2
    from entrypoints.logging_setup import configure_logging

    configure_logging(settings.log_level, settings.log_json)
    if args.command == "serve":
        return _serve(settings, args.host, args.port, args.workers)
    if args.command == "worker":
        return _worker(settings)
    if args.command == "db":
        return _db(settings, args.db_command, getattr(args, "revision", None))
    if args.command == "keys":
        return asyncio.run(_rotate_keys(settings, args.batch_size))
    if args.command == "data":
        return asyncio.run(run_data(settings, args))
    if args.command == "backtest":
        return asyncio.run(run_backtest_command(settings, args))
    return asyncio.run(_users(settings, args.users_command, getattr(args, "email", None)))


def _serve(settings: Settings, host: str, port: int, workers: int) -> int:
    import uvicorn

    from entrypoints import migrations
    from entrypoints.metrics_processes import metrics_shared_by
    from entrypoints.secrets_file import with_generated_secrets

    if not 1 <= port <= 65535 or workers < 1:
        print("tradebot: --port must be 1-65535 and --workers at least 1", file=sys.stderr)
        return 2
    # Generated once here so that every worker process reads the same secrets.
    with_generated_secrets(settings)
    if settings.auto_migrate:
        logger.info("applying database migrations")
        migrations.upgrade(settings.database_url)
    with metrics_shared_by(workers):
        uvicorn.run(
            "entrypoints.http.asgi:app_factory",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
            server_header=False,
        )
    return 0


def _worker(settings: Settings) -> int:
    from entrypoints import migrations
    from entrypoints.secrets_file import with_generated_secrets
    from entrypoints.worker_process import run_worker

    settings = with_generated_secrets(settings)
    if settings.auto_migrate:
        migrations.upgrade(settings.database_url)
    return asyncio.run(run_worker(settings))


def _db(settings: Settings, command: str, revision: str | None) -> int:
    from entrypoints import migrations

    if command == "upgrade":
        migrations.upgrade(settings.database_url, revision or "head")
    elif command == "downgrade":
        migrations.downgrade(settings.database_url, revision or "-1")
    else:
        print(migrations.current(settings.database_url) or "(empty database)")
    return 0


async def _users(settings: Settings, command: str, email: str | None) -> int:
    from application.users.manage_users import SetUserActiveCommand
    from domain.errors import DomainError
    from entrypoints.container import build_container

    container = build_container(settings)
    try:
        if command == "list":
            users = await container.list_users().execute()
            print(f"{'id':>6}  {'active':<6}  {'created (UTC)':<19}  email")
            for user in users:
                print(
                    f"{user.id:>6}  {'yes' if user.is_active else 'no':<6}  "
                    f"{user.created_at:%Y-%m-%d %H:%M:%S}  {user.email}"
                )
            return 0
        assert email is not None
        try:
            user = await container.set_user_active().execute(
                SetUserActiveCommand(email=email, active=command == "activate")
            )
        except DomainError as exc:
            print(f"tradebot: {exc.message}: {email}", file=sys.stderr)
            return 1
        print(f"{user.email} is now {'active' if user.is_active else 'inactive'}")
        return 0
    finally:
        await container.engine().dispose()


async def _rotate_keys(settings: Settings, batch_size: int) -> int:
    from domain.errors import DomainError
    from entrypoints.container import build_container
    from entrypoints.secrets_file import with_generated_secrets

    if batch_size < 1:
        print("tradebot: --batch-size must be at least 1", file=sys.stderr)
        return 2
    container = build_container(with_generated_secrets(settings))
    try:
        rotated = await container.rotate_vault_keys().execute(batch_size=batch_size)
    except DomainError as exc:
        print(
            f"tradebot: {exc.message}; is every old key still in TRADEBOT_FERNET_KEYS?",
            file=sys.stderr,
        )
        return 1
    finally:
        await container.engine().dispose()
    print(f"re-encrypted {rotated} stored API key(s) under the newest key")
    return 0


if __name__ == "__main__":
    sys.exit(main())
