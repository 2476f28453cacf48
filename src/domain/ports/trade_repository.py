from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from domain.bots.trade import Trade, TradeSide


@dataclass(frozen=True, slots=True)
class TradeFilter:
    bot_config_id: int | None = None
    symbol: str | None = None
    side: TradeSide | None = None
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # inclusive


class TradeRepository(Protocol):
    async def add(self, trade: Trade) -> Trade:
        """Store the trade and set its id. A bot's trade (`bot_config_id` set) is stored
        only when the bot is the user's own: BotConfigNotFound otherwise."""
        ...

    async def get(self, user_id: int, trade_id: int) -> Trade | None: ...

    async def list(
        self, user_id: int, trade_filter: TradeFilter, limit: int, offset: int
    ) -> list[Trade]:
        """Newest first (by timestamp, then id)."""
        ...

    async def count(self, user_id: int, trade_filter: TradeFilter) -> int: ...

    async def realized_pnl_since(self, user_id: int, since: datetime | None = None) -> Decimal:
        """The exact sum of the realised PnL of the user's trades at or after `since` (all
        of them when None): each trade's `realized_pnl`, or its `pnl` when that is unset;
        trades with neither (entries) add nothing."""
        ...
