from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.persistence.api_key_repository import SqlApiKeyRepository
from adapters.persistence.backtest_repository import SqlBacktestRepository
from adapters.persistence.bot_config_repository import SqlBotConfigRepository
from adapters.persistence.bot_state_repository import SqlBotStateRepository
from adapters.persistence.manual_order_repository import SqlManualOrderRepository
from adapters.persistence.optimization_job_repository import SqlOptimizationJobRepository
from adapters.persistence.order_intent_repository import SqlOrderIntentRepository
from adapters.persistence.password_reset_repository import SqlPasswordResetRepository
from adapters.persistence.trade_repository import SqlTradeRepository
from adapters.persistence.user_repository import SqlUserRepository
from domain.ports.unit_of_work import UnitOfWork


class SqlUnitOfWork(UnitOfWork):
    """One session per `async with` block; rolled back unless committed.

    A `read_only` one is given the read session factory (`create_read_session_factory`,
    autocommit on PostgreSQL: a read costs no BEGIN and no ROLLBACK round trips) and
    refuses to commit.
    """

    def __init__(self, session_factory: async_sessionmaker[Any], read_only: bool = False) -> None:
        self._session_factory = session_factory
        self._read_only = read_only
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("unit of work is already open")
        self._session = self._session_factory()
        self.users = SqlUserRepository(self._session)
        self.password_resets = SqlPasswordResetRepository(self._session)
        self.api_keys = SqlApiKeyRepository(self._session)
        self.bot_configs = SqlBotConfigRepository(self._session)
        self.bot_states = SqlBotStateRepository(self._session)
        self.trades = SqlTradeRepository(self._session)
        self.backtests = SqlBacktestRepository(self._session)
        self.order_intents = SqlOrderIntentRepository(self._session)
        self.manual_orders = SqlManualOrderRepository(self._session)
        self.optimization_jobs = SqlOptimizationJobRepository(self._session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._session is not None
        try:
            await self._session.rollback()
        finally:
            await self._session.close()
            self._session = None

    async def commit(self) -> None:
        assert self._session is not None
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        await self._session.commit()

    async def rollback(self) -> None:
        assert self._session is not None
        await self._session.rollback()
