from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import fields
from typing import Any, cast

from sqlalchemy import Integer, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.tables import bot_configs
from adapters.persistence.types import is_storable_id
from domain.bots.bot_config import BotConfig
from domain.errors import InvalidInput
from domain.ports.bot_config_repository import BotConfigRepository

_STORED_FIELDS = tuple(f.name for f in fields(BotConfig) if f.name != "id")
# Selected in field order: a row is what BotConfig.restore takes.
_COLUMNS = tuple(bot_configs.c[f.name] for f in fields(BotConfig))
# The reads, built once (building a statement costs more than running a cached one).
_ONE = select(*_COLUMNS).where(
    bot_configs.c.id == bindparam("config_id"), bot_configs.c.user_id == bindparam("user_id")
)
_PAGE = (
    select(*_COLUMNS)
    .where(bot_configs.c.user_id == bindparam("user_id"))
    .order_by(bot_configs.c.id)
    .limit(bindparam("limit", type_=Integer))
    .offset(bindparam("offset", type_=Integer))
)
_COUNT = (
    select(func.count())
    .select_from(bot_configs)
    .where(bot_configs.c.user_id == bindparam("user_id"))
)


class SqlBotConfigRepository(BotConfigRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, config: BotConfig) -> BotConfig:
        async with _api_key_checked(self._session):
            result = await self._session.execute(
                insert(bot_configs).values(**_values(config)).returning(bot_configs.c.id)
            )
        config.id = result.scalar_one()
        return config

    async def get(self, user_id: int, config_id: int) -> BotConfig | None:
        if not is_storable_id(config_id):
            return None
        row = (
            await self._session.execute(_ONE, {"config_id": config_id, "user_id": user_id})
        ).first()
        return _to_bot_config(row) if row else None

    async def list(self, user_id: int, limit: int, offset: int) -> list[BotConfig]:
        rows = await self._session.execute(
            _PAGE, {"user_id": user_id, "limit": limit, "offset": offset}
        )
        return [_to_bot_config(row) for row in rows]

    async def count(self, user_id: int) -> int:
        total = await self._session.scalar(_COUNT, {"user_id": user_id})
        return int(total or 0)

    async def update(self, config: BotConfig) -> None:
        assert config.id is not None
        async with _api_key_checked(self._session):
            await self._session.execute(
                update(bot_configs)
                .where(bot_configs.c.id == config.id, bot_configs.c.user_id == config.user_id)
                .values(**_values(config))
            )

    async def delete(self, user_id: int, config_id: int) -> bool:
        if not is_storable_id(config_id):
            return False
        # The state and trades go with it (ON DELETE CASCADE).
        result = await self._session.execute(
            delete(bot_configs).where(
                bot_configs.c.id == config_id, bot_configs.c.user_id == user_id
            )
        )
        return cast("CursorResult[Any]", result).rowcount > 0


@asynccontextmanager
async def _api_key_checked(session: AsyncSession) -> AsyncIterator[None]:
    """A savepoint around a write. A foreign-key failure there means the API key went
    away after the use case checked it, which the user sees as a bad api_key_id."""
    try:
        async with session.begin_nested():
            yield
    except IntegrityError as exc:
        raise InvalidInput(
            "Validation failed", details={"api_key_id": ["no such API key of yours"]}
        ) from exc


def _values(config: BotConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in _STORED_FIELDS}


def _to_bot_config(row: Any) -> BotConfig:
    # By position: reading 40 columns by name costs more than the rest of a list page.
    return BotConfig.restore(row)
