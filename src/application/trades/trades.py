"""Trade records: create (for the user's own bot), read one, list with filters."""

from __future__ import annotations

from dataclasses import dataclass

from application.pagination import Page, PageRequest
from domain.bots.errors import BotConfigNotFound, TradeNotFound
from domain.bots.trade import Trade
from domain.ports.trade_repository import TradeFilter
from domain.ports.unit_of_work import UnitOfWork


class RecordTrade:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(self, trade: Trade) -> Trade:
        if trade.bot_config_id is None:
            raise BotConfigNotFound()
        async with self._uow:
            # BotConfigNotFound unless the bot is the user's own.
            trade = await self._uow.trades.add(trade)
            await self._uow.commit()
        return trade


class GetTrade:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(self, user_id: int, trade_id: int) -> Trade:
        async with self._uow:
            trade = await self._uow.trades.get(user_id, trade_id)
        if trade is None:
            raise TradeNotFound()
        return trade


@dataclass(frozen=True, slots=True)
class ListTradesQuery:
    user_id: int
    trade_filter: TradeFilter
    page: PageRequest


class ListTrades:
    """The user's trades, newest first, filtered and paginated."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(self, query: ListTradesQuery) -> Page[Trade]:
        async with self._uow:
            items = await self._uow.trades.list(
                query.user_id, query.trade_filter, query.page.limit, query.page.offset
            )
            total = await self._uow.trades.count(query.user_id, query.trade_filter)
        return Page(items, total)
