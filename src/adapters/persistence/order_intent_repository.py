from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.tables import order_intents
from domain.bots.order_intent import IntentStatus, OrderIntent
from domain.exchange.market import MarketType
from domain.exchange.order import OrderSide
from domain.ports.order_intent_repository import OrderIntentRepository


class SqlOrderIntentRepository(OrderIntentRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, intent: OrderIntent) -> OrderIntent:
        try:
            async with self._session.begin_nested():
                result = await self._session.execute(
                    insert(order_intents).values(**_values(intent)).returning(order_intents.c.id)
                )
        except IntegrityError:
            existing = await self._by_client_id(intent.client_order_id)
            assert existing is not None
            return existing
        intent.id = result.scalar_one()
        return intent

    async def pending(self, bot_config_id: int | None = None) -> list[OrderIntent]:
        query = select(order_intents).where(order_intents.c.status == IntentStatus.PENDING.value)
        if bot_config_id is not None:
            query = query.where(order_intents.c.bot_config_id == bot_config_id)
        rows = await self._session.execute(query.order_by(order_intents.c.id))
        return [_to_intent(row) for row in rows]

    async def update(self, intent: OrderIntent) -> None:
        await self._session.execute(
            update(order_intents)
            .where(order_intents.c.id == intent.id)
            .values(
                status=intent.status.value,
                exchange_order_id=intent.exchange_order_id,
                error=intent.error,
                sent_at=intent.sent_at,
                filled_amount=intent.filled_amount,
            )
        )

    async def mark_sent(self, intent: OrderIntent) -> bool:
        result = await self._session.execute(
            update(order_intents)
            .where(
                order_intents.c.id == intent.id,
                order_intents.c.status == IntentStatus.PENDING.value,
            )
            .values(sent_at=intent.sent_at)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def expire_unsent(self, bot_config_id: int, reason: str) -> int:
        result = await self._session.execute(
            update(order_intents)
            .where(
                order_intents.c.bot_config_id == bot_config_id,
                order_intents.c.status == IntentStatus.PENDING.value,
                order_intents.c.sent_at.is_(None),
            )
            .values(status=IntentStatus.EXPIRED.value, error=reason[:500])
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def _by_client_id(self, client_order_id: str) -> OrderIntent | None:
        row = (
            await self._session.execute(
                select(order_intents).where(order_intents.c.client_order_id == client_order_id)
            )
        ).first()
        return _to_intent(row) if row else None


def _values(intent: OrderIntent) -> dict[str, Any]:
    return {
        "user_id": intent.user_id,
        "bot_config_id": intent.bot_config_id,
        "client_order_id": intent.client_order_id,
        "symbol": intent.symbol,
        "market_type": intent.market_type.value,
        "side": intent.side.value,
        "amount": intent.amount,
        "reduce_only": intent.reduce_only,
        "reason": intent.reason,
        "candle_open_ms": intent.candle_open_ms,
        "pnl": intent.pnl,
        "status": intent.status.value,
        "exchange_order_id": intent.exchange_order_id,
        "error": intent.error,
        "created_at": intent.created_at,
        "sent_at": intent.sent_at,
        "filled_amount": intent.filled_amount,
    }


def _to_intent(row: Any) -> OrderIntent:
    return OrderIntent(
        id=row.id,
        user_id=row.user_id,
        bot_config_id=row.bot_config_id,
        client_order_id=row.client_order_id,
        symbol=row.symbol,
        market_type=MarketType(row.market_type),
        side=OrderSide(row.side),
        amount=row.amount,
        reduce_only=row.reduce_only,
        reason=row.reason,
        candle_open_ms=row.candle_open_ms,
        pnl=row.pnl,
        status=IntentStatus(row.status),
        exchange_order_id=row.exchange_order_id,
        error=row.error,
        created_at=row.created_at,
        sent_at=row.sent_at,
        filled_amount=row.filled_amount,
    )
