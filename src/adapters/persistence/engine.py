from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

# asyncpg waits 60 s for a server that does not answer; a request should not.
CONNECT_TIMEOUT_SECONDS = 5.0


def create_engine(database_url: str, echo: bool = False) -> AsyncEngine:
    """An async engine tuned per backend: WAL SQLite, or a pooled asyncpg PostgreSQL.

    Statement parameters (password hashes, encrypted keys) never appear in SQL
    errors or echo logs: `hide_parameters`.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, echo=echo, hide_parameters=True, connect_args={"timeout": 30}
        )
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    connect_args: dict[str, Any] = {}
    if url.get_driver_name() == "asyncpg" and "timeout" not in url.query:
        connect_args["timeout"] = CONNECT_TIMEOUT_SECONDS
    engine = create_async_engine(
        url,
        echo=echo,
        hide_parameters=True,
        pool_size=10,
        max_overflow=20,
        # A pooled connection is checked before use: after a server restart the
        # stale ones are replaced instead of failing the request that drew them.
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine, "do_connect", _connect_or_database_error)
    return engine


def _connect_or_database_error(
    dialect: Dialect, _record: Any, cargs: tuple[Any, ...], cparams: dict[str, Any]
) -> Any:
    """Open a DBAPI connection; a refused or timed-out connect is a DBAPI error.

    asyncpg raises a bare OSError (ConnectionRefusedError, TimeoutError) when the
    server is down, and SQLAlchemy wraps only DBAPI errors: without this, callers
    would see a socket error instead of a `sqlalchemy.exc.OperationalError`.
    """
    try:
        return dialect.connect(*cargs, **cparams)
    except OSError as exc:
        dbapi = dialect.loaded_dbapi
        raise dbapi.OperationalError(f"cannot connect: {type(exc).__name__}: {exc}") from exc


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)
