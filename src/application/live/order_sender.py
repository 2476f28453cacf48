"""Sending an intent's order and finding out what the exchange did with it.

An intent is marked sent (committed) before the order leaves, so a crash or a timeout
after that point is resolved by asking for the client order id, never by sending again
blindly. Errors are told apart by what they mean: the exchange refused (final: invalid
order, position limits, funds, symbol, credentials) or could not answer (network,
timeouts, rate limits: asked again later).
"""

from __future__ import annotations

from collections.abc import Callable

from application.live.bot_halts import explain
from application.live.holdings import sellable_amount
from application.live.order_outcome import Outcome, OutcomeKind
from domain.bots.execution import Execution
from domain.bots.order_intent import OrderIntent
from domain.errors import DomainError
from domain.exchange.account import ExchangeAccount
from domain.exchange.errors import ExchangeRateLimited, ExchangeUnavailable
from domain.exchange.market import Market
from domain.exchange.order import Order, OrderRequest, OrderStatus, OrderType
from domain.ports.clock import Clock
from domain.ports.exchange_gateway import ExchangeGateway
from domain.ports.unit_of_work import UnitOfWork

# The exchange could not answer: the outcome is unknown, not refused.
TRANSIENT = (ExchangeUnavailable, ExchangeRateLimited)


class OrderSender:
    def __init__(
        self,
        uow: UnitOfWork,
        exchange: ExchangeGateway,
        clock: Clock,
        checkpoint: Callable[[str], None],
    ) -> None:
        self._uow = uow
        self._exchange = exchange
        self._clock = clock
        self._checkpoint = checkpoint

    async def send(self, account: ExchangeAccount, market: Market, intent: OrderIntent) -> Outcome:
        intent.sent(self._clock.now())
        async with self._uow:
            still_wanted = await self._uow.order_intents.mark_sent(intent)
            await self._uow.commit()
        if not still_wanted:
            return Outcome(OutcomeKind.EXPIRED, reason="withdrawn: the bot was stopped")
        try:
            amount = await sellable_amount(self._exchange, account, intent)
            request = OrderRequest(
                symbol=intent.symbol,
                market_type=intent.market_type,
                side=intent.side,
                type=OrderType.MARKET,
                amount=amount,
                client_order_id=intent.client_order_id,
                reduce_only=intent.reduce_only,
            )
            order = await self._exchange.create_order(account, request)
        except TRANSIENT as exc:
            return Outcome.unknown(explain(exc))
        except DomainError as exc:
            return Outcome(OutcomeKind.REJECTED, reason=explain(exc), error=exc)
        self._checkpoint("order_sent")
        return await self.resolve(account, market, order)

    async def resolve(self, account: ExchangeAccount, market: Market, order: Order) -> Outcome:
        """The outcome of an order the exchange knows: its fills once it is done."""
        if not order.is_done:
            return Outcome(OutcomeKind.UNKNOWN, order, reason="the order is still working")
        if order.filled <= 0:
            why = f"the exchange {order.status.value} the order with nothing filled"
            return Outcome(OutcomeKind.NOTHING, order, reason=why)
        try:
            fills = await self._exchange.fetch_order_fills(
                account, order.market_type, order.symbol, order
            )
        except TRANSIENT as exc:
            return Outcome(OutcomeKind.UNKNOWN, order, reason=explain(exc))
        execution = Execution.of(fills, market.base, market.quote)
        if execution.quantity < order.filled:
            # The order's trades are not all visible yet: they will be.
            return Outcome(OutcomeKind.UNKNOWN, order, reason="fills not reported yet")
        if order.status is OrderStatus.FILLED:
            return Outcome(OutcomeKind.FILLED, order, execution)
        why = f"{order.filled} of {order.amount} filled, then {order.status.value}"
        return Outcome(OutcomeKind.PARTIAL, order, execution, reason=why)
