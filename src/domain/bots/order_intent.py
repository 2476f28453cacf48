"""An order the bot decided to place, recorded before it is sent (crash safety).

The client order id is derived from the bot and the decision, so after a crash
the order can be looked up on the exchange instead of being sent twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from domain.exchange.market import MarketType
from domain.exchange.order import OrderSide


class IntentStatus(StrEnum):
    PENDING = "pending"
    FILLED = "filled"
    FAILED = "failed"


def client_order_id(bot_config_id: int, candle_open_ms: int, sequence: int) -> str:
    """Deterministic per decision: the bot, the candle it was taken on, its place there."""
    return f"tb{bot_config_id}-{candle_open_ms // 1000}-{sequence}"


@dataclass(eq=False, slots=True)
class OrderIntent:
    user_id: int
    bot_config_id: int
    client_order_id: str
    symbol: str
    market_type: MarketType
    side: OrderSide
    amount: Decimal
    reduce_only: bool
    reason: str  # "entry" or the exit reason
    candle_open_ms: int
    created_at: datetime
    pnl: Decimal | None = None  # the engine's realised PnL for an exit
    status: IntentStatus = IntentStatus.PENDING
    exchange_order_id: str | None = None
    error: str | None = None
    id: int | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OrderIntent) and self.id is not None and self.id == other.id

    def __hash__(self) -> int:
        return hash(("OrderIntent", self.id))

    def filled(self, exchange_order_id: str) -> None:
        self.status = IntentStatus.FILLED
        self.exchange_order_id = exchange_order_id

    def failed(self, error: str) -> None:
        self.status = IntentStatus.FAILED
        self.error = error[:500]
