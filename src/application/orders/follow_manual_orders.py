"""Manual orders seen to their end, by the worker: a resting limit order is asked about
until it fills (its fill becomes a trade), is cancelled or expires; an order left
`pending` by a crash between send and store is found by its client order id (recorded
as the exchange has it) or, once it can no longer arrive, marked rejected."""

from __future__ import annotations

import logging
from datetime import timedelta

from application.orders.manual_order_records import manual_order_account, record_answer
from domain.errors import DomainError
from domain.exchange.errors import ExchangeRateLimited, ExchangeUnavailable
from domain.orders.manual_order import ManualOrder, ManualOrderStatus
from domain.ports.clock import Clock
from domain.ports.event_bus import EventBus
from domain.ports.exchange_gateway import ExchangeGateway
from domain.ports.secret_vault import SecretVault
from domain.ports.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# A pending order not on the exchange this long after it was requested never will be
# (Binance refuses a request older than its receive window).
NEVER_ARRIVES = timedelta(minutes=2)
BATCH = 50


class FollowManualOrders:
    def __init__(
        self,
        uow: UnitOfWork,
        exchange: ExchangeGateway,
        vault: SecretVault,
        events: EventBus,
        clock: Clock,
        requires_api_key: bool,
    ) -> None:
        self._uow = uow
        self._exchange = exchange
        self._vault = vault
        self._events = events
        self._clock = clock
        self._requires_api_key = requires_api_key

    async def execute(self) -> int:
        """Look at every unsettled order once; returns how many became settled."""
        now = self._clock.now()
        async with self._uow:
            orders = await self._uow.manual_orders.unsettled(now, BATCH)
        settled = 0
        for order in orders:
            try:
                settled += await self._follow(order)
            except (ExchangeUnavailable, ExchangeRateLimited):
                continue  # asked again at the next look
            except DomainError as exc:
                log.warning("manual order %s: %s", order.id, exc.message)
        return settled

    async def _follow(self, order: ManualOrder) -> int:
        account = await manual_order_account(
            self._uow, self._vault, order.user_id, order.api_key_id, self._requires_api_key
        )
        placed = await self._exchange.fetch_order_by_client_id(
            account, order.market_type, order.symbol, order.client_order_id
        )
        if placed is None:
            if order.status is ManualOrderStatus.PENDING and (
                self._clock.now() - order.requested_at >= NEVER_ARRIVES
            ):
                order.rejected()
                async with self._uow:
                    await self._uow.manual_orders.reject(order)
                    await self._uow.commit()
            return 0
        if placed.status.value == order.status.value and placed.filled == order.filled:
            return 0  # still resting, nothing new
        stored = await record_answer(self._uow, self._events, order, placed)
        return 1 if stored.is_settled else 0
