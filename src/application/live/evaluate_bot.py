"""Evaluate one live bot: settle what is pending, check the exchange agrees, advance the
engine over the candles closed since, and act on the newest one only.

The pieces: `IntentSettler` (pending intents), `Reconciler` (position and open orders
against the exchange), `domain.trading.live` (the decisions), `OrderSender` (an order
and its outcome), `OutcomeRecorder` (the trade from the fills, the position, the engine).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from application.api_keys.exchange_account import decrypt_account, paper_account
from application.live.bot_halts import BotHalts, explain
from application.live.exchange_time import ExchangeTime
from application.live.futures_setup import FuturesSetup
from application.live.intent_settler import IntentSettler
from application.live.order_sender import TRANSIENT, OrderSender
from application.live.outcome_recorder import OutcomeRecorder
from application.live.reconciler import RECONCILE_EVERY, Reconciler
from application.market_data.ensure_candles import EnsureCandles
from domain.api_keys.api_key import ApiKey
from domain.bots.bot_config import BotConfig
from domain.bots.bot_state import ACTIVE_STATUSES, BotState, BotStatus
from domain.bots.errors import StaleBotState
from domain.bots.order_intent import OrderIntent
from domain.bots.schedule import next_due_ms
from domain.errors import DomainError
from domain.events import bot_state_changed
from domain.exchange.account import ExchangeAccount
from domain.exchange.errors import InvalidCredentials
from domain.exchange.market import Market
from domain.market_data.timeframe import Timeframe
from domain.ports.candle_store import CandleKey, CandleStore
from domain.ports.clock import Clock
from domain.ports.event_bus import EventBus
from domain.ports.exchange_gateway import ExchangeGateway
from domain.ports.secret_vault import SecretVault
from domain.ports.unit_of_work import UnitOfWork
from domain.trading.live import LiveProgress, advance, check_ticker, retry_exit
from domain.trading.risk_engine import ExitReason, TradingState
from domain.trading.strategy_state import StrategyState, initial_state, signals_over

# An order whose outcome is not known yet is asked for again this soon (market time).
UNSETTLED_RETRY_MS = 10_000
# A refused exit is tried again after this long, doubling up to the cap (market time).
EXIT_RETRY_MS = 30_000
EXIT_RETRY_CAP_MS = 900_000


# Candles an evaluation steps through on the event loop; a longer backlog (a restart
# after days) is stepped in a thread so leases keep being renewed meanwhile.
INLINE_CANDLES = 256

T = TypeVar("T")


async def _off_the_loop_if_long(count: int, work: Callable[..., T], *args: Any) -> T:
    if count <= INLINE_CANDLES:
        return work(*args)
    return await asyncio.to_thread(work, *args)


@dataclass(frozen=True, slots=True)
class Evaluation:
    status: BotStatus
    decisions: int
    orders_filled: int
    next_due_ms: int | None = None  # market time of the next evaluation (None: inactive)
    # The closed candles this evaluation processed: open times in (after_ms, through_ms].
    after_ms: int | None = None
    through_ms: int | None = None
    reconciled: bool = False  # the position and open orders were checked with the exchange
    unsettled: bool = False  # an order's outcome is not known yet: asked again soon


class EvaluateBot:
    def __init__(
        self,
        uow: UnitOfWork,
        exchange: ExchangeGateway,
        vault: SecretVault,
        candles: CandleStore,
        ensure_candles: EnsureCandles,
        events: EventBus,
        clock: Clock,
        exchange_id: str,
        requires_api_key: bool,
        history_candles: int = 300,
        checkpoint: Callable[[str], None] | None = None,
        exchange_time: ExchangeTime | None = None,
    ) -> None:
        self._uow = uow
        self._exchange = exchange
        self._vault = vault
        self._candles = candles
        self._ensure = ensure_candles
        self._events = events
        self._clock = clock
        self._exchange_id = exchange_id
        self._requires_api_key = requires_api_key
        self._history = history_candles
        # Called at the points where a crash matters most (crash-safety tests kill the
        # process there): "intents_committed", "order_sent".
        self._checkpoint = checkpoint or (lambda _point: None)
        self._time = exchange_time or ExchangeTime(exchange, clock)
        self._halts = BotHalts(uow, events, clock)
        self._sender = OrderSender(uow, exchange, clock, self._checkpoint)
        self._recorder = OutcomeRecorder(uow, events, clock, self._halts)
        self._settler = IntentSettler(uow, exchange, clock, self._sender, self._recorder)
        self._reconciler = Reconciler(uow, exchange)
        self._futures = FuturesSetup(uow, exchange, self._halts)

    async def execute(
        self, user_id: int, bot_config_id: int, reconcile: bool = False
    ) -> Evaluation | None:
        """Evaluate the bot once. `reconcile` (a worker's first look at the bot) checks
        the bot against the exchange even if it was checked a moment ago."""
        async with self._uow:
            config = await self._uow.bot_configs.get(user_id, bot_config_id)
            state = await self._uow.bot_states.get(user_id, bot_config_id)
            user = await self._uow.users.get(user_id)
            api_key = (
                await self._uow.api_keys.get(user_id, config.api_key_id)
                if config is not None and config.api_key_id is not None
                else None
            )
        if config is None or state is None or not state.is_active:
            return None
        if user is None or not user.is_active:
            await self._halts.stop(state, "The user's account is deactivated")
            return Evaluation(state.status, 0, 0)
        evaluation = await self._evaluate(config, state, api_key, reconcile)
        if evaluation.status not in ACTIVE_STATUSES:
            return evaluation
        now_ms = int(self._clock.now().timestamp() * 1000)
        step = Timeframe(config.timeframe).milliseconds
        due = next_due_ms(now_ms, step, config.check_interval_seconds)
        if evaluation.unsettled:
            due = min(due, now_ms + UNSETTLED_RETRY_MS)
        if state.exit_retry_reason is not None:
            backoff = EXIT_RETRY_MS * 2 ** max(0, state.exit_attempts - 1)
            due = min(due, now_ms + min(backoff, EXIT_RETRY_CAP_MS))
        return replace(evaluation, next_due_ms=due)

    async def _evaluate(
        self, config: BotConfig, state: BotState, api_key: ApiKey | None, reconcile: bool
    ) -> Evaluation:
        assert config.id is not None
        if api_key is not None:
            account = decrypt_account(self._vault, api_key)
        elif self._requires_api_key:
            await self._halts.stop(state, "A valid API key is needed to trade")
            return Evaluation(state.status, 0, 0)
        else:
            account = paper_account(config.user_id)
        try:
            market = await self._exchange.fetch_market(config.market_type, config.symbol)
        except TRANSIENT:
            return Evaluation(state.status, 0, 0)
        except DomainError as exc:
            await self._halts.stop(state, explain(exc))
            return Evaluation(state.status, 0, 0)
        timeframe = Timeframe(config.timeframe)
        step = timeframe.milliseconds
        try:
            filled, settled = await self._settler.settle(account, config, state, market, step)
        except InvalidCredentials as exc:
            await self._halts.stop(state, explain(exc))
            return Evaluation(state.status, 0, 0)
        if not state.is_active or not settled:
            # An order whose fate is unknown comes first: no new decision until it is known.
            return Evaluation(state.status, 0, filled, unsettled=not settled)
        reconciled = await self._reconcile(account, config, state, market, reconcile)
        if reconciled is None:
            return Evaluation(state.status, 0, filled)
        now_ms = await self._time.now_ms()
        newest_closed = (now_ms // step) * step - step
        key = CandleKey(self._exchange_id, config.market_type, config.symbol, timeframe)
        if state.series_start_ms is None:
            if not await self._futures.prepare(account, config, state):
                return Evaluation(state.status, 0, filled)
            return await self._seed(config, state, key, newest_closed, now_ms, filled, reconciled)
        first = (state.last_candle_ms + step) if state.last_candle_ms is not None else None
        start = first if first is not None else state.series_start_ms
        # Indicators not carried yet (a row from before, or periods changed) are computed
        # once over the bot's series, which must then be there from its start.
        needed_from = start if state.signals is not None else state.series_start_ms
        try:
            await self._ensure.execute(key, needed_from, newest_closed + step - 1, now_ms=now_ms)
        except DomainError as exc:
            return await self._failed_read(state, exc, filled)
        signals = state.signals
        if signals is None:
            signals = await self._signals_through(config, key, state)
        new_candles = await self._candles.read(key, start, newest_closed)
        risk = config.risk_params()
        state.adopt_engine_position(risk)
        engine = state.engine or TradingState(cash=float(config.initial_capital))
        seen = state.last_candle_ms
        progress = await _off_the_loop_if_long(
            len(new_candles),
            advance,
            engine,
            signals,
            new_candles,
            config.strategy,
            config.strategy_params(),
            risk,
            state.last_candle_ms,
            now_ms,
        )
        forming_ms = newest_closed + step
        # The decision's candle (the newest one processed; the forming one between closes).
        decided_ms = progress.last_open_ms if progress.last_open_ms is not None else newest_closed
        if not progress.fills and progress.state.in_position:
            progress, ticker_exit = await self._between_closes(
                config, state, progress, forming_ms, now_ms
            )
            if ticker_exit:
                decided_ms = forming_ms
        intents = self._intents(config, state, progress, decided_ms)
        now = self._clock.now()
        if reconciled:
            state.reconciled_at = now
        try:
            async with self._uow:
                changed = state.record_progress(progress, risk, now)
                await self._uow.bot_states.update(state)
                for intent in intents:
                    await self._uow.order_intents.add(intent)
                await self._uow.commit()
        except StaleBotState:
            # The user stopped, paused or edited the bot meanwhile: nothing was stored
            # and nothing is sent; the next evaluation decides on the new state.
            async with self._uow:
                fresh = await self._uow.bot_states.get(config.user_id, config.id)
            status = fresh.status if fresh is not None else BotStatus.STOPPED
            return Evaluation(status, 0, filled)
        if intents:
            self._checkpoint("intents_committed")
        if changed is not None:
            await self._events.publish(bot_state_changed(config.user_id, config.id, changed.value))
        unsettled = False
        for intent in intents:
            if not state.is_active:
                break
            outcome = await self._sender.send(account, market, intent)
            recorded = await self._recorder.record(config, state, intent, outcome)
            filled += recorded.filled
            unsettled = unsettled or not outcome.known
        return Evaluation(
            state.status,
            len(intents),
            filled,
            after_ms=seen,
            through_ms=progress.last_open_ms,
            reconciled=reconciled,
            unsettled=unsettled,
        )

    async def _reconcile(
        self,
        account: ExchangeAccount,
        config: BotConfig,
        state: BotState,
        market: Market,
        asked: bool,
    ) -> bool | None:
        """Whether the bot was checked against the exchange now (True), not due (False),
        or disagrees with it and was paused (None)."""
        now = self._clock.now()
        due = asked or state.reconciled_at is None or now - state.reconciled_at >= RECONCILE_EVERY
        if not due:
            return False
        try:
            difference = await self._reconciler.difference(account, config, state, market)
        except TRANSIENT:
            return False  # unknown for now: checked again at the next evaluation
        except DomainError as exc:
            await self._halts.stop(state, explain(exc))
            return None
        if difference is not None:
            await self._halts.pause(
                state,
                f"Reconciliation with the exchange: {difference}. Check the account; "
                "correct the position (PUT /bot-states) or close it, then start the bot again",
            )
            return None
        return True

    async def _seed(
        self,
        config: BotConfig,
        state: BotState,
        key: CandleKey,
        newest_closed: int,
        now_ms: int,
        filled: int,
        reconciled: bool,
    ) -> Evaluation:
        """A fresh start: the history only seeds the indicators; trading starts with the
        next candle."""
        assert config.id is not None
        step = key.timeframe.milliseconds
        start = newest_closed - self._history * step
        try:
            await self._ensure.execute(key, start, newest_closed + step - 1, now_ms=now_ms)
        except DomainError as exc:
            return await self._failed_read(state, exc, filled)
        history = await self._candles.read(key, start, newest_closed) if self._history else None
        engine = state.engine or TradingState(cash=float(config.initial_capital))
        signals = initial_state()
        last = None
        if history is not None:
            seeded = await _off_the_loop_if_long(
                len(history),
                advance,
                engine,
                signals,
                history,
                config.strategy,
                config.strategy_params(),
                config.risk_params(),
                None,
                now_ms,
                False,
            )
            engine, signals = seeded.state, seeded.signals
            last = newest_closed
        progress = LiveProgress(engine, signals, [], last)
        now = self._clock.now()
        state.series_start_ms = start
        if reconciled:
            state.reconciled_at = now
        try:
            async with self._uow:
                changed = state.record_progress(progress, config.risk_params(), now)
                await self._uow.bot_states.update(state)
                await self._uow.commit()
        except StaleBotState:
            return Evaluation(BotStatus.STOPPED, 0, filled)
        if changed is not None:
            await self._events.publish(bot_state_changed(config.user_id, config.id, changed.value))
        return Evaluation(state.status, 0, filled, reconciled=reconciled)

    async def _signals_through(
        self, config: BotConfig, key: CandleKey, state: BotState
    ) -> StrategyState:
        """Indicators for a bot stored before they were carried: computed once over its
        series so far."""
        assert state.series_start_ms is not None
        if state.last_candle_ms is None:
            return initial_state()
        series = await self._candles.read(key, state.series_start_ms, state.last_candle_ms)
        signals, _ = await _off_the_loop_if_long(
            len(series), signals_over, series.close, config.strategy, config.strategy_params()
        )
        return signals

    async def _between_closes(
        self,
        config: BotConfig,
        state: BotState,
        progress: LiveProgress,
        forming_ms: int,
        now_ms: int,
    ) -> tuple[LiveProgress, bool]:
        """Between candle closes: the open position against the last price (its levels,
        or an exit the exchange refused before, tried again)."""
        try:
            ticker = await self._exchange.fetch_ticker(config.market_type, config.symbol)
        except DomainError:
            return progress, False  # no price now: the candle close still applies the rules
        risk = config.risk_params()
        index = progress.signals.count
        price = float(ticker.last)
        engine, fill = check_ticker(progress.state, price, index, forming_ms, now_ms, risk)
        if fill is None and state.exit_retry_reason is not None:
            known = {r.value for r in ExitReason}
            retried = state.exit_retry_reason
            reason = ExitReason(retried) if retried in known else ExitReason.SIGNAL
            engine, fill = retry_exit(
                progress.state, price, index, forming_ms, now_ms, reason, risk
            )
        if fill is None:
            return progress, False
        return replace(progress, state=engine, fills=[fill]), True

    def _intents(
        self, config: BotConfig, state: BotState, progress: LiveProgress, decided_ms: int
    ) -> list[OrderIntent]:
        assert config.id is not None
        now = self._clock.now()
        retry = state.exit_retry_reason is not None
        intents = []
        for n, fill in enumerate(progress.fills):
            # A retried exit needs an id of its own: the refused one was used.
            sequence = 100 + state.exit_attempts if retry and not fill.is_entry else n
            intent = OrderIntent.for_decision(
                config.user_id, config.id, config.symbol, config.market_type, fill,
                decided_ms, sequence, now,
            )  # fmt: skip
            held = state.filled_position
            if not fill.is_entry and held is not None and held.side is fill.side:
                intent.amount = held.quantity  # sell what was filled, not the engine's float
            intents.append(intent)
        return intents

    async def _failed_read(self, state: BotState, exc: DomainError, filled: int) -> Evaluation:
        if isinstance(exc, InvalidCredentials):
            await self._halts.stop(state, explain(exc))
        elif not isinstance(exc, TRANSIENT):
            await self._halts.alert(state, explain(exc))
        return Evaluation(state.status, 0, filled)
