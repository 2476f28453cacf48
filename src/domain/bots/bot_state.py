"""A bot's runtime state and its state machine.

stopped → pending → running ⇄ waiting
running | waiting → paused → pending
any → stopped
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.bots.errors import IllegalTransition
from domain.bots.open_position import OpenPosition
from domain.errors import InvalidInput
from domain.trading.fill_sync import HeldPosition, entry_settled
from domain.trading.live import LiveProgress
from domain.trading.risk_engine import Side, TradingState
from domain.trading.risk_params import RiskParams
from domain.trading.strategy_state import StrategyState


class BotStatus(StrEnum):
    STOPPED = "stopped"
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    PAUSED = "paused"


ALLOWED_TRANSITIONS: dict[BotStatus, frozenset[BotStatus]] = {
    BotStatus.STOPPED: frozenset({BotStatus.PENDING}),
    BotStatus.PENDING: frozenset({BotStatus.RUNNING, BotStatus.STOPPED}),
    BotStatus.RUNNING: frozenset({BotStatus.WAITING, BotStatus.PAUSED, BotStatus.STOPPED}),
    BotStatus.WAITING: frozenset({BotStatus.RUNNING, BotStatus.PAUSED, BotStatus.STOPPED}),
    BotStatus.PAUSED: frozenset({BotStatus.PENDING, BotStatus.STOPPED}),
}
ACTIVE_STATUSES = frozenset({BotStatus.PENDING, BotStatus.RUNNING, BotStatus.WAITING})
# Derived from the entry price and the configuration; an operator may set them too.
LEVEL_FIELDS = frozenset(
    {"trailing_stop_price", "max_price_since_entry", "take_profit_price", "stop_loss_price"}
)


@dataclass(eq=False, slots=True)
class BotState:
    """What a bot is doing now. One per bot configuration."""

    bot_config_id: int
    user_id: int
    last_updated_at: datetime
    status: BotStatus = BotStatus.STOPPED
    in_position: bool = False
    position_side: str | None = None
    entry_price: Decimal | None = None
    current_position_size_coins: Decimal | None = None
    trailing_stop_price: Decimal | None = None
    max_price_since_entry: Decimal | None = None
    take_profit_price: Decimal | None = None
    stop_loss_price: Decimal | None = None
    daily_pnl: Decimal = Decimal(0)
    daily_trades_count: int = 0
    last_run_at: datetime | None = None
    last_error_message: str | None = None
    # The risk engine's state and how far through its candle series the bot is: the
    # live bot resumes from these exactly where it stopped (domain.trading.live).
    engine: TradingState | None = None
    series_start_ms: int | None = None
    last_candle_ms: int | None = None
    # The strategy's indicators after the last candle, advanced one candle at a time.
    signals: StrategyState | None = None
    # The position as the exchange filled it (exact); the engine mirrors it.
    filled_position: OpenPosition | None = None
    # When the position and open orders were last compared with the exchange.
    reconciled_at: datetime | None = None
    # auto_transfer_funds moved the transfer for this start (never again on a retry).
    funds_transferred: bool = False
    # An exit the exchange refused: retried with backoff until it fills.
    exit_retry_reason: str | None = None
    exit_attempts: int = 0
    # Bumped by every stored write; a write from a stale copy is refused (StaleBotState).
    version: int = 0
    id: int | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BotState) and self.id is not None and self.id == other.id

    def __hash__(self) -> int:
        return hash(("BotState", self.id))

    @property
    def is_active(self) -> bool:
        """Pending, running or waiting: the worker evaluates the bot."""
        return self.status in ACTIVE_STATUSES

    def transition(self, target: BotStatus, now: datetime) -> None:
        if target not in ALLOWED_TRANSITIONS[self.status]:
            raise IllegalTransition(
                f"Cannot go from {self.status.value} to {target.value}",
                details={
                    "status": self.status.value,
                    "requested": target.value,
                    "allowed": sorted(s.value for s in ALLOWED_TRANSITIONS[self.status]),
                },
            )
        self.status = target
        self.last_updated_at = now

    def start(self, now: datetime) -> None:
        """stopped or paused → pending (the worker picks it up)."""
        self.transition(BotStatus.PENDING, now)
        self.last_error_message = None
        self.funds_transferred = False
        self.reconciled_at = None

    def stop(self, now: datetime) -> None:
        """Any state → stopped; stopping a stopped bot is a no-op."""
        if self.status is not BotStatus.STOPPED:
            self.transition(BotStatus.STOPPED, now)

    def pause(self, now: datetime) -> None:
        self.transition(BotStatus.PAUSED, now)

    def record_progress(
        self, progress: LiveProgress, risk: RiskParams, now: datetime
    ) -> BotStatus | None:
        """Keep the engine's new state and mirror it into the fields clients read.

        A pending bot becomes running on its first evaluation; a running bot waits when a
        daily limit blocks new entries, and runs again at 00:00 UTC.
        Returns the new status when it changed.
        """
        self.engine = progress.state
        self.signals = progress.signals
        self.last_candle_ms = progress.last_open_ms
        self.last_run_at = now
        return self._mirror(risk, now)

    def settle(
        self, engine: TradingState, position: OpenPosition | None, risk: RiskParams, now: datetime
    ) -> BotStatus | None:
        """An order's outcome: the engine as the fills made it and the filled position."""
        self.engine = engine
        self.filled_position = position
        return self._mirror(risk, now)

    def _mirror(self, risk: RiskParams, now: datetime) -> BotStatus | None:
        engine = self.engine
        assert engine is not None
        self.in_position = engine.in_position
        position = engine.position
        # The filled position changes with order outcomes only (an exit decided and not
        # yet filled leaves it); a position from before fills were kept is adopted.
        self.adopt_engine_position(risk)
        if (
            self.filled_position is not None
            and self.filled_position.side is engine.side
            and math.isfinite(engine.extreme_price)
        ):
            self.filled_position = replace(
                self.filled_position, extreme_price=float(engine.extreme_price)
            )
        filled = self.filled_position
        if filled is not None and (not engine.in_position or filled.side is not engine.side):
            filled = None  # an exit (or a reversal) waiting for its fill
        self.position_side = position.side.name.lower() if position else None
        self.entry_price = (
            filled.entry_price.quantize(_PLACES)
            if filled
            else _money(position.entry_price)
            if position
            else None
        )
        self.current_position_size_coins = (
            filled.quantity if filled else _money(position.quantity) if position else None
        )
        self.stop_loss_price = _money(position.stop_loss_price) if position else None
        self.take_profit_price = _money(position.take_profit_price) if position else None
        self.trailing_stop_price = _money(position.trailing_stop_price) if position else None
        self.max_price_since_entry = _money(position.extreme_price) if position else None
        # At 00:00 UTC the day's counters start again, and a daily limit no longer
        # blocks; the engine's own day rolls with the new day's first candle.
        new_day = 0 <= engine.day < _utc_day(now)
        self.daily_pnl = Decimal(0) if new_day else (_money(engine.daily_pnl) or Decimal(0))
        self.daily_trades_count = 0 if new_day else engine.daily_entries
        before = self.status
        if self.status is BotStatus.PENDING:
            self.transition(BotStatus.RUNNING, now)
        blocked = engine.entries_blocked(risk) and not new_day
        if self.status is BotStatus.RUNNING and blocked:
            self.transition(BotStatus.WAITING, now)
        elif self.status is BotStatus.WAITING and not blocked:
            self.transition(BotStatus.RUNNING, now)
        self.last_updated_at = now
        return self.status if self.status is not before else None

    def adopt_engine_position(self, risk: RiskParams) -> None:
        """A position the engine holds with no filled position kept (a row from before
        fills were kept): the engine's numbers are taken as the filled ones."""
        if self.engine is not None and self.engine.in_position and self.filled_position is None:
            self.filled_position = _adopted(self.engine, risk)

    def start_fresh(self) -> None:
        """The configuration changed what the bot trades or how: its engine, indicators
        and series start again (the next start seeds them from history)."""
        self.engine = None
        self.signals = None
        self.series_start_ms = None
        self.last_candle_ms = None
        self.filled_position = None
        self.exit_retry_reason = None
        self.exit_attempts = 0
        self.reconciled_at = None

    def correct(self, changes: Mapping[str, Any], risk: RiskParams, capital: Decimal) -> None:
        """An operator's correction of the runtime fields (the bot stopped or paused).
        Position fields change the engine's position and the filled position together,
        and the exit levels follow from the entry unless given too: then the engine uses
        the levels given, until the next fill derives them again."""
        if "last_error_message" in changes:
            self.last_error_message = changes["last_error_message"]
        engine = self.engine or TradingState(cash=float(capital))
        if "daily_pnl" in changes:
            engine = replace(engine, daily_pnl=float(changes["daily_pnl"]))
        if "daily_trades_count" in changes:
            engine = replace(engine, daily_entries=int(changes["daily_trades_count"]))
        self.engine = engine
        if changes.get("in_position") is False:
            self.forget_position()
        elif {"in_position", "entry_price", "current_position_size_coins"} & set(changes):
            self._correct_position(changes, risk)
        levels = {k: v for k, v in changes.items() if k in LEVEL_FIELDS and v is not None}
        if levels:
            self._correct_levels(levels)
        self.daily_pnl = _money(self.engine.daily_pnl) or Decimal(0)
        self.daily_trades_count = self.engine.daily_entries

    def _correct_levels(self, levels: Mapping[str, Any]) -> None:
        engine = self.engine
        if engine is None or not engine.in_position:
            raise InvalidInput(
                "Validation failed",
                details={name: ["only for an open position"] for name in sorted(levels)},
            )

        def level(name: str, current: float) -> float:
            return float(levels[name]) if name in levels else current

        self.engine = replace(
            engine,
            stop_loss_price=level("stop_loss_price", engine.stop_loss_price),
            take_profit_price=level("take_profit_price", engine.take_profit_price),
            trailing_stop_price=level("trailing_stop_price", engine.trailing_stop_price),
            extreme_price=level("max_price_since_entry", engine.extreme_price),
        )
        for name, value in levels.items():
            setattr(self, name, _money(float(value)))

    def _correct_position(self, changes: Mapping[str, Any], risk: RiskParams) -> None:
        engine = self.engine
        assert engine is not None
        quantity = changes.get("current_position_size_coins", self.current_position_size_coins)
        price = changes.get("entry_price", self.entry_price)
        if quantity is None or price is None or quantity <= 0 or price <= 0:
            raise InvalidInput(
                "Validation failed",
                details={
                    "current_position_size_coins": ["a positive amount for an open position"],
                    "entry_price": ["a positive price for an open position"],
                },
            )
        quantity, price = Decimal(str(quantity)), Decimal(str(price))
        side = engine.side if engine.in_position else Side.LONG
        futures = risk.futures
        leverage = risk.leverage if futures else 1
        if self.filled_position is not None:
            position = self.filled_position.corrected(quantity, price)
        else:
            position = OpenPosition(
                side, quantity, quantity, quantity * price, Decimal(0), leverage, futures
            )
        flat = engine.without_position()
        # Entering "as filled" takes the position's cost from the engine's cash.
        opened = replace(flat, side=side, entry_cost=0.0)
        self.engine = entry_settled(opened, held_position(position), risk)
        self.filled_position = position
        self.in_position = True
        self.position_side = side.name.lower()
        self.entry_price = position.entry_price.quantize(_PLACES)
        self.current_position_size_coins = position.quantity
        levels = self.engine
        self.stop_loss_price = _money(levels.stop_loss_price)
        self.take_profit_price = _money(levels.take_profit_price)
        self.trailing_stop_price = _money(levels.trailing_stop_price)
        self.max_price_since_entry = _money(levels.extreme_price)

    def forget_position(self) -> None:
        """An operator says the position is gone (closed by hand on the exchange): the
        engine forgets it too, so the bot starts again flat."""
        if self.engine is not None:
            self.engine = self.engine.without_position()
        self.filled_position = None
        self.exit_retry_reason = None
        self.exit_attempts = 0
        self.in_position = False
        self.position_side = None
        self.entry_price = None
        self.current_position_size_coins = None
        self.stop_loss_price = None
        self.take_profit_price = None
        self.trailing_stop_price = None
        self.max_price_since_entry = None

    def stop_with_error(self, message: str, now: datetime) -> None:
        self.stop(now)
        self.last_error_message = message[:1000]


def held_position(position: OpenPosition) -> HeldPosition:
    """The filled position in the engine's units."""
    return HeldPosition(
        side=position.side,
        quantity=float(position.quantity),
        entry_price=float(position.entry_price),
        cost=float(position.cost),
        fee=float(position.entry_fees),
        margin=float(position.margin),
    )


def _adopted(engine: TradingState, risk: RiskParams) -> OpenPosition:
    """The engine's position as the filled one, for a bot whose position predates fills
    being kept: its own quantity and entry price, its entry fee as the cost on top."""
    quantity = Decimal(repr(float(engine.quantity)))
    price = Decimal(repr(float(engine.entry_price)))
    return OpenPosition(
        side=engine.side,
        quantity=quantity,
        entry_quantity=quantity,
        entry_quote=quantity * price,
        entry_fees=Decimal(repr(float(engine.entry_fee))),
        leverage=risk.leverage if risk.futures else 1,
        futures=risk.futures,
        extreme_price=float(engine.extreme_price),
    )


_PLACES = Decimal("1e-18")


def _utc_day(moment: datetime) -> int:
    return int(moment.timestamp() // 86_400)


def _money(value: float) -> Decimal | None:
    """A price or amount from the engine (float64) for display; None where a rule is off."""
    if not math.isfinite(value):
        return None
    return Decimal(repr(float(value)))
