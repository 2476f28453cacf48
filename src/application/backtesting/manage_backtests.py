from __future__ import annotations

from application.pagination import Page, PageRequest
from domain.backtesting.backtest import Backtest, BacktestSummary
from domain.errors import NotFound
from domain.ports.unit_of_work import UnitOfWork


class BacktestNotFound(NotFound):
    message = "Backtest not found"


class GetBacktest:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(self, user_id: int, backtest_id: int) -> Backtest:
        async with self._uow:
            backtest = await self._uow.backtests.get(user_id, backtest_id)
        if backtest is None:
            raise BacktestNotFound()
        return backtest


class ListBacktests:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(self, user_id: int, page: PageRequest) -> Page[BacktestSummary]:
        async with self._uow:
            items = await self._uow.backtests.list(user_id, page.limit, page.offset)
            total = await self._uow.backtests.count(user_id)
        return Page(items, total)


class DeleteBacktest:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(self, user_id: int, backtest_id: int) -> None:
        async with self._uow:
            if not await self._uow.backtests.delete(user_id, backtest_id):
                raise BacktestNotFound()
            await self._uow.commit()
