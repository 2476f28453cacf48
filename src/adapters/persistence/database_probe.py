from __future__ import annotations

import os

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.ports.readiness_probe import ReadinessProbe


class DatabaseReadOnly(RuntimeError):
    """The database answers reads but cannot take writes."""


class DatabaseProbe(ReadinessProbe):
    """The database answers a query, and can be written to.

    PostgreSQL reports a read-only session (a standby, `default_transaction_read_only`)
    itself. SQLite opens a file it may not write (a read-only mount, file mode) read-only
    without a word and fails only at the first write, so the file is checked here.
    """

    name = "database"

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def check(self) -> None:
        url = self._engine.url
        async with self._engine.connect() as connection:
            if url.get_backend_name() == "postgresql":
                read_only = await connection.scalar(
                    text("SELECT current_setting('transaction_read_only')")
                )
                if read_only == "on":
                    raise DatabaseReadOnly("the server accepts only read-only transactions")
                return
            await connection.execute(text("SELECT 1"))
        if url.get_backend_name() == "sqlite" and _sqlite_file_read_only(url.database):
            raise DatabaseReadOnly("the database file cannot be written")


def _sqlite_file_read_only(database: str | None) -> bool:
    if not database or database == ":memory:" or database.startswith("file:"):
        return False
    return os.path.exists(database) and not os.access(database, os.W_OK)
