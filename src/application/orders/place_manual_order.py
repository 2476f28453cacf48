"""POST /orders: a manual order through the user's key, honouring an Idempotency-Key."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.orders.manual_order_records import manual_order_account, record_answer
from domain.errors import InvalidInput
from domain.exchange.account import ExchangeAccount
from domain.exchange.order import Order, OrderRequest, OrderType
from domain.orders.errors import IdempotencyKeyReused, RequestInProgress
from domain.orders.idempotency_key import IdempotencyKey
from domain.orders.manual_order import ManualOrder
from domain.orders.order_ticket import OrderTicket
from domain.ports.clock import Clock
from domain.ports.event_bus import EventBus
from domain.ports.exchange_gateway import ExchangeGateway
from domain.ports.secret_vault import SecretVault
from domain.ports.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class IdempotencySettings:
    # How long a key names its first request; afterwards it names a new one.
    key_ttl: timedelta = timedelta(hours=24)
    # How long a request may send its order before another with the same key takes over
    # (a crashed request's lease runs out; a failed one gives it up at once).
    lease: timedelta = timedelta(seconds=60)
    # How long a request waits for another in flight with the same key, and how often it looks.
    wait_seconds: float = 10.0
    poll_seconds: float = 0.05

    @property
    def polls(self) -> int:
        return max(1, round(self.wait_seconds / self.poll_seconds))


@dataclass(frozen=True, slots=True)
class PlaceOrderCommand:
    user_id: int
    ticket: OrderTicket
    idempotency_key: IdempotencyKey | None = None


class PlaceManualOrder:
    """Size the order on the market's grid, refuse it before sending when it is below the
    market's minimums, send it with a client order id, and record its fill as a trade.

    With an idempotency key, the order is recorded under (user, key) before anything is
    sent (insert first: the unique constraint picks one winner among concurrent requests).
    The same key and request then return the stored order, never a second exchange order;
    the same key with another request is a conflict. A request finding the key in flight
    waits for the winner's answer (409 when it takes longer than `wait_seconds`).
    """

    def __init__(
        self,
        uow: UnitOfWork,
        exchange: ExchangeGateway,
        vault: SecretVault,
        events: EventBus,
        clock: Clock,
        requires_api_key: bool,
        settings: IdempotencySettings | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._uow = uow
        self._exchange = exchange
        self._vault = vault
        self._events = events
        self._clock = clock
        self._requires_api_key = requires_api_key
        self._settings = settings or IdempotencySettings()
        self._sleep = sleep

    async def execute(self, command: PlaceOrderCommand) -> ManualOrder:
        order, resumed = await self._claim(command)
        if order.is_placed:
            return order  # a replay: the stored answer, whatever changed since
        try:
            account = await self._account(command.user_id, command.ticket.api_key_id)
            placed = None
            if resumed:
                # An earlier attempt may have placed it before it crashed or lost the answer.
                placed = await self._exchange.fetch_order_by_client_id(
                    account, order.market_type, order.symbol, order.client_order_id
                )
            if placed is None:
                placed = await self._send(account, command.ticket, order)
        except InvalidInput:
            await self._reject(order)
            raise
        except BaseException:
            # The outcome may be unknown: a retry with the key resumes with the same client
            # order id, which the exchange never places twice.
            await self._release(order)
            raise
        return await self._record(order, placed)

    async def _account(self, user_id: int, api_key_id: int | None) -> ExchangeAccount:
        return await manual_order_account(
            self._uow, self._vault, user_id, api_key_id, self._requires_api_key
        )

    async def _claim(self, command: PlaceOrderCommand) -> tuple[ManualOrder, bool]:
        """Our new record (leased to us), or the stored one for the same key: settled, or
        pending with a lease we took over (True: it may already be on the exchange)."""
        settings = self._settings
        key = command.idempotency_key
        insert = True
        for _ in range(settings.polls):
            now = self._clock.now()
            existing: ManualOrder | None = None
            async with self._uow:
                if insert:
                    if key is not None:
                        await self._uow.manual_orders.expire_keys(
                            command.user_id, now - settings.key_ttl
                        )
                    fresh = ManualOrder.requested(
                        command.user_id, command.ticket, key, now, now + settings.lease
                    )
                    stored = await self._uow.manual_orders.add(fresh)
                    if stored is not None:
                        await self._uow.commit()
                        return stored, False
                if key is not None:
                    existing = await self._uow.manual_orders.get_by_key(command.user_id, key.value)
                await self._uow.commit()
            # Gone (its request was rejected, or the key expired): try to take the key.
            insert = existing is None
            if existing is not None:
                if not existing.is_for(command.ticket):
                    raise IdempotencyKeyReused()
                if existing.is_placed:
                    return existing, False
                if not existing.is_leased(now) and await self._take_over(existing, now):
                    return existing, True
            await self._sleep(settings.poll_seconds)
        raise RequestInProgress()

    async def _take_over(self, order: ManualOrder, now: datetime) -> bool:
        assert order.id is not None
        until = now + self._settings.lease
        async with self._uow:
            taken = await self._uow.manual_orders.take_lease(order.id, now, until)
            await self._uow.commit()
        if taken:
            order.lease_until = until
        return taken

    async def _send(
        self, account: ExchangeAccount, ticket: OrderTicket, order: ManualOrder
    ) -> Order:
        market = await self._exchange.fetch_market(ticket.market_type, ticket.symbol)
        last = None
        if ticket.type is OrderType.MARKET:
            last = (await self._exchange.fetch_ticker(ticket.market_type, ticket.symbol)).last
        sized = ticket.size(market, last)
        request = OrderRequest(
            symbol=market.symbol,
            market_type=ticket.market_type,
            side=ticket.side,
            type=ticket.type,
            amount=sized.amount,
            client_order_id=order.client_order_id,
            price=sized.price,
        )
        return await self._exchange.create_order(account, request)

    async def _record(self, order: ManualOrder, placed: Order) -> ManualOrder:
        return await record_answer(self._uow, self._events, order, placed)

    async def _reject(self, order: ManualOrder) -> None:
        order.rejected()
        async with self._uow:
            await self._uow.manual_orders.reject(order)
            await self._uow.commit()

    async def _release(self, order: ManualOrder) -> None:
        assert order.id is not None
        async with self._uow:
            await self._uow.manual_orders.release_lease(order.id)
            await self._uow.commit()
