from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.tables import manual_orders
from adapters.persistence.types import is_storable_id
from domain.exchange.market import MarketType
from domain.exchange.order import OrderSide, OrderType
from domain.orders.manual_order import ManualOrder, ManualOrderStatus
from domain.ports.manual_order_repository import ManualOrderRepository

_PENDING = ManualOrderStatus.PENDING.value
_REJECTED = ManualOrderStatus.REJECTED.value
_OPEN = ManualOrderStatus.OPEN.value


class SqlManualOrderRepository(ManualOrderRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, order: ManualOrder) -> ManualOrder | None:
        try:
            async with self._session.begin_nested():
                result = await self._session.execute(
                    insert(manual_orders).values(**_values(order)).returning(manual_orders.c.id)
                )
        except IntegrityError:
            # The unique (user_id, idempotency_key): another request holds the key. On
            # PostgreSQL the insert waited for that request's transaction to end.
            return None
        order.id = result.scalar_one()
        return order

    async def get(self, user_id: int, order_id: int) -> ManualOrder | None:
        if not is_storable_id(order_id):
            return None
        row = (
            await self._session.execute(
                select(manual_orders).where(
                    manual_orders.c.id == order_id, manual_orders.c.user_id == user_id
                )
            )
        ).first()
        return _to_order(row) if row else None

    async def get_by_key(self, user_id: int, key: str) -> ManualOrder | None:
        row = (
            await self._session.execute(
                select(manual_orders).where(
                    manual_orders.c.user_id == user_id, manual_orders.c.idempotency_key == key
                )
            )
        ).first()
        return _to_order(row) if row else None

    async def expire_keys(self, user_id: int, requested_before: datetime) -> None:
        await self._session.execute(
            update(manual_orders)
            .where(
                manual_orders.c.user_id == user_id,
                manual_orders.c.idempotency_key.is_not(None),
                manual_orders.c.requested_at < requested_before,
            )
            .values(idempotency_key=None)
        )

    async def take_lease(self, order_id: int, now: datetime, until: datetime) -> bool:
        result = await self._changed(
            update(manual_orders)
            .where(
                manual_orders.c.id == order_id,
                manual_orders.c.status == _PENDING,
                or_(manual_orders.c.lease_until.is_(None), manual_orders.c.lease_until <= now),
            )
            .values(lease_until=until)
        )
        return result == 1

    async def release_lease(self, order_id: int) -> None:
        await self._session.execute(
            update(manual_orders)
            .where(manual_orders.c.id == order_id, manual_orders.c.status == _PENDING)
            .values(lease_until=None)
        )

    async def complete(self, order: ManualOrder) -> bool:
        # A rejected record is completed too: the exchange's answer is the truth.
        changed = await self._changed(
            update(manual_orders)
            .where(
                manual_orders.c.id == order.id,
                manual_orders.c.status.in_((_PENDING, _REJECTED, _OPEN)),
            )
            .values(
                status=order.status.value,
                lease_until=None,
                exchange_order_id=order.exchange_order_id,
                amount=order.amount,
                filled=order.filled,
                price=order.price,
                average_price=order.average_price,
                fee=order.fee,
                fee_asset=order.fee_asset,
                placed_at=order.placed_at,
            )
        )
        return changed == 1

    async def unsettled(self, now: datetime, limit: int) -> list[ManualOrder]:
        rows = await self._session.execute(
            select(manual_orders)
            .where(
                or_(
                    manual_orders.c.status == _OPEN,
                    (manual_orders.c.status == _PENDING)
                    & or_(
                        manual_orders.c.lease_until.is_(None), manual_orders.c.lease_until <= now
                    ),
                )
            )
            .order_by(manual_orders.c.id)
            .limit(limit)
        )
        return [_to_order(row) for row in rows]

    async def reject(self, order: ManualOrder) -> None:
        await self._session.execute(
            update(manual_orders)
            .where(manual_orders.c.id == order.id, manual_orders.c.status == _PENDING)
            .values(status=_REJECTED, idempotency_key=None, lease_until=None)
        )

    async def _changed(self, statement: Any) -> int:
        result = await self._session.execute(statement)
        return cast("CursorResult[Any]", result).rowcount


def _values(order: ManualOrder) -> dict[str, Any]:
    return {
        "user_id": order.user_id,
        "idempotency_key": order.idempotency_key,
        "request_hash": order.request_hash,
        "client_order_id": order.client_order_id,
        "symbol": order.symbol,
        "market_type": order.market_type.value,
        "side": order.side.value,
        "type": order.type.value,
        "status": order.status.value,
        "lease_until": order.lease_until,
        "exchange_order_id": order.exchange_order_id,
        "amount": order.amount,
        "filled": order.filled,
        "price": order.price,
        "average_price": order.average_price,
        "fee": order.fee,
        "fee_asset": order.fee_asset,
        "requested_at": order.requested_at,
        "placed_at": order.placed_at,
        "api_key_id": order.api_key_id,
    }


def _to_order(row: Any) -> ManualOrder:
    return ManualOrder(
        id=row.id,
        user_id=row.user_id,
        client_order_id=row.client_order_id,
        request_hash=row.request_hash,
        symbol=row.symbol,
        market_type=MarketType(row.market_type),
        side=OrderSide(row.side),
        type=OrderType(row.type),
        requested_at=row.requested_at,
        idempotency_key=row.idempotency_key,
        status=ManualOrderStatus(row.status),
        lease_until=row.lease_until,
        exchange_order_id=row.exchange_order_id,
        amount=row.amount,
        filled=row.filled,
        price=row.price,
        average_price=row.average_price,
        fee=row.fee,
        fee_asset=row.fee_asset,
        placed_at=row.placed_at,
        api_key_id=row.api_key_id,
    )
