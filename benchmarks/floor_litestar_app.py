"""The floor of an authenticated read, for benchmarks/http_load.py.

A bare Litestar app whose routes do only what any authenticated, revocable read must
do per request: check the HS256 bearer token (pyjwt, once per token) and read the user's row once
(active flag and token version, so that a reset password or a disabled account takes
effect at once), then answer a body prepared in advance (the real 50-item listing of the
run). No entities, no validation, no serialisation, no middleware.

- `GET /floor/sqlalchemy`: the read through SQLAlchemy Core (autocommit connection from
  the engine's pool), the stack our repositories are built on;
- `GET /floor/asyncpg`: the same read straight on an asyncpg pool, without the pool's
  per-release reset query (the cheapest round trip Python can make).

Served like the ceiling (uvicorn, same workers and options). Environment:
FLOOR_DATABASE_URL (postgresql+asyncpg://...), FLOOR_JWT_SECRET, FLOOR_BODY_FILE.

    uvicorn benchmarks.floor_litestar_app:app --workers 2
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import asyncpg
import jwt
from litestar import Litestar, Request, Response, get
from litestar.exceptions import NotAuthorizedException
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DATABASE_URL = os.environ["FLOOR_DATABASE_URL"]
SECRET = os.environ["FLOOR_JWT_SECRET"]
BODY = Path(os.environ["FLOOR_BODY_FILE"]).read_bytes()
USER_ROW = "SELECT is_active, token_version FROM users WHERE id = {}"

_verified: dict[str, tuple[int, int, float]] = {}
_engine: list[AsyncEngine] = []
_pool: list[asyncpg.Pool] = []


async def _open() -> None:
    _engine.append(create_async_engine(DATABASE_URL, pool_size=10, isolation_level="AUTOCOMMIT"))

    async def no_reset(_connection: asyncpg.Connection) -> None:
        return None

    _pool.append(
        await asyncpg.create_pool(
            DATABASE_URL.replace("+asyncpg", ""), min_size=10, max_size=10, reset=no_reset
        )
    )


async def _close() -> None:
    await _engine[0].dispose()
    await _pool[0].close()


def _claims(request: Request[Any, Any, Any]) -> tuple[int, int]:
    """(user id, token version); verified by pyjwt once per token, as the API does."""
    token = request.headers.get("authorization", "").partition(" ")[2]
    known = _verified.get(token)
    if known is not None and known[2] > time.time():
        return known[0], known[1]
    try:
        payload = jwt.decode(
            token, SECRET, algorithms=["HS256"], options={"require": ["sub", "iat", "exp", "ver"]}
        )
    except jwt.PyJWTError as exc:
        raise NotAuthorizedException() from exc
    _verified[token] = (int(payload["sub"]), int(payload["ver"]), float(payload["exp"]))
    return _verified[token][0], _verified[token][1]


def _answer(row: Any, version: int) -> Response[bytes]:
    if row is None or not row[0] or row[1] != version:
        raise NotAuthorizedException()
    return Response(BODY, media_type="application/json")


@get("/floor/sqlalchemy")
async def through_sqlalchemy(request: Request[Any, Any, Any]) -> Response[bytes]:
    user_id, version = _claims(request)
    async with _engine[0].connect() as connection:
        result = await connection.execute(text(USER_ROW.format(":id")), {"id": user_id})
        row = result.first()
    return _answer(row, version)


@get("/floor/asyncpg")
async def through_asyncpg(request: Request[Any, Any, Any]) -> Response[bytes]:
    user_id, version = _claims(request)
    async with _pool[0].acquire() as connection:
        row = await connection.fetchrow(USER_ROW.format("$1"), user_id)
    return _answer(row, version)


app = Litestar(
    [through_sqlalchemy, through_asyncpg],
    on_startup=[_open],
    on_shutdown=[_close],
    logging_config=None,
    debug=False,
)
