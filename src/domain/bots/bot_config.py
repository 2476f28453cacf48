"""A bot's configuration (every field of the API reference) and its invariants."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.bots.errors import BotIsRunning
from domain.errors import InvalidInput
from domain.exchange.market import MarketType
from domain.market_data.timeframe import SUPPORTED_TIMEFRAMES
from domain.trading.risk_params import (
    DEFAULT_FUTURES_FEE_RATE,
    DEFAULT_SPOT_FEE_RATE,
    MAX_LEVERAGE,
    RiskParams,
)
from domain.trading.strategies import StrategyName, StrategyParams
from domain.values import Symbol

MIN_PERIOD = 2
MAX_PERIOD = 500
MAX_CHECK_INTERVAL = 86_400

# Changing these while a bot runs would change a live position's rules or market
# under it; everything else (risk limits, sizing of the next entry, name) is safe.
FRESH_START_FIELDS = frozenset(
    {
        "symbol",
        "timeframe",
        "position_type",
        "leverage",
        "initial_capital",
        "strategy",
    }
)
# Their change makes the carried indicators wrong: they are computed again once.
INDICATOR_FIELDS = frozenset(
    {
        "ema_fast",
        "ema_slow",
        "rsi_period",
        "ema_period",
        "custom_ema_fast",
        "custom_ema_slow",
        "custom_rsi_period",
    }
)
UNSAFE_WHILE_RUNNING = frozenset(
    {
        "symbol",
        "timeframe",
        "position_type",
        "leverage",
        "api_key_id",
        "initial_capital",
        "strategy",
        "ema_fast",
        "ema_slow",
        "rsi_period",
        "rsi_oversold",
        "rsi_overbought",
        "ema_period",
        "custom_ema_fast",
        "custom_ema_slow",
        "custom_rsi_period",
        "custom_rsi_oversold",
        "custom_rsi_overbought",
        "transfer_amount",
        "auto_transfer_funds",
    }
)


@dataclass(frozen=True, slots=True)
class FieldRange:
    """The accepted range of a numeric field: what forms show and validation enforces."""

    kind: type
    minimum: float
    maximum: float
    exclusive_minimum: bool = False


_PERIOD = FieldRange(int, MIN_PERIOD, MAX_PERIOD)
_PERCENT = FieldRange(float, 0, 100, exclusive_minimum=True)
_RSI_LEVEL = FieldRange(int, 1, 99)
FIELD_RANGES: dict[str, FieldRange] = {
    **{name: _PERIOD for name in ("ema_fast", "ema_slow", "rsi_period", "ema_period")},
    **{name: _PERIOD for name in ("custom_ema_fast", "custom_ema_slow", "custom_rsi_period")},
    **{
        name: _PERCENT
        for name in (
            "daily_target_perc",
            "max_daily_loss_perc",
            "position_size_perc",
            "stop_loss_perc",
            "take_profit_perc",
            "trailing_stop_perc",
            "custom_stop_loss",
            "custom_take_profit",
            "custom_trailing_stop",
        )
    },
    **{
        name: _RSI_LEVEL
        for name in (
            "rsi_oversold",
            "rsi_overbought",
            "custom_rsi_oversold",
            "custom_rsi_overbought",
        )
    },
    "leverage": FieldRange(int, 1, MAX_LEVERAGE),
    "max_daily_trades": FieldRange(int, 1, 1000),
    "check_interval_seconds": FieldRange(int, 1, MAX_CHECK_INTERVAL),
}
_CUSTOM_REQUIRED = (
    "custom_ema_fast",
    "custom_ema_slow",
    "custom_rsi_period",
    "custom_rsi_oversold",
    "custom_rsi_overbought",
)


@dataclass(eq=False, slots=True)
class BotConfig:
    user_id: int
    name: str
    symbol: str
    created_at: datetime
    updated_at: datetime
    timeframe: str = "1h"
    is_active: bool = True
    initial_capital: Decimal = Decimal(1000)
    daily_target_perc: float | None = None
    max_daily_loss_perc: float | None = None
    position_size_perc: float | None = 10.0
    position_size_fixed: Decimal | None = None
    stop_loss_perc: float | None = 2.0
    take_profit_perc: float | None = 4.0
    trailing_stop_perc: float | None = None
    trailing_stop_active: bool = False
    ema_fast: int = 9
    ema_slow: int = 21
    rsi_period: int = 14
    rsi_oversold: int = 30
    rsi_overbought: int = 70
    max_daily_trades: int = 5
    check_interval_seconds: int = 60
    api_key_id: int | None = None
    strategy: str = StrategyName.EMA_RSI.value
    ema_period: int = 50
    custom_ema_fast: int | None = None
    custom_ema_slow: int | None = None
    custom_rsi_period: int | None = None
    custom_rsi_oversold: int | None = None
    custom_rsi_overbought: int | None = None
    custom_stop_loss: float | None = None
    custom_take_profit: float | None = None
    custom_trailing_stop: float | None = None
    position_type: str = MarketType.SPOT.value
    transfer_amount: Decimal | None = None
    auto_transfer_funds: bool = False
    leverage: int = 1
    id: int | None = None

    def __post_init__(self) -> None:
        self.symbol = Symbol(self.symbol).value
        self.name = self.name.strip()
        problems = _violations(self)
        if problems:
            raise InvalidInput("Validation failed", details=problems)

    @classmethod
    def restore(cls, values: Sequence[Any]) -> BotConfig:
        """A configuration as stored, from its values in field order (`fields(BotConfig)`):
        it was validated when saved, so it is not validated again. Reading a page of 50
        would otherwise spend more time re-checking invariants than the query takes."""
        config = object.__new__(cls)
        for slot, value in zip(_SLOTS, values, strict=True):
            slot.__set__(config, value)
        return config

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BotConfig) and self.id is not None and self.id == other.id

    def __hash__(self) -> int:
        return hash(("BotConfig", self.id))

    @property
    def market_type(self) -> MarketType:
        return MarketType(self.position_type)

    def with_changes(self, changes: Mapping[str, Any], running: bool, now: datetime) -> BotConfig:
        """A validated copy with the changes applied; BotIsRunning for unsafe changes of a
        running bot (fields whose value actually changes)."""
        unknown = set(changes) - set(EDITABLE_FIELDS)
        if unknown:
            raise InvalidInput(
                "Validation failed",
                details={name: ["cannot be changed"] for name in sorted(unknown)},
            )
        changes = dict(changes)
        if isinstance(changes.get("symbol"), str):
            changes["symbol"] = Symbol(changes["symbol"]).value
        effective = {k: v for k, v in changes.items() if getattr(self, k) != v}
        blocked = sorted(set(effective) & UNSAFE_WHILE_RUNNING) if running else []
        if blocked:
            raise BotIsRunning(
                "Stop the bot before changing these fields",
                details={"fields": blocked},
            )
        return replace(self, **effective, updated_at=now)

    def changes_what_is_traded(self, updated: BotConfig) -> list[str]:
        """The fields whose change makes a stopped bot start fresh (engine state and
        series reset): what it trades, on what candles, with which rules and capital."""
        return sorted(
            name for name in FRESH_START_FIELDS if getattr(self, name) != getattr(updated, name)
        )

    def changes_indicators(self, updated: BotConfig) -> bool:
        return any(getattr(self, name) != getattr(updated, name) for name in INDICATOR_FIELDS)

    def strategy_params(self) -> StrategyParams:
        if self.strategy == StrategyName.CUSTOM:
            assert self.custom_ema_fast is not None
            assert self.custom_ema_slow is not None
            assert self.custom_rsi_period is not None
            assert self.custom_rsi_oversold is not None
            assert self.custom_rsi_overbought is not None
            return StrategyParams(
                ema_fast=self.custom_ema_fast,
                ema_slow=self.custom_ema_slow,
                rsi_period=self.custom_rsi_period,
                rsi_oversold=float(self.custom_rsi_oversold),
                rsi_overbought=float(self.custom_rsi_overbought),
                ema_period=self.ema_period,
            )
        return StrategyParams(
            ema_fast=self.ema_fast,
            ema_slow=self.ema_slow,
            rsi_period=self.rsi_period,
            rsi_oversold=float(self.rsi_oversold),
            rsi_overbought=float(self.rsi_overbought),
            ema_period=self.ema_period,
        )

    def risk_params(self, fee_rate: float | None = None, slippage_rate: float = 0.0) -> RiskParams:
        futures = self.market_type is MarketType.FUTURES
        custom = self.strategy == StrategyName.CUSTOM
        stop = self.custom_stop_loss if custom and self.custom_stop_loss else self.stop_loss_perc
        target = (
            self.custom_take_profit if custom and self.custom_take_profit else self.take_profit_perc
        )
        trailing = (
            self.custom_trailing_stop
            if custom and self.custom_trailing_stop
            else self.trailing_stop_perc
        )
        default_fee = DEFAULT_FUTURES_FEE_RATE if futures else DEFAULT_SPOT_FEE_RATE
        return RiskParams(
            futures=futures,
            leverage=self.leverage,
            fee_rate=default_fee if fee_rate is None else fee_rate,
            slippage_rate=slippage_rate,
            stop_loss_perc=stop or 0.0,
            take_profit_perc=target or 0.0,
            trailing_stop_perc=trailing or 0.0,
            trailing_stop_active=self.trailing_stop_active,
            position_size_perc=self.position_size_perc or 100.0,
            position_size_fixed=float(self.position_size_fixed or 0),
            max_daily_trades=self.max_daily_trades,
            daily_target_perc=self.daily_target_perc or 0.0,
            max_daily_loss_perc=self.max_daily_loss_perc or 0.0,
        )


# The slot of every field, in field order (for `restore`).
_SLOTS: tuple[Any, ...] = tuple(getattr(BotConfig, f.name) for f in fields(BotConfig))
EDITABLE_FIELDS: tuple[str, ...] = tuple(
    f.name for f in fields(BotConfig) if f.name not in {"id", "user_id", "created_at", "updated_at"}
)


_STRATEGIES = frozenset(s.value for s in StrategyName)
_MARKET_TYPES = frozenset(m.value for m in MarketType)


def _violations(c: BotConfig) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    if not 1 <= len(c.name) <= 100:
        add("name", "1 to 100 characters")
    if c.timeframe not in SUPPORTED_TIMEFRAMES:
        add("timeframe", f"one of {', '.join(SUPPORTED_TIMEFRAMES)}")
    if c.strategy not in _STRATEGIES:
        add("strategy", f"one of {', '.join(s.value for s in StrategyName)}")
    if c.position_type not in _MARKET_TYPES:
        add("position_type", "spot or futures")
    for name, bounds in FIELD_RANGES.items():
        value = getattr(c, name)
        if value is None:
            continue
        too_low = value <= bounds.minimum if bounds.exclusive_minimum else value < bounds.minimum
        if not math.isfinite(value) or too_low or value > bounds.maximum:
            lead = "above" if bounds.exclusive_minimum else "from"
            add(name, f"{lead} {bounds.minimum:g} to {bounds.maximum:g}")
    if c.position_size_perc is None and c.position_size_fixed is None:
        add("position_size_perc", "set position_size_perc or position_size_fixed")
    for name in ("initial_capital", "position_size_fixed", "transfer_amount"):
        value = getattr(c, name)
        if value is not None and (not value.is_finite() or value <= 0):
            add(name, "a positive amount")
    if c.ema_fast >= c.ema_slow:
        add("ema_fast", "must be below ema_slow")
    if not 0 < c.rsi_oversold < c.rsi_overbought < 100:
        add("rsi_oversold", "need 0 < rsi_oversold < rsi_overbought < 100")
    if c.strategy == StrategyName.CUSTOM:
        for name in _CUSTOM_REQUIRED:
            if getattr(c, name) is None:
                add(name, "required by the custom strategy")
    if (
        c.custom_ema_fast is not None
        and c.custom_ema_slow is not None
        and c.custom_ema_fast >= c.custom_ema_slow
    ):
        add("custom_ema_fast", "must be below custom_ema_slow")
    low, high = c.custom_rsi_oversold, c.custom_rsi_overbought
    if (low is not None or high is not None) and not (
        low is not None and high is not None and 0 < low < high < 100
    ):
        add("custom_rsi_oversold", "need 0 < custom_rsi_oversold < custom_rsi_overbought < 100")
    if 1 < c.leverage <= MAX_LEVERAGE and c.position_type != MarketType.FUTURES.value:
        add("leverage", "above 1 only for futures")
    if c.auto_transfer_funds and c.position_type != MarketType.FUTURES.value:
        add("auto_transfer_funds", "only for futures bots")
    if c.auto_transfer_funds and c.transfer_amount is None:
        add("transfer_amount", "required with auto_transfer_funds")
    return problems
