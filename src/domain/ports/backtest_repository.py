from __future__ import annotations

from typing import Protocol

from domain.backtesting.backtest import Backtest, BacktestSummary


class BacktestRepository(Protocol):
    """Stored backtests, scoped to their owner."""

    async def add(self, backtest: Backtest) -> Backtest: ...

    async def get(self, user_id: int, backtest_id: int) -> Backtest | None: ...

    async def list(self, user_id: int, limit: int, offset: int) -> list[BacktestSummary]:
        """Newest first, as summaries (a list never loads trades or equity curves)."""
        ...

    async def count(self, user_id: int) -> int: ...

    async def delete(self, user_id: int, backtest_id: int) -> bool: ...
