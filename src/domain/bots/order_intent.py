"""An order the bot decided to place, recorded before it is sent (crash safety).

The client order id is derived from the bot and the decision, so after a crash the
order can be looked up on the exchange instead of being sent twice. An intent ends in
one of the exchange's outcomes: filled, partly filled (then cancelled or expired),
failed (rejected), or expired (never sent within one candle of its decision, or
expired on the exchange with nothing filled).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from domain.exchange.market import MarketType
from domain.exchange.order import OrderSide
from domain.trading.risk_engine import Fill, Side


class IntentStatus(StrEnum):
    PENDING = "pending"
    FILLED = "filled"
    PARTIALLY_FILLED = "partially_filled"
    FAILED = "failed"
    EXPIRED = "expired"


def client_order_id(bot_config_id: int, candle_open_ms: int, sequence: int) -> str:
    """Deterministic per decision: the bot, the candle it was taken on, its place there."""
    return f"tb{bot_config_id}-{candle_open_ms // 1000}-{sequence}"


def client_order_prefix(bot_config_id: int) -> str:
    """Every client order id of the bot starts with this."""
    return f"tb{bot_config_id}-"


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
    pnl: Decimal | None = None  # the engine's realised PnL for an exit (what it booked)
    status: IntentStatus = IntentStatus.PENDING
    exchange_order_id: str | None = None
    error: str | None = None
    # When it was last handed to the exchange (None: never). While sent and not found,
    # its fate is unknown: it is asked for by client order id, never sent again blindly.
    sent_at: datetime | None = None
    filled_amount: Decimal | None = None
    id: int | None = None

    @classmethod
    def for_decision(
        cls,
        user_id: int,
        bot_config_id: int,
        symbol: str,
        market_type: MarketType,
        fill: Fill,
        candle_open_ms: int,
        sequence: int,
        now: datetime,
    ) -> OrderIntent:
        """The order for one engine decision (an entry, or an exit with its reason)."""
        buying = (fill.side is Side.LONG) == fill.is_entry
        return cls(
            user_id=user_id,
            bot_config_id=bot_config_id,
            client_order_id=client_order_id(bot_config_id, candle_open_ms, sequence),
            symbol=symbol,
            market_type=market_type,
            side=OrderSide.BUY if buying else OrderSide.SELL,
            amount=_decimal(fill.quantity),
            reduce_only=not fill.is_entry and market_type is MarketType.FUTURES,
            reason="entry" if fill.is_entry else (fill.reason.value if fill.reason else "exit"),
            candle_open_ms=candle_open_ms,
            created_at=now,
            pnl=None if fill.is_entry else _decimal(fill.pnl),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OrderIntent) and self.id is not None and self.id == other.id

    def __hash__(self) -> int:
        return hash(("OrderIntent", self.id))

    @property
    def is_entry(self) -> bool:
        return self.reason == "entry"

    @property
    def engine_pnl(self) -> float:
        return float(self.pnl) if self.pnl is not None else 0.0

    def sent(self, now: datetime) -> None:
        self.sent_at = now

    def expires_at_ms(self, candle_ms: int) -> int:
        """Not sent by the close of the candle after its decision's: never sent."""
        return self.candle_open_ms + 2 * candle_ms

    def filled(self, exchange_order_id: str, amount: Decimal | None = None) -> None:
        self.status = IntentStatus.FILLED
        self.exchange_order_id = exchange_order_id
        self.filled_amount = amount

    def partially_filled(self, exchange_order_id: str, amount: Decimal, why: str) -> None:
        self.status = IntentStatus.PARTIALLY_FILLED
        self.exchange_order_id = exchange_order_id
        self.filled_amount = amount
        self.error = why[:500]

    def failed(self, error: str) -> None:
        self.status = IntentStatus.FAILED
        self.error = error[:500]

    def expired(self, why: str, exchange_order_id: str | None = None) -> None:
        self.status = IntentStatus.EXPIRED
        self.exchange_order_id = exchange_order_id or self.exchange_order_id
        self.filled_amount = Decimal(0)
        self.error = why[:500]


def _decimal(value: float) -> Decimal:
    # float() first: engine values read from numpy arrays are numpy floats.
    return Decimal(repr(float(value)))
