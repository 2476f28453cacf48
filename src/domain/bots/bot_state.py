"""A bot's runtime state and the state machine of SPEC §4.

stopped → pending → running ⇄ waiting
running | waiting → paused → pending
any → stopped
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from domain.bots.errors import IllegalTransition
from domain.trading.live import LiveProgress
from domain.trading.risk_engine import TradingState
from domain.trading.risk_params import RiskParams


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
        engine = progress.state
        self.engine = engine
        self.last_candle_ms = progress.last_open_ms
        self.last_run_at = now
        self.in_position = engine.in_position
        position = engine.position
        self.position_side = position.side.name.lower() if position else None
        self.entry_price = _money(position.entry_price) if position else None
        self.current_position_size_coins = _money(position.quantity) if position else None
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

    def forget_position(self) -> None:
        """An operator says the position is gone (closed by hand on the exchange): the
        engine forgets it too, so the bot starts again flat."""
        if self.engine is not None:
            self.engine = self.engine.without_position()
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


def _utc_day(moment: datetime) -> int:
    return int(moment.timestamp() // 86_400)


def _money(value: float) -> Decimal | None:
    """A price or amount from the engine (float64) for display; None where a rule is off."""
    if not math.isfinite(value):
        return None
    return Decimal(repr(float(value)))
