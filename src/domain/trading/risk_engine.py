"""The risk engine: one pure step per closed candle.

`step(state, candle, params)` returns the new state and the fills it decided.
The backtest reference (`simulation.py`) and the live bot call the same
function; the numba kernel repeats it operation for operation.

Within a candle, for a position opened before it: liquidation, stop loss,
trailing stop, take profit (the pessimistic order), each filled at its trigger
or at the open when the candle gaps through it; then the trailing level
ratchets with the candle's extreme. At the close: a signal exit, then at most
one entry — none in a candle that closed a position, except the futures
reversal (an exit signal that is also the opposite entry).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import IntEnum, StrEnum

from domain.trading.risk_params import RiskParams

MS_PER_DAY = 86_400_000
NAN = math.nan


class Side(IntEnum):
    SHORT = -1
    FLAT = 0
    LONG = 1


class ExitReason(StrEnum):
    LIQUIDATION = "liquidation"
    STOP_LOSS = "stop_loss"
    TRAILING_STOP = "trailing_stop"
    TAKE_PROFIT = "take_profit"
    SIGNAL = "signal"
    END_OF_DATA = "end_of_data"


# Integer codes for the kernel, in the order of the checks.
EXIT_REASON_CODES: dict[ExitReason, int] = {reason: code for code, reason in enumerate(ExitReason)}


@dataclass(frozen=True, slots=True)
class CandleInput:
    """One closed candle and the strategy's signals at its close."""

    index: int
    open_time_ms: int
    open: float
    high: float
    low: float
    close: float
    long_entry: bool = False
    long_exit: bool = False
    short_entry: bool = False
    short_exit: bool = False
    entries_allowed: bool = True  # False during warm-up and on a backtest's last candle


@dataclass(frozen=True, slots=True)
class Position:
    """An open position and its exit levels (NaN where a rule is off)."""

    side: Side
    quantity: float
    entry_price: float
    entry_index: int
    margin: float
    stop_loss_price: float
    take_profit_price: float
    trailing_stop_price: float
    extreme_price: float
    liquidation_price: float

    def unrealized_pnl(self, price: float) -> float:
        return (price - self.entry_price) * self.quantity * self.side


@dataclass(frozen=True, slots=True)
class TradingState:
    cash: float
    side: Side = Side.FLAT
    quantity: float = 0.0
    entry_price: float = 0.0
    entry_index: int = -1
    entry_fee: float = 0.0
    entry_cost: float = 0.0  # what the entry took from cash: margin or notional, plus fee
    margin: float = 0.0
    stop_loss_price: float = NAN
    take_profit_price: float = NAN
    trailing_stop_price: float = NAN
    extreme_price: float = NAN
    liquidation_price: float = NAN
    day: int = -1
    day_start_equity: float = 0.0
    daily_pnl: float = 0.0
    daily_entries: int = 0
    halted: bool = False
    # Open time of the candle during which a live bot's ticker check closed the position
    # (domain.trading.live.check_ticker); -1 when none. That candle opens no new position.
    risk_exit_open_ms: int = -1

    @property
    def in_position(self) -> bool:
        return self.side is not Side.FLAT

    @property
    def position(self) -> Position | None:
        if self.side is Side.FLAT:
            return None
        return Position(
            side=self.side,
            quantity=self.quantity,
            entry_price=self.entry_price,
            entry_index=self.entry_index,
            margin=self.margin,
            stop_loss_price=self.stop_loss_price,
            take_profit_price=self.take_profit_price,
            trailing_stop_price=self.trailing_stop_price,
            extreme_price=self.extreme_price,
            liquidation_price=self.liquidation_price,
        )

    def without_position(self) -> TradingState:
        """The position forgotten (closed outside the bot, at a price nobody told it):
        its cost returns to cash, as if closed at the entry price without fees."""
        if self.side is Side.FLAT:
            return self
        return replace(
            self,
            cash=self.cash + self.entry_cost,
            side=Side.FLAT,
            quantity=0.0,
            entry_price=0.0,
            entry_index=-1,
            entry_fee=0.0,
            entry_cost=0.0,
            margin=0.0,
            stop_loss_price=NAN,
            take_profit_price=NAN,
            trailing_stop_price=NAN,
            extreme_price=NAN,
            liquidation_price=NAN,
        )

    def entries_blocked(self, params: RiskParams) -> bool:
        """No new entries today: a daily limit was reached (the bot is `waiting`)."""
        return self.halted or self.daily_entries >= params.max_daily_trades

    def equity(self, price: float) -> float:
        """Cash plus the position marked at `price`."""
        if self.side is Side.FLAT:
            return self.cash
        if self.margin > 0.0:
            return self.cash + self.margin + (price - self.entry_price) * self.quantity * self.side
        return self.cash + self.quantity * price


@dataclass(frozen=True, slots=True)
class Fill:
    index: int
    side: Side  # the position's side (LONG or SHORT)
    is_entry: bool
    price: float
    quantity: float
    fee: float
    pnl: float = 0.0  # realised, exits only: proceeds minus cost, both fees included
    reason: ExitReason | None = None


def step(
    state: TradingState, candle: CandleInput, params: RiskParams
) -> tuple[TradingState, list[Fill]]:
    fills: list[Fill] = []
    day = candle.open_time_ms // MS_PER_DAY
    if day != state.day:
        state = replace(
            state,
            day=day,
            day_start_equity=state.equity(candle.open),
            daily_pnl=0.0,
            daily_entries=0,
            halted=False,
        )
    if state.risk_exit_open_ms == candle.open_time_ms:
        return replace(state, risk_exit_open_ms=-1), fills
    closed = False
    if state.side is not Side.FLAT and state.entry_index < candle.index:
        state, exit_fill = _check_risk(state, candle, params)
        if exit_fill is not None:
            fills.append(exit_fill)
            return state, fills
        exit_signal = candle.long_exit if state.side is Side.LONG else candle.short_exit
        if exit_signal:
            state, exit_fill = close_position(
                state, candle, candle.close, ExitReason.SIGNAL, params
            )
            fills.append(exit_fill)
            closed = True
    if state.side is not Side.FLAT or not candle.entries_allowed or state.entries_blocked(params):
        return state, fills
    wanted = _wanted_entry(candle, params, fills[-1].side if closed else Side.FLAT)
    if wanted is not Side.FLAT:
        state, entry_fill = open_position(state, candle, wanted, params)
        if entry_fill is not None:
            fills.append(entry_fill)
    return state, fills


def _wanted_entry(candle: CandleInput, params: RiskParams, just_closed: Side) -> Side:
    """The side to enter at this close; after a signal exit only the futures reversal."""
    if just_closed is not Side.FLAT:
        if params.futures and just_closed is Side.LONG and candle.short_entry:
            return Side.SHORT
        if params.futures and just_closed is Side.SHORT and candle.long_entry:
            return Side.LONG
        return Side.FLAT
    if candle.long_entry:
        return Side.LONG
    if params.futures and candle.short_entry:
        return Side.SHORT
    return Side.FLAT


def open_position(
    state: TradingState, candle: CandleInput, side: Side, params: RiskParams
) -> tuple[TradingState, Fill | None]:
    equity = state.cash
    amount = params.position_size_fixed
    if amount <= 0.0:
        amount = equity * params.position_size_perc / 100.0
    if amount > state.cash:
        amount = state.cash
    if amount <= 0.0:
        return state, None
    price = candle.close * (1.0 + params.slippage_rate * side)
    fee_rate = params.fee_rate
    if params.futures:
        leverage = float(params.leverage)
        quantity = amount / (price * (1.0 / leverage + fee_rate))
        margin = quantity * price / leverage
        fee = quantity * price * fee_rate
        liquidation = liquidation_price(price, side, params)
    else:
        quantity = amount / (price * (1.0 + fee_rate))
        margin = 0.0
        fee = quantity * price * fee_rate
        liquidation = NAN
    stop, target, trailing = entry_levels(price, side, params)
    # The sizing formulas make margin (or notional) plus fee equal the amount; taking the
    # amount itself keeps an all-in entry at exactly zero cash, never a rounding below.
    new_state = replace(
        state,
        cash=state.cash - amount,
        side=side,
        quantity=quantity,
        entry_price=price,
        entry_index=candle.index,
        entry_fee=fee,
        entry_cost=amount,
        margin=margin,
        stop_loss_price=stop,
        take_profit_price=target,
        trailing_stop_price=trailing,
        extreme_price=price,
        liquidation_price=liquidation,
        daily_entries=state.daily_entries + 1,
    )
    return new_state, Fill(candle.index, side, True, price, quantity, fee)


def entry_levels(price: float, side: Side, params: RiskParams) -> tuple[float, float, float]:
    """Stop loss, take profit and trailing stop of a position entered at `price`."""
    stop = NAN
    if params.stop_loss_perc > 0.0:
        stop = price * (1.0 - side * params.stop_loss_perc / 100.0)
    target = NAN
    if params.take_profit_perc > 0.0:
        target = price * (1.0 + side * params.take_profit_perc / 100.0)
    trailing = NAN
    if params.trailing_stop_active and params.trailing_stop_perc > 0.0:
        trailing = price * (1.0 - side * params.trailing_stop_perc / 100.0)
    return stop, target, trailing


def liquidation_price(price: float, side: Side, params: RiskParams) -> float:
    """Isolated margin: where a futures position entered at `price` loses its margin."""
    leverage = float(params.leverage)
    mmr = params.maintenance_margin_rate
    if side is Side.LONG:
        return price * (1.0 - 1.0 / leverage + mmr)
    return price * (1.0 + 1.0 / leverage - mmr)


def daily_limit_reached(daily_pnl: float, day_start_equity: float, params: RiskParams) -> bool:
    """The day's realised PnL reached the daily target or the daily loss limit."""
    if params.daily_target_perc > 0.0 and daily_pnl >= day_start_equity * (
        params.daily_target_perc / 100.0
    ):
        return True
    return params.max_daily_loss_perc > 0.0 and daily_pnl <= -day_start_equity * (
        params.max_daily_loss_perc / 100.0
    )


def close_position(
    state: TradingState,
    candle: CandleInput,
    trigger: float,
    reason: ExitReason,
    params: RiskParams,
) -> tuple[TradingState, Fill]:
    side = state.side
    if reason is ExitReason.LIQUIDATION:
        price = trigger
        fee = 0.0
        returned = 0.0
    else:
        price = trigger * (1.0 - params.slippage_rate * side)
        fee = state.quantity * price * params.fee_rate
        if state.margin > 0.0:
            returned = state.margin + (price - state.entry_price) * state.quantity * side - fee
        else:
            returned = state.quantity * price - fee
    pnl = returned - state.entry_cost
    daily_pnl = state.daily_pnl + pnl
    halted = state.halted
    if params.daily_target_perc > 0.0 and daily_pnl >= state.day_start_equity * (
        params.daily_target_perc / 100.0
    ):
        halted = True
    if params.max_daily_loss_perc > 0.0 and daily_pnl <= -state.day_start_equity * (
        params.max_daily_loss_perc / 100.0
    ):
        halted = True
    new_state = replace(
        state,
        cash=state.cash + returned,
        side=Side.FLAT,
        quantity=0.0,
        entry_price=0.0,
        entry_index=-1,
        entry_fee=0.0,
        entry_cost=0.0,
        margin=0.0,
        stop_loss_price=NAN,
        take_profit_price=NAN,
        trailing_stop_price=NAN,
        extreme_price=NAN,
        liquidation_price=NAN,
        daily_pnl=daily_pnl,
        halted=halted,
    )
    return new_state, Fill(candle.index, side, False, price, state.quantity, fee, pnl, reason)


def _check_risk(
    state: TradingState, candle: CandleInput, params: RiskParams
) -> tuple[TradingState, Fill | None]:
    if state.side is Side.LONG:
        trigger, reason = _long_trigger(state, candle)
    else:
        trigger, reason = _short_trigger(state, candle)
    if reason is not None:
        return close_position(state, candle, trigger, reason, params)
    if params.trailing_stop_active and params.trailing_stop_perc > 0.0:
        if state.side is Side.LONG:
            extreme = max(state.extreme_price, candle.high)
            trailing = extreme * (1.0 - params.trailing_stop_perc / 100.0)
        else:
            extreme = min(state.extreme_price, candle.low)
            trailing = extreme * (1.0 + params.trailing_stop_perc / 100.0)
        state = replace(state, extreme_price=extreme, trailing_stop_price=trailing)
    return state, None


def _long_trigger(state: TradingState, c: CandleInput) -> tuple[float, ExitReason | None]:
    if c.low <= state.liquidation_price:
        return state.liquidation_price, ExitReason.LIQUIDATION
    for level, reason in (
        (state.stop_loss_price, ExitReason.STOP_LOSS),
        (state.trailing_stop_price, ExitReason.TRAILING_STOP),
    ):
        if c.open <= level:
            return c.open, reason
        if c.low <= level:
            return level, reason
    if c.open >= state.take_profit_price:
        return c.open, ExitReason.TAKE_PROFIT
    if c.high >= state.take_profit_price:
        return state.take_profit_price, ExitReason.TAKE_PROFIT
    return NAN, None


def _short_trigger(state: TradingState, c: CandleInput) -> tuple[float, ExitReason | None]:
    if c.high >= state.liquidation_price:
        return state.liquidation_price, ExitReason.LIQUIDATION
    for level, reason in (
        (state.stop_loss_price, ExitReason.STOP_LOSS),
        (state.trailing_stop_price, ExitReason.TRAILING_STOP),
    ):
        if c.open >= level:
            return c.open, reason
        if c.high >= level:
            return level, reason
    if c.open <= state.take_profit_price:
        return c.open, ExitReason.TAKE_PROFIT
    if c.low <= state.take_profit_price:
        return state.take_profit_price, ExitReason.TAKE_PROFIT
    return NAN, None
