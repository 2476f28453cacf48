from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_

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
        pool_recycle=1800,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine, "do_connect", _connect_or_database_error)
    event.listen(engine.sync_engine.pool, "checkout", _replace_dead_connection)
    return engine


def _replace_dead_connection(
    dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: Any
) -> None:
    """Check a pooled connection before a request uses it; replace it if it is dead.

    Instead of `pool_pre_ping`, which runs BEGIN, a query and ROLLBACK through
    SQLAlchemy (three round trips, more than most requests' own queries): a socket
    asyncpg already knows is closed costs nothing to spot, and any other connection
    answers one `SELECT 1` sent as a simple query on the driver (bounded like a
    connect). A server restart or a terminated session is thus caught at checkout,
    even before asyncpg has read the server's goodbye. Raising DisconnectionError
    makes the pool discard the connection and hand out a new one.
    """
    driver = dbapi_connection.driver_connection
    if driver.is_closed():
        raise DisconnectionError("the server closed this pooled connection")
    try:
        await_(driver.execute("SELECT 1", timeout=CONNECT_TIMEOUT_SECONDS))
    except Exception as exc:
        raise DisconnectionError("a pooled connection did not answer") from exc


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


def create_read_session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    """Sessions for read-only units of work, on the same pool.

    On PostgreSQL they are autocommit: no BEGIN and ROLLBACK round trips around a read.
    SQLite's driver starts no transaction for a SELECT anyway, and switching its
    isolation level costs two hops to the aiosqlite thread, so it keeps the default.
    """
    if engine.dialect.name == "sqlite":
        return create_session_factory(engine)
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )
