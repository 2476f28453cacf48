"""Which database failures are an outage of the storage (503), not a bug (500).

SQLAlchemy wraps every driver error in a `DBAPIError`; the driver's own code tells
the cases apart: SQLite's result code name (`sqlite_errorname`, Python 3.11+) and
PostgreSQL's SQLSTATE. Anything not recognised here stays a 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError

UNAVAILABLE = "Database unavailable"
STORAGE_FULL = "Database storage is full"
READ_ONLY = "Database is read-only"

# PostgreSQL SQLSTATEs: disk_full, read_only_sql_transaction, and the server
# going away or refusing connections (admin/crash shutdown, starting up, too many
# clients). Class 08 (connection exception) is matched as a prefix.
_PG_FULL = {"53100"}
_PG_READ_ONLY = {"25006"}
_PG_UNAVAILABLE = {"57P01", "57P02", "57P03", "53300"}
_SQLITE_UNAVAILABLE = ("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_NOTADB", "SQLITE_CORRUPT")


@dataclass(frozen=True, slots=True)
class DatabaseFault:
    """The client's message, and the cause for the log (driver code and message, no SQL)."""

    message: str
    cause: str


def database_fault(exc: DBAPIError) -> DatabaseFault | None:
    """The storage fault behind `exc`, or None when it is not one (a bug: 500)."""
    sqlite_code = ""
    sqlstate = ""
    lost = False
    for error in _chain(exc.orig):
        sqlite_code = sqlite_code or str(getattr(error, "sqlite_errorname", "") or "")
        sqlstate = sqlstate or str(getattr(error, "sqlstate", "") or "")
        lost = lost or isinstance(error, OSError)
    message = _first_line(exc.orig)
    code = sqlite_code or sqlstate or type(exc.orig).__name__
    cause = f"{code}: {message}" if message else code
    if sqlite_code.startswith("SQLITE_FULL") or sqlstate in _PG_FULL:
        return DatabaseFault(STORAGE_FULL, cause)
    if sqlite_code.startswith("SQLITE_READONLY") or sqlstate in _PG_READ_ONLY:
        return DatabaseFault(READ_ONLY, cause)
    if (
        lost
        or exc.connection_invalidated
        or sqlstate.startswith("08")
        or sqlstate in _PG_UNAVAILABLE
        or sqlite_code.startswith(_SQLITE_UNAVAILABLE)
    ):
        return DatabaseFault(UNAVAILABLE, cause)
    return None


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    """The driver error and the errors it was raised `from` (not merely during), each once."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__


def _first_line(error: BaseException | None) -> str:
    text = str(error or "").strip().splitlines()
    return text[0][:200] if text else ""
