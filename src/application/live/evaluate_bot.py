"""Evaluate one live bot: settle what a crash may have left, decide on the new closed
candles with the backtest's own code, record the orders, then send them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from application.api_keys.exchange_account import decrypt_account
from application.live.holdings import position_mismatch, sellable_amount
from application.market_data.ensure_candles import EnsureCandles
from domain.api_keys.api_key import ApiKey
from domain.bots.bot_config import BotConfig
from domain.bots.bot_state import ACTIVE_STATUSES, BotState, BotStatus
from domain.bots.errors import StaleBotState
from domain.bots.order_intent import OrderIntent, client_order_id
from domain.bots.schedule import next_due_ms
from domain.bots.trade import Trade, TradeSide
from domain.errors import DomainError
from domain.events import bot_error, bot_state_changed, trade_filled
from domain.exchange.account import ExchangeAccount
from domain.exchange.balance import Wallet
from domain.exchange.errors import (
    ExchangeRateLimited,
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidCredentials,
)
from domain.exchange.market import MarketType
from domain.exchange.order import Order, OrderRequest, OrderSide, OrderStatus, OrderType
from domain.market_data.timeframe import Timeframe
from domain.ports.candle_store import CandleKey, CandleStore
from domain.ports.clock import Clock
from domain.ports.event_bus import EventBus
from domain.ports.exchange_gateway import ExchangeGateway
from domain.ports.secret_vault import SecretVault
from domain.ports.unit_of_work import UnitOfWork
from domain.trading.live import LiveProgress, advance, check_ticker
from domain.trading.risk_engine import Fill, Side, TradingState
from domain.trading.risk_params import RiskParams

# Errors that stop the bot: retrying cannot help until the user acts.
_STOPPING = (InvalidCredentials, InsufficientFunds)
# Errors after which the order's fate is unknown or worth retrying: keep the intent.
_RETRYABLE = (ExchangeUnavailable, ExchangeRateLimited)


@dataclass(frozen=True, slots=True)
class Evaluation:
    status: BotStatus
    decisions: int
    orders_filled: int
    next_due_ms: int | None = None  # market time of the next evaluation (None: inactive)
    # The closed candles this evaluation processed: open times in (after_ms, through_ms].
    after_ms: int | None = None
    through_ms: int | None = None


def _decimal(value: float) -> Decimal:
    # float() first: engine values read from numpy arrays are numpy floats.
    return Decimal(repr(float(value)))


def _explain(exc: DomainError) -> str:
    """The error for a bot's last_error_message: ours, and the exchange's own words."""
    details = exc.details if isinstance(exc.details, dict) else {}
    if details.get("reason"):
        return f"{exc.message}: {details['reason']}"
    if "needed" in details and "available" in details:
        return f"{exc.message}: needed {details['needed']}, available {details['available']}"
    return exc.message


def _adopt(state: BotState, fresh: BotState) -> None:
    """Make `state` the stored copy `fresh` (same object, so callers see the update)."""
    for name in BotState.__dataclass_fields__:
        setattr(state, name, getattr(fresh, name))


def paper_account(user_id: int) -> ExchangeAccount:
    """The paper exchange's account for a user without a stored key."""
    name = f"paperuser{user_id:08d}"
    return ExchangeAccount(user_id=user_id, api_key=name, api_secret=name)


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

    async def execute(
        self, user_id: int, bot_config_id: int, reconcile: bool = False
    ) -> Evaluation | None:
        """Evaluate the bot once. `reconcile` (a worker's first look at the bot) also
        checks the bot's position against the exchange before it may trade again."""
        async with self._uow:
            config = await self._uow.bot_configs.get(user_id, bot_config_id)
            state = await self._uow.bot_states.get(user_id, bot_config_id)
            api_key = (
                await self._uow.api_keys.get(user_id, config.api_key_id)
                if config is not None and config.api_key_id is not None
                else None
            )
        if config is None or state is None or not state.is_active:
            return None
        evaluation = await self._evaluate(config, state, api_key, reconcile)
        if evaluation.status not in ACTIVE_STATUSES:
            return evaluation
        now_ms = int(self._clock.now().timestamp() * 1000)
        step = Timeframe(config.timeframe).milliseconds
        due = next_due_ms(now_ms, step, config.check_interval_seconds)
        return replace(evaluation, next_due_ms=due)

    async def _evaluate(
        self, config: BotConfig, state: BotState, api_key: ApiKey | None, reconcile: bool
    ) -> Evaluation:
        user_id, bot_config_id = config.user_id, state.bot_config_id
        assert config.id is not None
        if api_key is not None:
            account = decrypt_account(self._vault, api_key)
        elif self._requires_api_key:
            await self._stop(state, "A valid API key is needed to trade")
            return Evaluation(state.status, 0, 0)
        else:
            account = paper_account(user_id)
        filled, settled = await self._settle(account, config, state)
        if settled and reconcile and state.is_active:
            await self._reconcile_position(account, config, state)
        if not state.is_active or not settled:
            # An order whose fate is unknown comes first: no new decision until it is known.
            return Evaluation(state.status, 0, filled)
        timeframe = Timeframe(config.timeframe)
        step = timeframe.milliseconds
        now_ms = int(self._clock.now().timestamp() * 1000)
        newest_closed = (now_ms // step) * step - step
        if state.series_start_ms is None:
            if not await self._prepare(account, config, state):
                return Evaluation(state.status, 0, filled)
            state.series_start_ms = newest_closed - self._history * step
            # The history only seeds the indicators; trading starts with the next candle.
            state.last_candle_ms = newest_closed if self._history > 0 else None
        key = CandleKey(self._exchange_id, config.market_type, config.symbol, timeframe)
        try:
            await self._ensure.execute(key, state.series_start_ms, newest_closed + step - 1)
        except DomainError as exc:
            return await self._failed_read(state, exc, filled)
        series = await self._candles.read(key, state.series_start_ms, newest_closed)
        risk = config.risk_params()
        engine = state.engine or TradingState(cash=float(config.initial_capital))
        seen = state.last_candle_ms
        progress = advance(
            engine, series, config.strategy, config.strategy_params(), risk, state.last_candle_ms
        )
        forming_ms = newest_closed + step
        if not progress.fills and progress.state.in_position:
            progress = await self._check_ticker(config, progress, len(series), forming_ms, risk)
        times = [int(t) for t in series.open_time_ms] + [forming_ms]
        intents = [
            self._intent(config, fill, times[fill.index], n)
            for n, fill in enumerate(progress.fills)
        ]
        now = self._clock.now()
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
                fresh = await self._uow.bot_states.get(user_id, bot_config_id)
            status = fresh.status if fresh is not None else BotStatus.STOPPED
            return Evaluation(status, 0, filled)
        if intents:
            self._checkpoint("intents_committed")
        if changed is not None:
            await self._events.publish(bot_state_changed(user_id, config.id, changed.value))
        for intent in intents:
            if not state.is_active:
                break
            filled += await self._send(account, config, state, intent)
        return Evaluation(
            state.status, len(intents), filled, after_ms=seen, through_ms=progress.last_open_ms
        )

    async def _check_ticker(
        self,
        config: BotConfig,
        progress: LiveProgress,
        index: int,
        open_ms: int,
        risk: RiskParams,
    ) -> LiveProgress:
        """Between candle closes, protect the open position against the last price."""
        try:
            ticker = await self._exchange.fetch_ticker(config.market_type, config.symbol)
        except DomainError:
            return progress  # no price now: the candle close still applies the rules
        state, fill = check_ticker(progress.state, float(ticker.last), index, open_ms, risk)
        if fill is None:
            return progress
        return LiveProgress(state, [fill], progress.last_open_ms)

    async def _prepare(self, account: ExchangeAccount, config: BotConfig, state: BotState) -> bool:
        """Before a futures bot's first trade: its leverage, and the transfer it asks for."""
        if config.market_type is not MarketType.FUTURES:
            return True
        try:
            if config.auto_transfer_funds and config.transfer_amount:
                await self._exchange.transfer(
                    account, "USDT", config.transfer_amount, Wallet.SPOT, Wallet.FUTURES
                )
            await self._exchange.set_leverage(account, config.symbol, config.leverage)
        except _STOPPING as exc:
            await self._stop(state, _explain(exc))
            return False
        except DomainError:
            return False  # try again at the next evaluation
        return True

    def _intent(self, config: BotConfig, fill: Fill, candle_ms: int, sequence: int) -> OrderIntent:
        assert config.id is not None
        buying = (fill.side is Side.LONG) == fill.is_entry
        return OrderIntent(
            user_id=config.user_id,
            bot_config_id=config.id,
            client_order_id=client_order_id(config.id, candle_ms, sequence),
            symbol=config.symbol,
            market_type=config.market_type,
            side=OrderSide.BUY if buying else OrderSide.SELL,
            amount=_decimal(fill.quantity),
            reduce_only=not fill.is_entry and config.market_type is MarketType.FUTURES,
            reason="entry" if fill.is_entry else (fill.reason.value if fill.reason else "exit"),
            candle_open_ms=candle_ms,
            created_at=self._clock.now(),
            pnl=None if fill.is_entry else _decimal(fill.pnl),
        )

    async def _settle(
        self, account: ExchangeAccount, config: BotConfig, state: BotState
    ) -> tuple[int, bool]:
        """Intents a crash left pending: found on the exchange → recorded; never sent →
        sent now (same client order id, so never twice). Returns (orders filled, whether
        every pending intent is now settled)."""
        async with self._uow:
            pending = await self._uow.order_intents.pending(config.id)
        filled = 0
        for intent in pending:
            try:
                order = await self._exchange.fetch_order_by_client_id(
                    account, intent.market_type, intent.symbol, intent.client_order_id
                )
            except _RETRYABLE:
                return filled, False
            if order is None:
                filled += await self._send(account, config, state, intent)
            elif order.status is OrderStatus.FILLED:
                await self._record(config, intent, order)
                filled += 1
            if not state.is_active:
                break
        async with self._uow:
            left = await self._uow.order_intents.pending(config.id)
        return filled, not left

    async def _send(
        self, account: ExchangeAccount, config: BotConfig, state: BotState, intent: OrderIntent
    ) -> int:
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
        except _RETRYABLE:
            return 0  # stays pending; settled at the next evaluation
        except _STOPPING as exc:
            reason = f"{_explain(exc)} (sending {intent.side.value} {intent.symbol})"
            await self._fail(intent, reason)
            await self._stop(state, reason)
            return 0
        except DomainError as exc:
            await self._fail(intent, exc.message)
            await self._events.publish(bot_error(config.user_id, intent.bot_config_id, exc.message))
            return 0
        self._checkpoint("order_sent")
        if order.status is not OrderStatus.FILLED:
            return 0
        await self._record(config, intent, order)
        return 1

    async def _record(self, config: BotConfig, intent: OrderIntent, order: Order) -> None:
        price = order.average_price or order.price or Decimal(0)
        trade = Trade(
            user_id=config.user_id,
            bot_config_id=intent.bot_config_id,
            symbol=intent.symbol,
            side=TradeSide.BUY if intent.side is OrderSide.BUY else TradeSide.SELL,
            order_type=OrderType.MARKET.value,
            price=price if price > 0 else Decimal("1e-18"),
            quantity_filled=order.filled,
            quote_quantity_filled=order.filled * price,
            timestamp=order.created_at,
            binance_order_id=order.exchange_order_id,
            commission_amount=order.fee,
            commission_asset=order.fee_asset or None,
            pnl=intent.pnl,
            realized_pnl=intent.pnl,
        )
        intent.filled(order.exchange_order_id)
        async with self._uow:
            trade = await self._uow.trades.add(trade)
            await self._uow.order_intents.update(intent)
            await self._uow.commit()
        await self._events.publish(
            trade_filled(
                config.user_id,
                intent.bot_config_id,
                {
                    "trade_id": trade.id,
                    "side": trade.side.value,
                    "price": float(trade.price),
                    "quantity": float(trade.quantity_filled),
                    "reason": intent.reason,
                },
            )
        )

    async def _fail(self, intent: OrderIntent, message: str) -> None:
        intent.failed(message)
        async with self._uow:
            await self._uow.order_intents.update(intent)
            await self._uow.commit()

    async def _stop(self, state: BotState, message: str) -> None:
        now: datetime = self._clock.now()
        for _ in range(5):
            state.stop_with_error(message, now)
            try:
                async with self._uow:
                    await self._uow.bot_states.update(state)
                    await self._uow.commit()
                break
            except StaleBotState:
                async with self._uow:
                    fresh = await self._uow.bot_states.get(state.user_id, state.bot_config_id)
                if fresh is None:
                    return
                _adopt(state, fresh)
        await self._events.publish(bot_error(state.user_id, state.bot_config_id, message))
        await self._events.publish(
            bot_state_changed(state.user_id, state.bot_config_id, BotStatus.STOPPED.value)
        )

    async def _reconcile_position(
        self, account: ExchangeAccount, config: BotConfig, state: BotState
    ) -> None:
        """Before trading again after a restart: the position the bot believes in must
        be on the exchange (a futures position of that side and size; for spot, at least
        that much of the base asset). A mismatch (closed by hand, liquidated) stops the
        bot with the difference in its error, rather than trade on a wrong belief."""
        engine = state.engine
        if engine is None or not engine.in_position:
            return  # a position the bot did not open is not the bot's to manage
        expected_side = "long" if engine.side is Side.LONG else "short"
        expected = _decimal(engine.quantity)
        try:
            found = await position_mismatch(
                self._exchange, account, config, expected_side, expected
            )
        except _STOPPING as exc:
            await self._stop(state, _explain(exc))
            return
        except DomainError:
            return  # unknown for now: checked again when a worker next takes the bot
        if found is not None:
            await self._stop(
                state,
                f"Position mismatch on {config.symbol}: the bot holds {expected_side} "
                f"{expected} but the exchange shows {found}; check the account, set "
                "in_position to false if the position is gone, and start the bot again",
            )

    async def _failed_read(self, state: BotState, exc: DomainError, filled: int) -> Evaluation:
        if isinstance(exc, _STOPPING):
            await self._stop(state, _explain(exc))
        else:
            await self._events.publish(bot_error(state.user_id, state.bot_config_id, exc.message))
        return Evaluation(state.status, 0, filled)
