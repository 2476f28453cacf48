"""The paper exchange's ledgers (wallets, orders, positions, leverage) in the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.tables import (
    paper_balances,
    paper_leverage,
    paper_orders,
    paper_positions,
)
from domain.exchange.balance import Wallet
from domain.exchange.market import MarketType
from domain.exchange.order import Order, OrderSide, OrderStatus, OrderType
from domain.exchange.position import PositionSide


@dataclass
class PaperPosition:
    symbol: str
    side: PositionSide
    amount: Decimal
    entry_price: Decimal
    margin: Decimal
    leverage: int


class PaperBooks:
    """One user's books inside one transaction (the caller commits)."""

    def __init__(self, session: AsyncSession, user_id: int) -> None:
        self._session = session
        self._user = user_id

    async def open_account(self, starting: dict[Wallet, Decimal], asset: str) -> None:
        """Create the starting balances on first use, and lock the account's rows."""
        query = select(paper_balances.c.asset).where(paper_balances.c.user_id == self._user)
        if self._session.bind is not None and self._session.bind.dialect.name == "postgresql":
            query = query.with_for_update()
        if (await self._session.execute(query)).first() is None:
            for wallet, amount in starting.items():
                await self._session.execute(
                    insert(paper_balances).values(
                        user_id=self._user, wallet=wallet.value, asset=asset, amount=amount
                    )
                )

    async def wallet(self, wallet: Wallet) -> dict[str, Decimal]:
        rows = await self._session.execute(
            select(paper_balances.c.asset, paper_balances.c.amount).where(
                paper_balances.c.user_id == self._user, paper_balances.c.wallet == wallet.value
            )
        )
        return {row.asset: row.amount for row in rows}

    async def balance(self, wallet: Wallet, asset: str) -> Decimal:
        return (await self.wallet(wallet)).get(asset, Decimal(0))

    async def add(self, wallet: Wallet, asset: str, delta: Decimal) -> Decimal:
        new = await self.balance(wallet, asset) + delta
        where = and_(
            paper_balances.c.user_id == self._user,
            paper_balances.c.wallet == wallet.value,
            paper_balances.c.asset == asset,
        )
        result = await self._session.execute(update(paper_balances).where(where).values(amount=new))
        if cast("CursorResult[Any]", result).rowcount == 0:
            await self._session.execute(
                insert(paper_balances).values(
                    user_id=self._user, wallet=wallet.value, asset=asset, amount=new
                )
            )
        return new

    async def order_by_client_id(
        self, market_type: MarketType, client_order_id: str
    ) -> Order | None:
        row = (
            await self._session.execute(
                select(paper_orders).where(
                    paper_orders.c.user_id == self._user,
                    paper_orders.c.market_type == market_type.value,
                    paper_orders.c.client_order_id == client_order_id,
                )
            )
        ).first()
        return _to_order(row) if row else None

    async def insert_order(self, order: Order, reduce_only: bool) -> Order:
        result = await self._session.execute(
            insert(paper_orders)
            .values(
                user_id=self._user,
                market_type=order.market_type.value,
                client_order_id=order.client_order_id,
                symbol=order.symbol,
                side=order.side.value,
                type=order.type.value,
                status=order.status.value,
                amount=order.amount,
                filled=order.filled,
                price=order.price,
                average_price=order.average_price,
                fee=order.fee,
                fee_asset=order.fee_asset,
                reduce_only=reduce_only,
                created_at=order.created_at,
            )
            .returning(paper_orders.c.id)
        )
        order_id = result.scalar_one()
        return await self._order(order_id)

    async def settle_order(
        self,
        exchange_order_id: str,
        status: OrderStatus,
        filled: Decimal,
        average_price: Decimal | None,
        fee: Decimal,
    ) -> None:
        await self._session.execute(
            update(paper_orders)
            .where(paper_orders.c.id == _row_id(exchange_order_id))
            .values(status=status.value, filled=filled, average_price=average_price, fee=fee)
        )

    async def open_orders(
        self, market_type: MarketType | None = None, symbol: str | None = None
    ) -> list[tuple[Order, bool]]:
        query = select(paper_orders).where(
            paper_orders.c.user_id == self._user, paper_orders.c.status == OrderStatus.OPEN.value
        )
        if market_type is not None:
            query = query.where(paper_orders.c.market_type == market_type.value)
        if symbol is not None:
            query = query.where(paper_orders.c.symbol == symbol)
        rows = await self._session.execute(query.order_by(paper_orders.c.id))
        return [(_to_order(row), bool(row.reduce_only)) for row in rows]

    async def position(self, symbol: str) -> PaperPosition | None:
        row = (
            await self._session.execute(
                select(paper_positions).where(
                    paper_positions.c.user_id == self._user, paper_positions.c.symbol == symbol
                )
            )
        ).first()
        return _to_position(row) if row else None

    async def positions(self) -> list[PaperPosition]:
        rows = await self._session.execute(
            select(paper_positions)
            .where(paper_positions.c.user_id == self._user)
            .order_by(paper_positions.c.symbol)
        )
        return [_to_position(row) for row in rows]

    async def save_position(self, position: PaperPosition | None, symbol: str) -> None:
        await self._session.execute(
            delete(paper_positions).where(
                paper_positions.c.user_id == self._user, paper_positions.c.symbol == symbol
            )
        )
        if position is not None and position.amount > 0:
            await self._session.execute(
                insert(paper_positions).values(
                    user_id=self._user,
                    symbol=symbol,
                    side=position.side.value,
                    amount=position.amount,
                    entry_price=position.entry_price,
                    margin=position.margin,
                    leverage=position.leverage,
                )
            )

    async def leverage(self, symbol: str) -> int | None:
        row = (
            await self._session.execute(
                select(paper_leverage.c.leverage).where(
                    paper_leverage.c.user_id == self._user, paper_leverage.c.symbol == symbol
                )
            )
        ).first()
        return int(row.leverage) if row else None

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        await self._session.execute(
            delete(paper_leverage).where(
                paper_leverage.c.user_id == self._user, paper_leverage.c.symbol == symbol
            )
        )
        await self._session.execute(
            insert(paper_leverage).values(user_id=self._user, symbol=symbol, leverage=leverage)
        )

    async def _order(self, order_id: int) -> Order:
        row = (
            await self._session.execute(select(paper_orders).where(paper_orders.c.id == order_id))
        ).one()
        return _to_order(row)


def _row_id(exchange_order_id: str) -> int:
    return int(exchange_order_id.removeprefix("paper-"))


def _to_order(row: Any) -> Order:
    created: datetime = row.created_at
    return Order(
        exchange_order_id=f"paper-{row.id}",
        client_order_id=row.client_order_id,
        symbol=row.symbol,
        market_type=MarketType(row.market_type),
        side=OrderSide(row.side),
        type=OrderType(row.type),
        status=OrderStatus(row.status),
        amount=row.amount,
        filled=row.filled,
        price=row.price,
        average_price=row.average_price,
        fee=row.fee,
        fee_asset=row.fee_asset,
        created_at=created,
    )


def _to_position(row: Any) -> PaperPosition:
    return PaperPosition(
        symbol=row.symbol,
        side=PositionSide(row.side),
        amount=row.amount,
        entry_price=row.entry_price,
        margin=row.margin,
        leverage=row.leverage,
    )
