from __future__ import annotations

from dataclasses import fields
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.tables import bot_states
from adapters.persistence.trading_state_codec import decode_trading_state, encode_trading_state
from adapters.persistence.types import is_storable_id
from domain.bots.bot_state import BotState, BotStatus
from domain.bots.errors import StaleBotState
from domain.bots.open_position import OpenPosition
from domain.ports.bot_state_repository import BotStateRepository
from domain.trading import strategy_state

_STORED_FIELDS = tuple(f.name for f in fields(BotState) if f.name != "id")


class SqlBotStateRepository(BotStateRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, state: BotState) -> BotState:
        result = await self._session.execute(
            insert(bot_states).values(**_values(state)).returning(bot_states.c.id)
        )
        state.id = result.scalar_one()
        return state

    async def get(self, user_id: int, bot_config_id: int) -> BotState | None:
        if not is_storable_id(bot_config_id):
            return None
        row = (
            await self._session.execute(
                select(bot_states).where(
                    bot_states.c.bot_config_id == bot_config_id,
                    bot_states.c.user_id == user_id,
                )
            )
        ).first()
        return _to_bot_state(row) if row else None

    async def list_in_position(self, user_id: int) -> list[BotState]:
        rows = await self._session.execute(
            select(bot_states)
            .where(bot_states.c.user_id == user_id, bot_states.c.in_position.is_(True))
            .order_by(bot_states.c.bot_config_id)
        )
        return [_to_bot_state(row) for row in rows]

    async def update(self, state: BotState) -> None:
        """Store the state if nobody stored another since it was read (StaleBotState)."""
        assert state.id is not None
        result = await self._session.execute(
            update(bot_states)
            .where(
                bot_states.c.id == state.id,
                bot_states.c.user_id == state.user_id,
                bot_states.c.version == state.version,
            )
            .values(**{**_values(state), "version": state.version + 1})
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleBotState()
        state.version += 1


def _values(state: BotState) -> dict[str, Any]:
    values = {name: getattr(state, name) for name in _STORED_FIELDS}
    values["status"] = state.status.value
    values["engine"] = encode_trading_state(state.engine)
    values["signals"] = strategy_state.to_dict(state.signals) if state.signals else None
    values["filled_position"] = state.filled_position.to_dict() if state.filled_position else None
    return values


def _to_bot_state(row: Any) -> BotState:
    values = {name: getattr(row, name) for name in _STORED_FIELDS}
    values["status"] = BotStatus(row.status)
    values["engine"] = decode_trading_state(row.engine)
    values["signals"] = strategy_state.from_dict(row.signals) if row.signals else None
    values["filled_position"] = (
        OpenPosition.from_dict(row.filled_position) if row.filled_position else None
    )
    return BotState(id=row.id, **values)
