"""The engine's position made what the exchange filled.

The engine decides with its own numbers (a fill at the candle's close or the trigger);
once the exchange has answered, the position, the cash and the day's PnL are set from
the real fills, and the exit levels are derived again from the real entry price.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from domain.trading.risk_engine import (
    NAN,
    Side,
    TradingState,
    daily_limit_reached,
    entry_levels,
    liquidation_price,
)
from domain.trading.risk_params import RiskParams


@dataclass(frozen=True, slots=True)
class HeldPosition:
    """A filled position in the engine's units (floats)."""

    side: Side
    quantity: float
    entry_price: float
    cost: float  # margin or notional, plus the fees paid on top
    fee: float
    margin: float


def entry_settled(
    state: TradingState, held: HeldPosition | None, params: RiskParams
) -> TradingState:
    """The engine's entry replaced by what was filled; None when nothing was (rejected,
    expired): the bot is flat again and the entry does not count against the day."""
    if held is None:
        flat = state.without_position()
        return replace(flat, daily_entries=max(0, state.daily_entries - 1))
    return _holding(replace(state, cash=state.cash + state.entry_cost), held, params, state)


def exit_settled(
    state: TradingState,
    engine_pnl: float,
    realised_pnl: float,
    left: HeldPosition | None,
    entry_index: int,
    params: RiskParams,
    extreme_price: float,
) -> TradingState:
    """The engine's exit (already flat, booked with `engine_pnl`) replaced by the real
    one: `realised_pnl` of the part that was sold, and `left` still held (the whole
    position when the exit was rejected). The day's limits are judged on real PnL."""
    daily_before = state.daily_pnl - engine_pnl
    halted_before = daily_limit_reached(daily_before, state.day_start_equity, params)
    daily = daily_before + realised_pnl
    corrected = replace(
        state,
        cash=state.cash - engine_pnl + realised_pnl,
        daily_pnl=daily,
        halted=halted_before or daily_limit_reached(daily, state.day_start_equity, params),
    )
    if left is None:
        return corrected
    # The engine returned the whole cost to cash when it closed; what is still held is not.
    return _holding(corrected, left, params, None, entry_index, extreme_price)


def _holding(
    state: TradingState,
    held: HeldPosition,
    params: RiskParams,
    previous: TradingState | None,
    entry_index: int | None = None,
    extreme_price: float = NAN,
) -> TradingState:
    stop, target, trailing = entry_levels(held.entry_price, held.side, params)
    extreme = held.entry_price
    if math.isfinite(extreme_price):
        extreme = (
            max(extreme, extreme_price) if held.side is Side.LONG else min(extreme, extreme_price)
        )
    if math.isfinite(trailing) and extreme != held.entry_price:
        sign = 1.0 if held.side is Side.LONG else -1.0
        trailing = extreme * (1.0 - sign * params.trailing_stop_perc / 100.0)
    liquidation = liquidation_price(held.entry_price, held.side, params) if params.futures else NAN
    index = entry_index if entry_index is not None else (previous or state).entry_index
    return replace(
        state,
        cash=state.cash - held.cost,
        side=held.side,
        quantity=held.quantity,
        entry_price=held.entry_price,
        entry_index=index,
        entry_fee=held.fee,
        entry_cost=held.cost,
        margin=held.margin,
        stop_loss_price=stop,
        take_profit_price=target,
        trailing_stop_price=trailing,
        extreme_price=extreme,
        liquidation_price=liquidation,
    )
