"""A manual order, recorded before it is sent (the record doubles as the idempotency key's).

The client order id is fixed when the record is made and stored with it, so a retry of
the same request, after a crash or an unknown outcome, asks the exchange for the same
order instead of placing a second one (the exchange is idempotent by client order id).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from domain.bots.trade import Trade, TradeSide
from domain.exchange.market import MarketType
from domain.exchange.order import Order, OrderSide, OrderStatus, OrderType
from domain.orders.idempotency_key import IdempotencyKey
from domain.orders.order_ticket import OrderTicket

CLIENT_ORDER_ID_PREFIX = "tbm-"


class ManualOrderStatus(StrEnum):
    PENDING = "pending"  # recorded; it may or may not be on the exchange yet
    REJECTED = "rejected"  # refused by our checks or by the exchange: nothing was placed
    OPEN = "open"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"


PLACED = frozenset(
    {
        ManualOrderStatus.OPEN,
        ManualOrderStatus.FILLED,
        ManualOrderStatus.CANCELED,
        ManualOrderStatus.EXPIRED,
    }
)
# Done on the exchange: no more fills will come.
SETTLED = frozenset(
    {ManualOrderStatus.FILLED, ManualOrderStatus.CANCELED, ManualOrderStatus.EXPIRED}
)


def manual_client_order_id(user_id: int, key: IdempotencyKey | None, requested_at: datetime) -> str:
    """From the user, their key and when it was first used (so a key used again after it
    expired names a new order); random without a key. 36 characters, Binance's maximum."""
    name = key.value if key is not None else secrets.token_hex(16)
    seed = f"{user_id}\n{name}\n{requested_at.isoformat()}".encode()
    return CLIENT_ORDER_ID_PREFIX + hashlib.sha256(seed).hexdigest()[:32]


@dataclass(eq=False, slots=True)
class ManualOrder:
    user_id: int
    client_order_id: str
    request_hash: str
    symbol: str
    market_type: MarketType
    side: OrderSide
    type: OrderType
    requested_at: datetime
    idempotency_key: str | None = None
    status: ManualOrderStatus = ManualOrderStatus.PENDING
    # While a request is sending this order, others with the same key wait for it.
    lease_until: datetime | None = None
    exchange_order_id: str | None = None
    amount: Decimal | None = None
    filled: Decimal | None = None
    price: Decimal | None = None
    average_price: Decimal | None = None
    fee: Decimal | None = None
    fee_asset: str | None = None
    placed_at: datetime | None = None
    # The key it was sent with (None: the user's key, or the paper account).
    api_key_id: int | None = None
    id: int | None = None

    @classmethod
    def requested(
        cls,
        user_id: int,
        ticket: OrderTicket,
        key: IdempotencyKey | None,
        now: datetime,
        lease_until: datetime,
    ) -> ManualOrder:
        return cls(
            user_id=user_id,
            client_order_id=manual_client_order_id(user_id, key, now),
            request_hash=ticket.fingerprint(),
            symbol=ticket.symbol,
            market_type=ticket.market_type,
            side=ticket.side,
            type=ticket.type,
            requested_at=now,
            idempotency_key=key.value if key is not None else None,
            lease_until=lease_until,
            api_key_id=ticket.api_key_id,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ManualOrder) and self.id is not None and self.id == other.id

    def __hash__(self) -> int:
        return hash(("ManualOrder", self.id))

    @property
    def is_placed(self) -> bool:
        return self.status in PLACED

    def is_for(self, ticket: OrderTicket) -> bool:
        return self.request_hash == ticket.fingerprint()

    @property
    def is_settled(self) -> bool:
        """Done on the exchange: no more fills will come."""
        return self.status in SETTLED

    def is_leased(self, now: datetime) -> bool:
        return self.lease_until is not None and self.lease_until > now

    def placed(self, order: Order) -> None:
        """The exchange's answer; the order is settled and no longer leased."""
        if order.status is OrderStatus.REJECTED:
            self.rejected()
            self.exchange_order_id = order.exchange_order_id
            return
        self.status = ManualOrderStatus(order.status.value)
        self.exchange_order_id = order.exchange_order_id
        self.amount = order.amount
        self.filled = order.filled
        self.price = order.price
        self.average_price = order.average_price
        self.fee = order.fee
        self.fee_asset = order.fee_asset
        self.placed_at = order.created_at
        self.lease_until = None

    def rejected(self) -> None:
        """Nothing was placed: the key is free for another attempt."""
        self.status = ManualOrderStatus.REJECTED
        self.idempotency_key = None
        self.lease_until = None

    def trade(self) -> Trade | None:
        """The fill as the user's trade (of no bot); None while nothing is filled or the
        order still rests on the book (its later fills are not tracked here)."""
        if self.status not in SETTLED:
            return None
        price = self.average_price or self.price
        if not self.filled or self.filled <= 0 or not price or price <= 0:
            return None
        assert self.placed_at is not None
        return Trade(
            user_id=self.user_id,
            bot_config_id=None,
            symbol=self.symbol,
            side=TradeSide.BUY if self.side is OrderSide.BUY else TradeSide.SELL,
            order_type=self.type.value,
            price=price,
            quantity_filled=self.filled,
            quote_quantity_filled=self.filled * price,
            timestamp=self.placed_at,
            binance_order_id=self.exchange_order_id or None,
            commission_amount=self.fee or Decimal(0),
            commission_asset=self.fee_asset or None,
        )
