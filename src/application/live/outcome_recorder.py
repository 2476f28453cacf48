"""An order's outcome made the bot's truth: the trade from its fills, the filled position,
the engine corrected to both, the intent's final state, in one transaction.

Entry rejected or expired with nothing filled: the bot is flat again (a final rejection
stops it). Exit refused or expired: the bot still holds the position; the exit is retried
with backoff and the user alerted. Partly filled: the filled part is the position (entry)
or is sold (exit), the rest is dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from application.live.bot_halts import BotHalts, adopt
from application.live.order_outcome import Outcome, OutcomeKind
from domain.bots.bot_config import BotConfig
from domain.bots.bot_state import BotState, BotStatus, held_position
from domain.bots.errors import StaleBotState
from domain.bots.open_position import OpenPosition
from domain.bots.order_intent import OrderIntent
from domain.bots.trade import Trade, TradeSide
from domain.events import bot_state_changed, trade_filled
from domain.exchange.errors import ExchangeRateLimited, ExchangeUnavailable
from domain.exchange.market import MarketType
from domain.exchange.order import OrderSide, OrderType
from domain.ports.clock import Clock
from domain.ports.event_bus import EventBus
from domain.ports.unit_of_work import UnitOfWork
from domain.trading.fill_sync import entry_settled, exit_settled
from domain.trading.risk_engine import Side, TradingState


@dataclass(frozen=True, slots=True)
class Recorded:
    filled: bool  # a trade was recorded
    stopped: bool  # the outcome stopped the bot


class OutcomeRecorder:
    def __init__(self, uow: UnitOfWork, events: EventBus, clock: Clock, halts: BotHalts) -> None:
        self._uow = uow
        self._events = events
        self._clock = clock
        self._halts = halts

    async def record(
        self, config: BotConfig, state: BotState, intent: OrderIntent, outcome: Outcome
    ) -> Recorded:
        if not outcome.known:
            return Recorded(False, False)
        now = self._clock.now()
        trade: Trade | None = None
        changed = None
        for _ in range(5):
            trade, changed = self._apply(config, state, intent, outcome, now)
            try:
                async with self._uow:
                    if trade is not None:
                        trade = await self._uow.trades.add(trade)
                    await self._uow.order_intents.update(intent)
                    await self._uow.bot_states.update(state)
                    await self._uow.commit()
                break
            except StaleBotState:
                # The user stopped or paused the bot meanwhile: the fill is real all the
                # same; it is booked on the stored state.
                async with self._uow:
                    fresh = await self._uow.bot_states.get(state.user_id, state.bot_config_id)
                if fresh is None:
                    return Recorded(False, False)
                adopt(state, fresh)
        if changed is not None:
            await self._events.publish(
                bot_state_changed(state.user_id, state.bot_config_id, changed.value)
            )
        if trade is not None:
            await self._announce(trade, intent)
        return await self._follow_up(state, intent, outcome, trade is not None)

    def _apply(
        self,
        config: BotConfig,
        state: BotState,
        intent: OrderIntent,
        outcome: Outcome,
        now: datetime,
    ) -> tuple[Trade | None, BotStatus | None]:
        """The outcome applied to `state`: the trade to store, and the bot's new status
        when the outcome changed it."""
        risk = config.risk_params()
        engine = state.engine or TradingState(cash=float(config.initial_capital))
        execution = outcome.execution if outcome.execution else None
        order = outcome.order
        futures = config.market_type is MarketType.FUTURES
        pnl: Decimal | None = None
        if intent.is_entry:
            side = _position_side(intent, futures)
            position = (
                OpenPosition.opened(side, execution, futures, config.leverage)
                if execution
                else None
            )
            engine = entry_settled(engine, held_position(position) if position else None, risk)
        else:
            held = state.filled_position or _from_engine(intent, futures, config.leverage)
            if execution:
                pnl, left = held.closed_by(execution, closes=outcome.closes_position)
            else:
                left = held
            last_index = (state.signals.count - 1) if state.signals else 0
            extreme = held.extreme_price if held.extreme_price is not None else math.nan
            engine = exit_settled(
                engine,
                intent.engine_pnl,
                float(pnl) if pnl is not None else 0.0,
                held_position(left) if left else None,
                last_index,
                risk,
                extreme,
            )
            position = left
            if execution:
                state.exit_retry_reason, state.exit_attempts = None, 0
            else:
                state.exit_retry_reason = intent.reason
                state.exit_attempts += 1
        exchange_id = order.exchange_order_id if order else None
        if outcome.kind is OutcomeKind.FILLED:
            assert exchange_id is not None
            assert execution is not None
            intent.filled(exchange_id, execution.quantity)
        elif outcome.kind is OutcomeKind.PARTIAL:
            assert exchange_id is not None
            assert execution is not None
            intent.partially_filled(exchange_id, execution.quantity, outcome.reason)
        elif outcome.kind is OutcomeKind.REJECTED:
            intent.failed(outcome.reason)
        else:
            intent.expired(outcome.reason, exchange_id)
        changed = state.settle(engine, position, risk, now)
        if not execution:
            return None, changed
        trade = Trade.from_fills(
            user_id=config.user_id,
            bot_config_id=intent.bot_config_id,
            symbol=intent.symbol,
            side=TradeSide.BUY if intent.side is OrderSide.BUY else TradeSide.SELL,
            order_type=OrderType.MARKET.value,
            execution=execution,
            exchange_order_id=exchange_id,
            pnl=pnl,
            fallback_time=order.created_at if order else now,
        )
        return trade, changed

    async def _announce(self, trade: Trade, intent: OrderIntent) -> None:
        assert trade.bot_config_id is not None
        await self._events.publish(
            trade_filled(
                trade.user_id,
                trade.bot_config_id,
                {
                    "trade_id": trade.id,
                    "side": trade.side.value,
                    "price": float(trade.price),
                    "quantity": float(trade.quantity_filled),
                    "pnl": float(trade.pnl) if trade.pnl is not None else None,
                    "reason": intent.reason,
                },
            )
        )

    async def _follow_up(
        self, state: BotState, intent: OrderIntent, outcome: Outcome, filled: bool
    ) -> Recorded:
        """Nothing fails silently: a refused entry stops the bot with the exchange's
        reason; a refused exit keeps the bot (still in its position) and alerts."""
        side = intent.side.value
        if outcome.kind is OutcomeKind.PARTIAL:
            await self._halts.alert(state, f"{side} {intent.symbol}: {outcome.reason}")
        elif outcome.kind in (OutcomeKind.REJECTED, OutcomeKind.NOTHING) and not filled:
            message = f"{outcome.reason} (sending {side} {intent.symbol})"
            transient = isinstance(outcome.error, ExchangeUnavailable | ExchangeRateLimited)
            if intent.is_entry and outcome.kind is OutcomeKind.REJECTED and not transient:
                await self._halts.stop(state, message)
                return Recorded(False, True)
            retry = "" if intent.is_entry else "; the position is still open, the exit is retried"
            await self._halts.alert(state, message + retry)
        elif outcome.kind is OutcomeKind.EXPIRED and not intent.is_entry:
            await self._halts.alert(
                state, f"exit {intent.reason} not sent: {outcome.reason}; position still open"
            )
        return Recorded(filled, False)


def _position_side(intent: OrderIntent, futures: bool) -> Side:
    if not futures:
        return Side.LONG
    return Side.LONG if intent.side is OrderSide.BUY else Side.SHORT


def _from_engine(intent: OrderIntent, futures: bool, leverage: int) -> OpenPosition:
    """No filled position is known (a row from before they were kept, whose exit the
    engine already booked): the intent's amount at the engine's own PnL."""
    side = Side.SHORT if futures and intent.side is OrderSide.BUY else Side.LONG
    return OpenPosition(
        side, intent.amount, intent.amount, Decimal(0), Decimal(0), leverage, futures
    )
