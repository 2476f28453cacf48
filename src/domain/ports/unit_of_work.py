from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from domain.ports.api_key_repository import ApiKeyRepository
from domain.ports.backtest_repository import BacktestRepository
from domain.ports.bot_config_repository import BotConfigRepository
from domain.ports.bot_state_repository import BotStateRepository
from domain.ports.manual_order_repository import ManualOrderRepository
from domain.ports.optimization_job_repository import OptimizationJobRepository
from domain.ports.order_intent_repository import OrderIntentRepository
from domain.ports.password_reset_repository import PasswordResetRepository
from domain.ports.trade_repository import TradeRepository
from domain.ports.user_repository import UserRepository


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without `commit()` rolls everything back."""

    users: UserRepository
    password_resets: PasswordResetRepository
    api_keys: ApiKeyRepository
    bot_configs: BotConfigRepository
    bot_states: BotStateRepository
    trades: TradeRepository
    backtests: BacktestRepository
    order_intents: OrderIntentRepository
    manual_orders: ManualOrderRepository
    optimization_jobs: OptimizationJobRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...
