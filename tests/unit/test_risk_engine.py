"""The risk engine: hand-computed examples for each rule through `step` and
`simulate`, and invariants over random candle paths.

Example conventions: candles are one hour long (open_time_ms = day * 86_400_000 +
hour * 3_600_000); capital 1000; the entry candle is flat at 100 with the signal set.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.trading.risk_engine import (
    MS_PER_DAY,
    CandleInput,
    ExitReason,
    Fill,
    Side,
    TradingState,
    close_position,
    step,
)
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries, simulate
from domain.trading.strategies import StrategyName, StrategyParams, compute_signals

HOUR = 3_600_000


def candle(
    index: int,
    o: float,
    h: float,
    low: float,
    c: float,
    *,
    day: int = 0,
    hour: int | None = None,
    **flags: bool,
) -> CandleInput:
    hour = index if hour is None else hour
    return CandleInput(
        index=index,
        open_time_ms=day * MS_PER_DAY + hour * HOUR,
        open=o,
        high=h,
        low=low,
        close=c,
        **flags,
    )


def flat(index: int, price: float, **kwargs: object) -> CandleInput:
    return candle(index, price, price, price, price, **kwargs)  # type: ignore[arg-type]


def run(
    candles: list[CandleInput], params: RiskParams, cash: float = 1000.0
) -> tuple[TradingState, list[Fill]]:
    state = TradingState(cash=cash)
    fills: list[Fill] = []
    for c in candles:
        state, new = step(state, c, params)
        fills.extend(new)
    return state, fills


def entries(fills: list[Fill]) -> list[int]:
    return [f.index for f in fills if f.is_entry]


# --- spot sizing, stop loss, gaps, take profit -----------------------------------------------

SPOT_1PC = RiskParams(fee_rate=0.01, stop_loss_perc=10.0)
Q_SPOT = 1000.0 / 101.0  # 1000 / (100 * (1 + 0.01)) = 9.90099 coins


def test_a_spot_entry_buys_amount_over_price_times_one_plus_fee() -> None:
    state, fills = run([flat(0, 100.0, long_entry=True)], SPOT_1PC)
    [entry] = fills
    assert entry.is_entry and entry.side is Side.LONG
    assert entry.price == 100.0
    assert entry.quantity == pytest.approx(Q_SPOT)  # 9.90099
    assert entry.fee == pytest.approx(Q_SPOT * 100.0 * 0.01)  # 9.90099, covered by the amount
    assert state.cash == pytest.approx(0.0, abs=1e-9)
    assert state.stop_loss_price == pytest.approx(90.0)  # 100 * (1 - 10 %)
    assert math.isnan(state.take_profit_price)
    assert math.isnan(state.liquidation_price)


def test_a_stop_loss_fills_at_its_trigger() -> None:
    # entry 100, stop 90; next candle o95 h96 l85 c88 passes through 90 -> filled at 90.
    # exit fee = 9.90099 * 90 * 1 % = 8.91089; proceeds 891.0891 - 8.91089 = 882.1782
    # pnl = 882.1782 - 1000 = -117.8218
    state, fills = run([flat(0, 100.0, long_entry=True), candle(1, 95, 96, 85, 88)], SPOT_1PC)
    exit_fill = fills[-1]
    assert exit_fill.reason is ExitReason.STOP_LOSS
    assert exit_fill.index == 1
    assert exit_fill.price == pytest.approx(90.0)
    assert exit_fill.fee == pytest.approx(Q_SPOT * 90.0 * 0.01)
    assert exit_fill.pnl == pytest.approx(Q_SPOT * 90.0 * 0.99 - 1000.0)
    assert exit_fill.pnl == pytest.approx(-117.8217821782)
    assert state.side is Side.FLAT
    assert state.cash == pytest.approx(882.1782178218)


def test_a_stop_loss_fills_at_the_open_when_the_candle_gaps_through_it() -> None:
    # entry 100, stop 90; the next candle opens at 80: filled at 80 like a real stop order.
    # pnl = 9.90099 * 80 * 0.99 - 1000 = -215.8416
    _, fills = run([flat(0, 100.0, long_entry=True), candle(1, 80, 82, 78, 81)], SPOT_1PC)
    assert fills[-1].reason is ExitReason.STOP_LOSS
    assert fills[-1].price == 80.0
    assert fills[-1].pnl == pytest.approx(-215.8415841584)


def test_a_take_profit_fills_at_its_target() -> None:
    # entry 100, target 120 (20 %); candle o105 h125 l104 -> filled at 120.
    # pnl = 9.90099 * 120 * 0.99 - 1000 = 176.2376
    params = RiskParams(fee_rate=0.01, stop_loss_perc=10.0, take_profit_perc=20.0)
    _, fills = run([flat(0, 100.0, long_entry=True), candle(1, 105, 125, 104, 110)], params)
    assert fills[-1].reason is ExitReason.TAKE_PROFIT
    assert fills[-1].price == pytest.approx(120.0)
    assert fills[-1].pnl == pytest.approx(176.2376237624)


def test_a_take_profit_fills_at_the_open_when_the_candle_gaps_above_it() -> None:
    # target 120, the candle opens at 130: filled at 130; pnl = 9.90099 * 130 * 0.99 - 1000
    params = RiskParams(fee_rate=0.01, take_profit_perc=20.0)
    _, fills = run([flat(0, 100.0, long_entry=True), candle(1, 130, 135, 128, 131)], params)
    assert fills[-1].reason is ExitReason.TAKE_PROFIT
    assert fills[-1].price == 130.0
    assert fills[-1].pnl == pytest.approx(274.2574257426)


def test_a_candle_that_reaches_both_stop_and_target_is_a_stop_loss() -> None:
    # stop 90, target 120, the candle spans 85..125: the pessimistic order takes the stop.
    params = RiskParams(fee_rate=0.01, stop_loss_perc=10.0, take_profit_perc=20.0)
    _, fills = run([flat(0, 100.0, long_entry=True), candle(1, 100, 125, 85, 110)], params)
    assert fills[-1].reason is ExitReason.STOP_LOSS
    assert fills[-1].price == pytest.approx(90.0)


def test_a_position_is_first_checked_on_the_candle_after_its_entry() -> None:
    # The entry candle dipped to 50 before closing at 100; the stop (90) is set at the close
    # and only the next candle is checked against it.
    state, fills = run([candle(0, 100, 100, 50, 100, long_entry=True)], SPOT_1PC)
    assert [f.is_entry for f in fills] == [True]
    assert state.side is Side.LONG


# --- trailing stop ---------------------------------------------------------------------------

TRAILING = RiskParams(fee_rate=0.01, trailing_stop_perc=10.0, trailing_stop_active=True)


def test_the_trailing_stop_ratchets_after_the_checks_and_then_fills() -> None:
    # entry 100 -> trailing 90. Candle 1 (o100 h120 l100): checked against 90 (no fill),
    # then ratcheted to 120 * 0.9 = 108. Had it ratcheted first, its low of 100 would have
    # stopped it out. Candle 2 (o115 h116 l107): 107 <= 108 -> filled at 108.
    # pnl = 9.90099 * 108 * 0.99 - 1000 = 58.6139
    candles = [flat(0, 100.0, long_entry=True), candle(1, 100, 120, 100, 118)]
    state, fills = run(candles, TRAILING)
    assert len(fills) == 1
    assert state.trailing_stop_price == pytest.approx(108.0)
    assert state.extreme_price == 120.0
    state, new = step(state, candle(2, 115, 116, 107, 110), TRAILING)
    [exit_fill] = new
    assert exit_fill.reason is ExitReason.TRAILING_STOP
    assert exit_fill.price == pytest.approx(108.0)
    assert exit_fill.pnl == pytest.approx(58.6138613861)


def test_the_trailing_stop_fills_at_the_open_on_a_gap() -> None:
    candles = [
        flat(0, 100.0, long_entry=True),
        candle(1, 100, 120, 100, 118),
        candle(2, 104, 106, 103, 105),
    ]
    _, fills = run(candles, TRAILING)
    assert fills[-1].reason is ExitReason.TRAILING_STOP
    assert fills[-1].price == 104.0
    assert fills[-1].pnl == pytest.approx(19.4059405941)  # 9.90099 * 104 * 0.99 - 1000


def test_the_trailing_stop_does_not_loosen_when_the_price_falls_back() -> None:
    candles = [
        flat(0, 100.0, long_entry=True),
        candle(1, 100, 120, 100, 118),
        candle(2, 118, 118, 110, 111),
    ]
    state, fills = run(candles, TRAILING)
    assert len(fills) == 1
    assert state.trailing_stop_price == pytest.approx(108.0)


def test_a_short_trailing_stop_ratchets_down_with_the_low() -> None:
    # short at 100 on futures: trailing 110; candle o100 h100 l80 -> ratchet to 80 * 1.1 = 88;
    # next candle high 90 >= 88 -> bought back at 88.
    params = RiskParams(
        futures=True, fee_rate=0.0, trailing_stop_perc=10.0, trailing_stop_active=True
    )
    candles = [flat(0, 100.0, short_entry=True), candle(1, 100, 100, 80, 82)]
    state, _ = run(candles, params)
    assert state.trailing_stop_price == pytest.approx(88.0)
    state, new = step(state, candle(2, 85, 90, 84, 86), params)
    assert new[-1].reason is ExitReason.TRAILING_STOP
    assert new[-1].price == pytest.approx(88.0)
    # 1000 / 100 = 10 coins short, 100 -> 88: +120
    assert new[-1].pnl == pytest.approx(120.0)


def test_an_inactive_trailing_stop_never_fires() -> None:
    params = RiskParams(fee_rate=0.0, trailing_stop_perc=10.0, trailing_stop_active=False)
    candles = [flat(0, 100.0, long_entry=True), candle(1, 100, 120, 100, 118)]
    state, _ = run(candles, params)
    assert math.isnan(state.trailing_stop_price)
    state, new = step(state, candle(2, 115, 116, 95, 100), params)
    assert new == []
    assert state.side is Side.LONG


# --- futures: liquidation, shorts, reversal --------------------------------------------------

FUT10 = RiskParams(futures=True, leverage=10, fee_rate=0.0004)
# 1000 / (100 * (1/10 + 0.0004)) = 99.6016 coins; margin 996.016; entry fee 3.98406
Q_FUT10 = 1000.0 / (100.0 * 0.1004)


def test_a_leveraged_long_is_liquidated_at_entry_times_one_minus_one_over_leverage_plus_mmr() -> (
    None
):
    state, fills = run([flat(0, 100.0, long_entry=True)], FUT10)
    entry = fills[0]
    margin = entry.quantity * entry.price / 10
    assert entry.quantity == pytest.approx(Q_FUT10)
    assert margin == pytest.approx(996.0159362550)
    assert entry.fee == pytest.approx(3.9840637450)
    assert entry.quantity * entry.price == pytest.approx(margin * 10)  # notional = margin x lev
    assert state.liquidation_price == pytest.approx(90.4)  # 100 * (1 - 1/10 + 0.004)
    # low 90.5: still alive
    alive, none = step(state, candle(1, 95, 96, 90.5, 91), FUT10)
    assert none == []
    assert alive.side is Side.LONG
    # low 90: liquidated at 90.4, the whole margin and the entry fee are gone
    dead, [liq] = step(alive, candle(2, 91, 92, 90, 91), FUT10)
    assert liq.reason is ExitReason.LIQUIDATION
    assert liq.price == pytest.approx(90.4)
    assert liq.fee == 0.0
    assert liq.pnl == pytest.approx(-(margin + entry.fee))
    assert liq.pnl == pytest.approx(-1000.0)
    assert dead.cash == pytest.approx(0.0, abs=1e-9)


def test_liquidation_is_checked_before_the_stop_loss() -> None:
    params = RiskParams(futures=True, leverage=10, fee_rate=0.0004, stop_loss_perc=5.0)
    _, fills = run([flat(0, 100.0, long_entry=True), candle(1, 96, 97, 90, 91)], params)
    assert fills[-1].reason is ExitReason.LIQUIDATION


def test_a_leveraged_short_is_liquidated_at_entry_times_one_plus_one_over_leverage_minus_mmr() -> (
    None
):
    state, fills = run([flat(0, 100.0, short_entry=True)], FUT10)
    assert state.side is Side.SHORT
    assert state.liquidation_price == pytest.approx(109.6)  # 100 * (1 + 1/10 - 0.004)
    _, [liq] = step(state, candle(1, 105, 110, 104, 108), FUT10)
    assert liq.reason is ExitReason.LIQUIDATION
    assert liq.pnl == pytest.approx(-(state.margin + fills[0].fee))


FUT2 = RiskParams(
    futures=True, leverage=2, fee_rate=0.0004, stop_loss_perc=10.0, take_profit_perc=20.0
)
Q_FUT2 = 1000.0 / (100.0 * 0.5004)  # 19.98401 coins, margin 999.2006, entry fee 0.79936


def test_a_futures_short_takes_profit_below_its_entry() -> None:
    # short at 100: stop 110, target 80. Candle o95 h96 l78 -> bought back at 80.
    # pnl = 19.98401 * (100 - 80) - 0.79936 - 19.98401 * 80 * 0.0004 (0.63949) = 398.2414
    state, fills = run([flat(0, 100.0, short_entry=True)], FUT2)
    assert fills[0].side is Side.SHORT
    assert fills[0].quantity == pytest.approx(Q_FUT2)
    assert state.stop_loss_price == pytest.approx(110.0)
    assert state.take_profit_price == pytest.approx(80.0)
    state, [exit_fill] = step(state, candle(1, 95, 96, 78, 79), FUT2)
    assert exit_fill.reason is ExitReason.TAKE_PROFIT
    assert exit_fill.price == pytest.approx(80.0)
    assert exit_fill.pnl == pytest.approx(398.2414068745)
    assert state.cash == pytest.approx(1000.0 + 398.2414068745)


def test_a_futures_short_stops_out_above_its_entry() -> None:
    # candle o105 h112 l104 -> stop at 110: pnl = -19.98401 * 10 - 0.79936 - 0.87930 = -201.52
    _, fills = run([flat(0, 100.0, short_entry=True), candle(1, 105, 112, 104, 108)], FUT2)
    assert fills[-1].reason is ExitReason.STOP_LOSS
    assert fills[-1].price == pytest.approx(110.0)
    assert fills[-1].pnl == pytest.approx(-201.5187849720)


def test_spot_never_goes_short() -> None:
    state, fills = run(
        [flat(0, 100.0, short_entry=True), flat(1, 90.0, short_entry=True)], SPOT_1PC
    )
    assert fills == []
    assert state.side is Side.FLAT
    assert state.cash == 1000.0


def test_a_futures_exit_that_is_also_the_opposite_entry_reverses_with_two_fills_and_two_fees() -> (
    None
):
    # lev 1, fee 0.1 %: long 1000 / (100 * 1.001) = 9.99001 coins at 100.
    # At 110 the long exit is also a short entry: exit fee 9.99001 * 110 * 0.001 = 1.0989,
    # pnl = 99.9001 - 0.99900 - 1.0989 = 97.8022; then short (1097.8022) / (110 * 1.001)
    # = 9.97005 coins with fee 9.97005 * 110 * 0.001 = 1.09670.
    params = RiskParams(futures=True, fee_rate=0.001)
    candles = [
        flat(0, 100.0, long_entry=True),
        flat(1, 110.0, long_exit=True, short_entry=True),
    ]
    state, fills = run(candles, params)
    assert [(f.index, f.side, f.is_entry) for f in fills] == [
        (0, Side.LONG, True),
        (1, Side.LONG, False),
        (1, Side.SHORT, True),
    ]
    exit_fill, reverse = fills[1], fills[2]
    assert exit_fill.reason is ExitReason.SIGNAL
    assert exit_fill.fee == pytest.approx(1.0989010989)
    assert exit_fill.pnl == pytest.approx(97.8021978022)
    assert reverse.price == 110.0
    assert reverse.quantity == pytest.approx(1097.8021978022 / (110 * 1.001))
    assert reverse.fee == pytest.approx(reverse.quantity * 110 * 0.001)
    assert reverse.fee > 0
    assert state.side is Side.SHORT
    assert state.entry_index == 1


def test_on_spot_the_same_candle_only_exits() -> None:
    candles = [
        flat(0, 100.0, long_entry=True),
        flat(1, 110.0, long_exit=True, short_entry=True),
    ]
    state, fills = run(candles, RiskParams(fee_rate=0.001))
    assert [f.is_entry for f in fills] == [True, False]
    assert state.side is Side.FLAT


def test_a_candle_in_which_a_risk_rule_closed_the_position_opens_no_new_one() -> None:
    params = RiskParams(futures=True, fee_rate=0.0004, stop_loss_perc=10.0)
    candles = [
        flat(0, 100.0, long_entry=True),
        candle(1, 95, 96, 85, 88, long_entry=True, short_entry=True, long_exit=True),
    ]
    state, fills = run(candles, params)
    assert [(f.index, f.is_entry, f.reason) for f in fills] == [
        (0, True, None),
        (1, False, ExitReason.STOP_LOSS),
    ]
    assert state.side is Side.FLAT
    # ...and the next candle may enter again
    state, new = step(state, flat(2, 90.0, long_entry=True), params)
    assert [f.is_entry for f in new] == [True]


# --- sizing and slippage ---------------------------------------------------------------------


def test_a_fixed_position_size_spends_that_quote_amount_fee_included() -> None:
    # 500 / (100 * 1.01) = 4.95050 coins; cash 1000 - 500 = 500
    params = RiskParams(fee_rate=0.01, position_size_fixed=500.0, position_size_perc=25.0)
    state, [entry] = run([flat(0, 100.0, long_entry=True)], params)
    assert entry.quantity == pytest.approx(500.0 / 101.0)
    assert state.cash == pytest.approx(500.0)


def test_percent_sizing_spends_that_share_of_the_equity() -> None:
    # 25 % of 1000 = 250 -> 250 / 101 = 2.47525 coins
    params = RiskParams(fee_rate=0.01, position_size_perc=25.0)
    state, [entry] = run([flat(0, 100.0, long_entry=True)], params)
    assert entry.quantity == pytest.approx(250.0 / 101.0)
    assert state.cash == pytest.approx(750.0)


def test_an_all_in_spot_entry_leaves_no_negative_cash() -> None:
    state, _ = run([flat(0, 100.0, long_entry=True)], RiskParams(fee_rate=0.001))
    assert state.cash >= 0.0


def test_a_fixed_size_above_the_cash_is_capped_at_the_cash() -> None:
    params = RiskParams(fee_rate=0.01, position_size_fixed=5000.0)
    state, [entry] = run([flat(0, 100.0, long_entry=True)], params)
    assert entry.quantity == pytest.approx(1000.0 / 101.0)
    assert state.cash == pytest.approx(0.0, abs=1e-9)


def test_a_futures_fixed_size_is_margin_plus_fee_and_notional_is_margin_times_leverage() -> None:
    # 500 / (100 * (1/5 + 0.0004)) = 24.95010 coins; margin 499.0020; fee 0.99800
    params = RiskParams(futures=True, leverage=5, fee_rate=0.0004, position_size_fixed=500.0)
    state, [entry] = run([flat(0, 100.0, long_entry=True)], params)
    assert entry.quantity == pytest.approx(24.9500998004)
    assert state.margin == pytest.approx(499.0019960080)
    assert entry.fee == pytest.approx(0.9980039920)
    assert entry.quantity * entry.price == pytest.approx(state.margin * 5)
    assert state.cash == pytest.approx(500.0)


def test_a_spot_exit_returns_quantity_times_price_times_one_minus_fee() -> None:
    candles = [flat(0, 100.0, long_entry=True), flat(1, 110.0, long_exit=True)]
    state, fills = run(candles, RiskParams(fee_rate=0.01))
    assert state.cash == pytest.approx(Q_SPOT * 110.0 * 0.99)  # 1078.2178
    assert fills[-1].pnl == pytest.approx(78.2178217822)


def test_slippage_moves_every_fill_against_the_trader() -> None:
    # 1 % slippage, no fee: a long buys 100 at 101 and sells 110 at 108.9
    params = RiskParams(fee_rate=0.0, slippage_rate=0.01)
    _, fills = run([flat(0, 100.0, long_entry=True), flat(1, 110.0, long_exit=True)], params)
    assert fills[0].price == pytest.approx(101.0)
    assert fills[1].price == pytest.approx(108.9)
    assert fills[1].pnl == pytest.approx(1000.0 / 101.0 * 108.9 - 1000.0)
    # a short sells 100 at 99 and buys 90 back at 90.9
    fut = RiskParams(futures=True, fee_rate=0.0, slippage_rate=0.01)
    _, fills = run([flat(0, 100.0, short_entry=True), flat(1, 90.0, short_exit=True)], fut)
    assert fills[0].price == pytest.approx(99.0)
    assert fills[1].price == pytest.approx(90.9)
    # and a stop is filled below its trigger for a long: stop 10 % of 101 = 90.9 -> 89.991
    stop = RiskParams(fee_rate=0.0, slippage_rate=0.01, stop_loss_perc=10.0)
    _, fills = run([flat(0, 100.0, long_entry=True), candle(1, 95, 96, 85, 88)], stop)
    assert fills[1].price == pytest.approx(90.9 * 0.99)


# --- daily limits ----------------------------------------------------------------------------


def test_max_daily_trades_caps_the_entries_of_a_utc_day() -> None:
    params = RiskParams(fee_rate=0.0, max_daily_trades=2)
    candles = [
        flat(0, 100.0, long_entry=True),
        flat(1, 100.0, long_exit=True),
        flat(2, 100.0, long_entry=True),
        flat(3, 100.0, long_exit=True),
        flat(4, 100.0, long_entry=True),  # third entry of day 0: refused
        flat(5, 100.0, long_entry=True, day=1, hour=0),  # a new day
    ]
    state, fills = run(candles, params)
    assert entries(fills) == [0, 2, 5]
    assert state.daily_entries == 1


def test_open_positions_are_not_force_closed_when_the_daily_cap_is_reached() -> None:
    params = RiskParams(fee_rate=0.0, max_daily_trades=1)
    candles = [flat(0, 100.0, long_entry=True), flat(1, 90.0), flat(2, 80.0, day=1, hour=0)]
    state, fills = run(candles, params)
    assert len(fills) == 1
    assert state.side is Side.LONG


def test_the_daily_loss_limit_blocks_entries_for_the_rest_of_the_utc_day_only() -> None:
    # 1000 at 100 = 10 coins; stop 10 % at 90 -> pnl -100 = -10 % of the day's 1000 <= -5 %.
    params = RiskParams(fee_rate=0.0, stop_loss_perc=10.0, max_daily_loss_perc=5.0)
    candles = [
        flat(0, 100.0, long_entry=True),
        candle(1, 95, 96, 85, 88),
        flat(2, 90.0, long_entry=True),
        flat(3, 90.0, long_entry=True, hour=23),
        flat(4, 90.0, long_entry=True, day=1, hour=0),
    ]
    state, fills = run(candles[:2], params)
    assert fills[-1].pnl == pytest.approx(-100.0)
    assert state.halted
    assert state.entries_blocked(params)
    state, fills = run(candles, params)
    assert entries(fills) == [0, 4]


def test_a_daily_loss_smaller_than_the_limit_does_not_block() -> None:
    # stop 3 %: pnl -30 = -3 % of 1000, above -5 %
    params = RiskParams(fee_rate=0.0, stop_loss_perc=3.0, max_daily_loss_perc=5.0)
    candles = [
        flat(0, 100.0, long_entry=True),
        candle(1, 98, 98, 96, 97),
        flat(2, 97.0, long_entry=True),
    ]
    _, fills = run(candles, params)
    assert entries(fills) == [0, 2]


def test_the_daily_loss_is_measured_against_the_equity_at_the_start_of_the_day() -> None:
    # Day 0: 10 coins 100 -> 200 = +1000, cash 2000. Day 1: 20 coins at 100, stop 7.5 %
    # at 92.5 loses 150 = -7.5 % of 2000 (but -15 % of the initial 1000): a 10 % limit is
    # not hit, so the next entry that day is taken.
    params = RiskParams(fee_rate=0.0, stop_loss_perc=7.5, max_daily_loss_perc=10.0)
    candles = [
        flat(0, 100.0, long_entry=True),
        flat(1, 200.0, long_exit=True),
        flat(2, 100.0, long_entry=True, day=1, hour=0),
        candle(3, 95, 95, 90, 91, day=1, hour=1),
        flat(4, 91.0, long_entry=True, day=1, hour=2),
    ]
    _, fills = run(candles, params)
    assert fills[3].pnl == pytest.approx(-150.0)
    assert entries(fills) == [0, 2, 4]


def test_the_daily_target_blocks_entries_for_the_rest_of_the_utc_day_only() -> None:
    # 10 coins at 100, take profit 10 % at 110: +100 = 10 % of 1000 >= 5 % target.
    params = RiskParams(fee_rate=0.0, take_profit_perc=10.0, daily_target_perc=5.0)
    candles = [
        flat(0, 100.0, long_entry=True),
        candle(1, 105, 115, 104, 112),
        flat(2, 112.0, long_entry=True),
        flat(3, 112.0, long_entry=True, day=1, hour=0),
    ]
    _, fills = run(candles, params)
    assert fills[1].reason is ExitReason.TAKE_PROFIT
    assert fills[1].pnl == pytest.approx(100.0)
    assert entries(fills) == [0, 3]


def test_a_futures_reversal_is_not_taken_when_its_exit_hits_the_daily_loss_limit() -> None:
    params = RiskParams(futures=True, fee_rate=0.0, max_daily_loss_perc=5.0)
    candles = [flat(0, 100.0, long_entry=True), flat(1, 90.0, long_exit=True, short_entry=True)]
    state, fills = run(candles, params)
    assert [f.is_entry for f in fills] == [True, False]
    assert state.halted


# --- simulate: end of data and the last candle -----------------------------------------------


def _series(closes: list[float]) -> CandleSeries:
    return CandleSeries([i * HOUR for i in range(len(closes))], closes, closes, closes, closes)


def test_a_position_still_open_at_the_end_is_closed_at_the_last_close_as_end_of_data() -> None:
    # ema_trend 3 (alpha .5): closes 10 10 10 10 12 13, ema 10 10 10 10 11 12; the close
    # crosses above at 4: 1200 buys 100 coins at 12, closed at 13 on the last candle: +100.
    result = simulate(
        _series([10.0, 10.0, 10.0, 10.0, 12.0, 13.0]),
        "ema_trend",
        StrategyParams(ema_period=3),
        RiskParams(fee_rate=0.0),
        1200.0,
    )
    [trade] = result.trades
    assert (trade.entry_index, trade.exit_index) == (4, 5)
    assert trade.exit_reason is ExitReason.END_OF_DATA
    assert trade.exit_price == 13.0
    assert trade.pnl == pytest.approx(100.0)
    assert result.final_capital == pytest.approx(1300.0)
    assert result.equity[-1] == pytest.approx(1300.0)


def test_there_is_no_entry_on_the_last_candle() -> None:
    result = simulate(
        _series([10.0, 10.0, 10.0, 10.0, 12.0]),
        "ema_trend",
        StrategyParams(ema_period=3),
        RiskParams(fee_rate=0.0),
        1200.0,
    )
    assert result.trades == []
    assert result.final_capital == 1200.0


# --- invariants over random candle paths -----------------------------------------------------


@dataclass(frozen=True)
class Path:
    open_time_ms: list[int]
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]

    def series(self) -> CandleSeries:
        return CandleSeries(self.open_time_ms, self.open, self.high, self.low, self.close)


@st.composite
def candle_paths(draw: st.DrawFn, max_size: int = 50) -> Path:
    """Consistent OHLC (high >= max(open, close), low <= min(open, close), all > 0) with
    ordinary moves, gaps, flat runs and spikes, on a few timeframes and with holes in time."""
    n = draw(st.integers(min_value=2, max_value=max_size))
    price = draw(st.floats(min_value=1.0, max_value=1000.0))
    step_ms = draw(st.sampled_from([HOUR, 4 * HOUR, 6 * HOUR, 8 * HOUR, MS_PER_DAY]))
    t = draw(st.integers(min_value=0, max_value=20_000)) * MS_PER_DAY
    t += draw(st.integers(min_value=0, max_value=23)) * HOUR
    out = Path([], [], [], [], [])
    move = st.floats(min_value=-0.05, max_value=0.05)
    wick = st.floats(min_value=0.0, max_value=0.03)
    for _ in range(n):
        kind = draw(st.sampled_from(["move", "move", "gap", "flat", "spike"]))
        if kind == "flat":
            o = h = low = c = price
        else:
            o = (
                price * (1 + draw(st.floats(min_value=-0.3, max_value=0.3)))
                if kind == "gap"
                else price
            )
            c = o * (1 + draw(move))
            up = draw(st.floats(min_value=0.0, max_value=0.5)) if kind == "spike" else draw(wick)
            down = draw(st.floats(min_value=0.0, max_value=0.6)) if kind == "spike" else draw(wick)
            h = max(o, c) * (1 + up)
            low = min(o, c) * (1 - down)
        out.open_time_ms.append(t)
        out.open.append(o)
        out.high.append(h)
        out.low.append(low)
        out.close.append(c)
        price = c
        t += step_ms * draw(st.sampled_from([1, 1, 1, 2, 5]))
    return out


def _off_or(low: float, high: float) -> st.SearchStrategy[float]:
    return st.one_of(st.just(0.0), st.floats(min_value=low, max_value=high))


@st.composite
def risk_params(draw: st.DrawFn, futures: bool | None = None) -> RiskParams:
    fut = draw(st.booleans()) if futures is None else futures
    return RiskParams(
        futures=fut,
        leverage=draw(st.sampled_from([1, 2, 3, 5, 10, 20, 50, 125])) if fut else 1,
        fee_rate=draw(st.one_of(st.sampled_from([0.0, 0.0004, 0.001]), st.floats(0.0, 0.02))),
        slippage_rate=draw(_off_or(0.0, 0.01)),
        stop_loss_perc=draw(_off_or(0.1, 50.0)),
        take_profit_perc=draw(_off_or(0.1, 100.0)),
        trailing_stop_perc=draw(_off_or(0.1, 50.0)),
        trailing_stop_active=draw(st.booleans()),
        position_size_perc=draw(st.floats(min_value=1.0, max_value=100.0)),
        position_size_fixed=draw(_off_or(1.0, 3000.0)),
        max_daily_trades=draw(st.integers(min_value=1, max_value=4)),
        daily_target_perc=draw(_off_or(0.1, 20.0)),
        max_daily_loss_perc=draw(_off_or(0.1, 20.0)),
    )


@st.composite
def strategy_params(draw: st.DrawFn) -> StrategyParams:
    fast = draw(st.integers(2, 6))
    return StrategyParams(
        ema_fast=fast,
        ema_slow=draw(st.integers(fast + 1, 10)),
        rsi_period=draw(st.integers(2, 8)),
        rsi_oversold=float(draw(st.integers(20, 45))),
        rsi_overbought=float(draw(st.integers(55, 80))),
        ema_period=draw(st.integers(2, 10)),
    )


@dataclass(frozen=True)
class Scenario:
    path: Path
    params: RiskParams
    inputs: list[CandleInput]
    strategy: tuple[str, StrategyParams] | None
    capital: float


@st.composite
def scenarios(draw: st.DrawFn, futures: bool | None = None) -> Scenario:
    """A candle path, risk params and signals: either a real strategy's, or random flags
    (which reach every branch of the engine, reversals included)."""
    path = draw(candle_paths())
    params = draw(risk_params(futures))
    n = len(path.close)
    strategy: tuple[str, StrategyParams] | None = None
    if draw(st.booleans()):
        name = draw(st.sampled_from([s.value for s in StrategyName]))
        sp = draw(strategy_params())
        signals = compute_signals(name, path.close, sp)
        flags = [signals.long_entry, signals.long_exit, signals.short_entry, signals.short_exit]
        warmup = signals.warmup
        strategy = (name, sp)
    else:
        flag = st.lists(st.booleans(), min_size=n, max_size=n)
        flags = [draw(flag) for _ in range(4)]
        warmup = draw(st.integers(min_value=0, max_value=3))
    inputs = [
        CandleInput(
            index=i,
            open_time_ms=path.open_time_ms[i],
            open=path.open[i],
            high=path.high[i],
            low=path.low[i],
            close=path.close[i],
            long_entry=flags[0][i],
            long_exit=flags[1][i],
            short_entry=flags[2][i],
            short_exit=flags[3][i],
            entries_allowed=warmup <= i < n - 1,
        )
        for i in range(n)
    ]
    capital = draw(st.sampled_from([100.0, 1000.0, 10_000.0]))
    return Scenario(path, params, inputs, strategy, capital)


@dataclass(frozen=True)
class Stepped:
    candle: CandleInput
    before: TradingState
    after: TradingState  # after `step`, before any end-of-data close
    fills: list[Fill]  # including the end-of-data close on the last candle


def drive(s: Scenario) -> tuple[list[Stepped], TradingState]:
    """The loop of `simulate`, keeping every intermediate state."""
    state = TradingState(cash=s.capital)
    log: list[Stepped] = []
    last = len(s.inputs) - 1
    for c in s.inputs:
        before = state
        state, new = step(state, c, s.params)
        after = state
        if c.index == last and state.in_position:
            state, final = close_position(state, c, c.close, ExitReason.END_OF_DATA, s.params)
            new = [*new, final]
        log.append(Stepped(c, before, after, new))
    return log, state


def _fills(log: list[Stepped]) -> list[Fill]:
    return [f for entry in log for f in entry.fills]


def _trades(fills: list[Fill]) -> list[tuple[Fill, Fill]]:
    pairs: list[tuple[Fill, Fill]] = []
    opened: Fill | None = None
    for f in fills:
        if f.is_entry:
            assert opened is None, "an entry while a position is open"
            opened = f
        else:
            assert opened is not None, "an exit without a position"
            pairs.append((opened, f))
            opened = None
    assert opened is None, "a position left open after the end of data"
    return pairs


def _equity_at(state: TradingState, price: float) -> float:
    """Marked-to-market equity computed independently of TradingState.equity."""
    if state.side is Side.FLAT:
        return state.cash
    if state.margin > 0.0:
        return state.cash + state.margin + (price - state.entry_price) * state.quantity * state.side
    return state.cash + state.quantity * price


PROPERTY_SETTINGS = settings(max_examples=150)


@PROPERTY_SETTINGS
@given(s=scenarios(futures=False))
def test_spot_cash_and_equity_never_go_below_zero(s: Scenario) -> None:
    log, final = drive(s)
    tolerance = 1e-9 * s.capital
    for entry in log:
        assert entry.after.cash >= -tolerance
        assert _equity_at(entry.after, entry.candle.close) >= -tolerance
        assert all(f.side is Side.LONG for f in entry.fills)
    assert final.cash >= -tolerance


@PROPERTY_SETTINGS
@given(s=scenarios())
def test_the_trailing_stop_never_loosens_while_a_position_is_open(s: Scenario) -> None:
    log, _ = drive(s)
    trailing_on = s.params.trailing_stop_active and s.params.trailing_stop_perc > 0
    for entry in log:
        before, after = entry.before, entry.after
        if after.in_position and trailing_on:
            assert not math.isnan(after.trailing_stop_price)
        same_position = (
            before.in_position
            and after.in_position
            and before.entry_index == after.entry_index
            and before.side is after.side
        )
        if not same_position or not trailing_on:
            continue
        if after.side is Side.LONG:
            assert after.trailing_stop_price >= before.trailing_stop_price
        else:
            assert after.trailing_stop_price <= before.trailing_stop_price


@PROPERTY_SETTINGS
@given(s=scenarios())
def test_there_are_at_most_max_daily_trades_entries_per_utc_day(s: Scenario) -> None:
    log, _ = drive(s)
    per_day: dict[int, int] = {}
    for entry in log:
        day = entry.candle.open_time_ms // MS_PER_DAY
        per_day[day] = per_day.get(day, 0) + sum(f.is_entry for f in entry.fills)
    assert all(count <= s.params.max_daily_trades for count in per_day.values())


@PROPERTY_SETTINGS
@given(s=scenarios())
def test_after_a_daily_limit_is_hit_no_entry_follows_that_same_day(s: Scenario) -> None:
    log, _ = drive(s)
    p = s.params
    day = None
    start_equity = realised = 0.0
    halted = False
    for entry in log:
        candle_day = entry.candle.open_time_ms // MS_PER_DAY
        if candle_day != day:
            day, realised, halted = candle_day, 0.0, False
            start_equity = _equity_at(entry.before, entry.candle.open)
        for f in entry.fills:
            if f.is_entry:
                assert not halted, f"entry at {f.index} after a daily limit on day {day}"
                continue
            realised += f.pnl
            if (
                p.max_daily_loss_perc > 0
                and realised <= -start_equity * p.max_daily_loss_perc / 100
            ):
                halted = True
            if p.daily_target_perc > 0 and realised >= start_equity * p.daily_target_perc / 100:
                halted = True


@PROPERTY_SETTINGS
@given(s=scenarios(futures=True))
def test_a_liquidated_futures_position_loses_its_margin_plus_fees_and_no_more(
    s: Scenario,
) -> None:
    log, _ = drive(s)
    for entry_fill, exit_fill in _trades(_fills(log)):
        if exit_fill.reason is not ExitReason.LIQUIDATION:
            continue
        margin = entry_fill.quantity * entry_fill.price / s.params.leverage
        limit = margin + entry_fill.fee + exit_fill.fee
        assert exit_fill.pnl >= -limit * (1 + 1e-9)
        assert exit_fill.pnl == pytest.approx(-(margin + entry_fill.fee), rel=1e-9)


@PROPERTY_SETTINGS
@given(s=scenarios())
def test_every_fill_has_a_non_negative_fee_and_a_price_inside_its_candle(s: Scenario) -> None:
    log, _ = drive(s)
    slip = s.params.slippage_rate
    for entry in log:
        c = entry.candle
        for f in entry.fills:
            assert f.fee >= 0.0
            assert f.quantity > 0.0
            if f.is_entry:
                assert f.price == pytest.approx(c.close * (1 + slip * f.side), rel=1e-12)
            elif f.reason is not ExitReason.LIQUIDATION:
                trigger = f.price / (1 - slip * f.side)
                assert c.low * (1 - 1e-9) <= trigger <= c.high * (1 + 1e-9)


@PROPERTY_SETTINGS
@given(s=scenarios())
def test_a_candle_whose_position_a_risk_rule_closed_opens_no_new_one(s: Scenario) -> None:
    log, _ = drive(s)
    risk_reasons = {
        ExitReason.LIQUIDATION,
        ExitReason.STOP_LOSS,
        ExitReason.TRAILING_STOP,
        ExitReason.TAKE_PROFIT,
    }
    for entry in log:
        if any(f.reason in risk_reasons for f in entry.fills):
            assert not any(f.is_entry for f in entry.fills)


@PROPERTY_SETTINGS
@given(s=scenarios())
def test_final_capital_is_the_initial_capital_plus_the_sum_of_trade_pnls(s: Scenario) -> None:
    log, final = drive(s)
    pnl = sum(exit_fill.pnl for _, exit_fill in _trades(_fills(log)))
    assert final.cash == pytest.approx(s.capital + pnl, rel=1e-6, abs=1e-6 * s.capital)
    if s.strategy is not None:
        name, sp = s.strategy
        result = simulate(s.path.series(), name, sp, s.params, s.capital)
        assert result.final_capital == final.cash
        assert result.final_capital == pytest.approx(
            s.capital + sum(t.pnl for t in result.trades), rel=1e-6, abs=1e-6 * s.capital
        )


@PROPERTY_SETTINGS
@given(s=scenarios())
def test_trades_never_overlap_and_each_exits_at_least_one_candle_after_its_entry(
    s: Scenario,
) -> None:
    log, _ = drive(s)
    trades = _trades(_fills(log))
    for entry_fill, exit_fill in trades:
        assert exit_fill.index >= entry_fill.index + 1
        assert exit_fill.side is entry_fill.side
    for (_, previous_exit), (next_entry, _) in itertools.pairwise(trades):
        assert next_entry.index >= previous_exit.index
    if s.strategy is not None:
        name, sp = s.strategy
        result = simulate(s.path.series(), name, sp, s.params, s.capital)
        assert [(t.entry_index, t.exit_index) for t in result.trades] == [
            (a.index, b.index) for a, b in trades
        ]
        for t in result.trades:
            assert t.exit_index >= t.entry_index + 1


@given(
    price=st.floats(min_value=0.01, max_value=1e5),
    fee=st.floats(min_value=1e-5, max_value=0.05),
    slippage=_off_or(0.0, 0.01),
    futures=st.booleans(),
    leverage=st.sampled_from([1, 2, 10, 125]),
    short=st.booleans(),
)
def test_a_round_trip_at_an_unchanged_price_with_fees_loses_money(
    price: float, fee: float, slippage: float, futures: bool, leverage: int, short: bool
) -> None:
    params = RiskParams(
        futures=futures,
        leverage=leverage if futures else 1,
        fee_rate=fee,
        slippage_rate=slippage,
    )
    go_short = futures and short
    candles = [
        flat(0, price, short_entry=go_short, long_entry=not go_short),
        flat(1, price, short_exit=True, long_exit=True),
    ]
    state, fills = run(candles, params)
    assert [f.is_entry for f in fills] == [True, False]
    assert fills[0].fee > 0
    # At 125x a slipped entry can sit beyond the liquidation distance: then the unchanged
    # price liquidates it (no exit fee, the margin is lost); otherwise the signal exit pays.
    if fills[1].reason is ExitReason.SIGNAL:
        assert fills[1].fee > 0
    else:
        assert fills[1].reason is ExitReason.LIQUIDATION
    assert fills[1].pnl < 0
    assert state.cash < 1000.0


def test_the_position_view_shows_an_open_position_and_its_unrealised_pnl() -> None:
    from domain.trading.risk_engine import CandleInput, TradingState, open_position

    state, fill = open_position(
        TradingState(cash=1000.0),
        CandleInput(index=0, open_time_ms=0, open=100.0, high=100.0, low=100.0, close=100.0),
        Side.LONG,
        RiskParams(fee_rate=0.0, stop_loss_perc=10.0),
    )
    assert fill is not None
    position = state.position
    assert position is not None
    assert position.quantity == 10.0
    assert position.stop_loss_price == 90.0
    assert position.unrealized_pnl(110.0) == 100.0
    assert TradingState(cash=1.0).position is None
