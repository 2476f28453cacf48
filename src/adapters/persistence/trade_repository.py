from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, bindparam, exists, false, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.tables import bot_configs, trades
from adapters.persistence.types import is_storable_id
from domain.bots.errors import BotConfigNotFound
from domain.bots.trade import Trade, TradeSide
from domain.ports.trade_repository import TradeFilter, TradeRepository

_STORED_FIELDS = tuple(f.name for f in fields(Trade) if f.name != "id")
_VALUES = tuple(bindparam(name, type_=trades.c[name].type) for name in _STORED_FIELDS)
# Built once. A bot's trade is inserted only if the bot is the user's own, checked in
# the same statement (one round trip, and no window between the check and the insert).
_ADD = insert(trades).returning(trades.c.id)
_ADD_FOR_OWN_BOT = (
    insert(trades)
    .from_select(
        _STORED_FIELDS,
        select(*_VALUES).where(
            exists().where(
                bot_configs.c.id == bindparam("bot_config_id"),
                bot_configs.c.user_id == bindparam("user_id"),
            )
        ),
    )
    .returning(trades.c.id)
)


class SqlTradeRepository(TradeRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, trade: Trade) -> Trade:
        values = {name: getattr(trade, name) for name in _STORED_FIELDS}
        values["side"] = trade.side.value
        if trade.bot_config_id is None:
            statement = _ADD
        elif is_storable_id(trade.bot_config_id):
            statement = _ADD_FOR_OWN_BOT
        else:
            raise BotConfigNotFound()
        try:
            trade_id = await self._session.scalar(statement, values)
        except IntegrityError as exc:
            # The bot was deleted while the row went in.
            raise BotConfigNotFound() from exc
        if trade_id is None:
            raise BotConfigNotFound()
        trade.id = trade_id
        return trade

    async def get(self, user_id: int, trade_id: int) -> Trade | None:
        if not is_storable_id(trade_id):
            return None
        row = (
            await self._session.execute(
                select(trades).where(trades.c.id == trade_id, trades.c.user_id == user_id)
            )
        ).first()
        return _to_trade(row) if row else None

    async def list(
        self, user_id: int, trade_filter: TradeFilter, limit: int, offset: int
    ) -> list[Trade]:
        rows = await self._session.execute(
            select(trades)
            .where(trades.c.user_id == user_id, *_conditions(trade_filter))
            .order_by(trades.c.timestamp.desc(), trades.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [_to_trade(row) for row in rows]

    async def count(self, user_id: int, trade_filter: TradeFilter) -> int:
        total = await self._session.scalar(
            select(func.count())
            .select_from(trades)
            .where(trades.c.user_id == user_id, *_conditions(trade_filter))
        )
        return int(total or 0)

    async def realized_pnl_since(self, user_id: int, since: datetime | None = None) -> Decimal:
        amount = func.coalesce(trades.c.realized_pnl, trades.c.pnl)
        conditions = [trades.c.user_id == user_id, amount.is_not(None)]
        if since is not None:
            conditions.append(trades.c.timestamp >= since)
        if self._session.get_bind().dialect.name == "sqlite":
            # SQLite keeps money as text and its SUM() adds binary floats (0.1 + 0.2 is
            # 0.30000000000000004): read the amounts and add the exact decimals here.
            amounts = await self._session.scalars(select(amount).where(*conditions))
            return sum(amounts, Decimal(0))
        total = await self._session.scalar(select(func.sum(amount)).where(*conditions))
        return total if total is not None else Decimal(0)


def _conditions(trade_filter: TradeFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if trade_filter.bot_config_id is not None:
        if not is_storable_id(trade_filter.bot_config_id):
            return [false()]
        conditions.append(trades.c.bot_config_id == trade_filter.bot_config_id)
    if trade_filter.symbol is not None:
        conditions.append(trades.c.symbol == trade_filter.symbol)
    if trade_filter.side is not None:
        conditions.append(trades.c.side == trade_filter.side.value)
    if trade_filter.start is not None:
        conditions.append(trades.c.timestamp >= trade_filter.start)
    if trade_filter.end is not None:
        conditions.append(trades.c.timestamp <= trade_filter.end)
    return conditions


def _to_trade(row: Any) -> Trade:
    values = {name: getattr(row, name) for name in _STORED_FIELDS}
    values["side"] = TradeSide(row.side)
    return Trade(id=row.id, **values)
