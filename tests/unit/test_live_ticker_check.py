"""Between candle closes a live bot checks its position against the last price: a
crossed stop, trailing stop or target closes it at that price, and the candle during
which that happened opens no new position at its close."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.trading.live import check_ticker
from domain.trading.risk_engine import (
    CandleInput,
    ExitReason,
    Side,
    TradingState,
    open_position,
    step,
)
from domain.trading.risk_params import RiskParams

HOUR = 3_600_000
RISK = RiskParams(
    fee_rate=0.001,
    stop_loss_perc=2.0,
    take_profit_perc=4.0,
    trailing_stop_perc=3.0,
    trailing_stop_active=True,
    futures=True,
    leverage=2,
)


def entered(side: Side, price: float = 100.0) -> TradingState:
    candle = CandleInput(0, 0, price, price, price, price)
    state, fill = open_position(TradingState(cash=1000.0), candle, side, RISK)
    assert fill is not None
    return state


@pytest.mark.parametrize(
    ("side", "price", "reason"),
    [
        (Side.LONG, 98.0, ExitReason.STOP_LOSS),  # stop 98, trailing 97: the stop first
        (Side.LONG, 104.5, ExitReason.TAKE_PROFIT),
        (Side.SHORT, 102.0, ExitReason.STOP_LOSS),
        (Side.SHORT, 95.5, ExitReason.TAKE_PROFIT),
    ],
)
def test_a_crossed_level_closes_the_position_at_the_last_price(
    side: Side, price: float, reason: ExitReason
) -> None:
    state = entered(side)
    after, fill = check_ticker(state, price, 5, 5 * HOUR, 5 * HOUR, RISK)
    assert fill is not None
    assert (fill.reason, fill.price, fill.index, fill.is_entry) == (reason, price, 5, False)
    assert fill.quantity == state.quantity
    assert after.side is Side.FLAT
    assert after.risk_exit_open_ms == 5 * HOUR
    expected_pnl = (price - state.entry_price) * state.quantity * side - fill.fee - state.entry_fee
    assert fill.pnl == pytest.approx(expected_pnl)


def test_a_ratcheted_trailing_stop_fires_on_the_ticker() -> None:
    state = entered(Side.LONG)
    ratcheted = replace(state, extreme_price=110.0, trailing_stop_price=106.7)
    after, fill = check_ticker(ratcheted, 106.5, 7, 7 * HOUR, 7 * HOUR, RISK)
    assert fill is not None and fill.reason is ExitReason.TRAILING_STOP
    assert after.side is Side.FLAT


@given(price=st.floats(min_value=98.01, max_value=103.99))
def test_a_price_between_the_levels_changes_nothing(price: float) -> None:
    state = entered(Side.LONG)
    assert check_ticker(state, price, 3, 3 * HOUR, 3 * HOUR, RISK) == (state, None)


def test_a_flat_bot_has_nothing_to_protect() -> None:
    state = TradingState(cash=10.0)
    assert check_ticker(state, 1.0, 1, HOUR, HOUR, RISK) == (state, None)


def test_rules_that_are_off_never_fire() -> None:
    bare = RiskParams(fee_rate=0.0)
    candle = CandleInput(0, 0, 100.0, 100.0, 100.0, 100.0)
    state, _ = open_position(TradingState(cash=1000.0), candle, Side.LONG, bare)
    assert math.isnan(state.stop_loss_price)
    assert check_ticker(state, 1e-9, 1, HOUR, HOUR, bare) == (state, None)
    assert check_ticker(state, 1e9, 1, HOUR, HOUR, bare) == (state, None)


def test_the_candle_of_a_ticker_exit_opens_no_position_at_its_close_but_the_next_does() -> None:
    state = entered(Side.LONG)
    flat, _ = check_ticker(state, 97.0, 5, 5 * HOUR, 5 * HOUR, RISK)
    signal = dict(long_entry=True, entries_allowed=True)
    same = CandleInput(5, 5 * HOUR, 99.0, 99.5, 96.5, 99.0, **signal)
    after_same, fills = step(flat, same, RISK)
    assert fills == []
    assert after_same.risk_exit_open_ms == -1
    following = CandleInput(6, 6 * HOUR, 99.0, 99.5, 98.5, 99.2, **signal)
    after_next, fills = step(after_same, following, RISK)
    assert [f.is_entry for f in fills] == [True]
    assert after_next.side is Side.LONG
