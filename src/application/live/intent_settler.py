"""Intents still pending (a crash, a timeout, an order still working) settled before the
bot decides anything new: found on the exchange → its outcome; not found → sent (same
client order id) while the decision is fresh, expired once it is a candle old."""

from __future__ import annotations

from datetime import timedelta

from application.live.bot_halts import explain
from application.live.order_outcome import Outcome, OutcomeKind
from application.live.order_sender import TRANSIENT, OrderSender
from application.live.outcome_recorder import OutcomeRecorder
from domain.bots.bot_config import BotConfig
from domain.bots.bot_state import BotState
from domain.bots.order_intent import OrderIntent
from domain.exchange.account import ExchangeAccount
from domain.exchange.market import Market
from domain.ports.clock import Clock
from domain.ports.exchange_gateway import ExchangeGateway
from domain.ports.unit_of_work import UnitOfWork

# An order sent this recently may not be visible on the exchange yet (Binance refuses a
# request older than its 5 s receive window, so past this a missing order was never placed).
SENT_GRACE = timedelta(seconds=30)


class IntentSettler:
    def __init__(
        self,
        uow: UnitOfWork,
        exchange: ExchangeGateway,
        clock: Clock,
        sender: OrderSender,
        recorder: OutcomeRecorder,
    ) -> None:
        self._uow = uow
        self._exchange = exchange
        self._clock = clock
        self._sender = sender
        self._recorder = recorder

    async def settle(
        self,
        account: ExchangeAccount,
        config: BotConfig,
        state: BotState,
        market: Market,
        candle_ms: int,
    ) -> tuple[int, bool]:
        """Returns (trades recorded, whether no intent is pending any more)."""
        assert config.id is not None
        async with self._uow:
            pending = await self._uow.order_intents.pending(config.id)
        if not pending:
            return 0, True
        filled = 0
        for intent in pending:
            outcome = await self._outcome(account, market, intent, candle_ms)
            if not outcome.known:
                return filled, False
            recorded = await self._recorder.record(config, state, intent, outcome)
            filled += recorded.filled
            if not state.is_active:
                break
        async with self._uow:
            left = await self._uow.order_intents.pending(config.id)
        return filled, not left

    async def _outcome(
        self, account: ExchangeAccount, market: Market, intent: OrderIntent, candle_ms: int
    ) -> Outcome:
        try:
            order = await self._exchange.fetch_order_by_client_id(
                account, intent.market_type, intent.symbol, intent.client_order_id
            )
        except TRANSIENT as exc:
            return Outcome.unknown(explain(exc))
        if order is not None:
            return await self._sender.resolve(account, market, order)
        now = self._clock.now()
        if intent.sent_at is not None and now - intent.sent_at < SENT_GRACE:
            return Outcome.unknown("sent moments ago; not visible on the exchange yet")
        if int(now.timestamp() * 1000) >= intent.expires_at_ms(candle_ms):
            return Outcome(OutcomeKind.EXPIRED, reason="not sent within one candle of its decision")
        return await self._sender.send(account, market, intent)
