"""The strategy registry: hand-computed signals for each of the five strategies.

Periods 3 and 7 give EMA alphas of 0.5 and 0.25, so every EMA below is exact in binary
and the comments can be checked with pencil and paper.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.trading.indicators import ema, rsi
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries, simulate
from domain.trading.strategies import (
    REGISTRY,
    Signals,
    StrategyName,
    StrategyParams,
    UnknownStrategy,
    compute_signals,
    strategy_spec,
)


def fired(flags: list[bool]) -> list[int]:
    return [i for i, flag in enumerate(flags) if flag]


def flat_candles(closes: list[float]) -> CandleSeries:
    """One-hour candles with open = high = low = close (no risk rule can trigger)."""
    return CandleSeries(
        open_time_ms=[i * 3_600_000 for i in range(len(closes))],
        open=closes,
        high=closes,
        low=closes,
        close=closes,
    )


# The crossover series, indices 0..12.
#   closes       10 x8                 14     14      6         6         14
#   fast (a=.5)  10 x8                 12     13      9.5       7.75      10.875
#   slow (a=.25) 10 x8                 11     11.75   10.3125   9.234375  10.42578125
#   i=8:  fast 10 <= slow 10, fast 12 > 11        -> cross_up(fast, slow)
#   i=10: slow 11.75 <= fast 13, slow 10.31 > 9.5 -> cross_up(slow, fast)
#   i=12: fast 7.75 <= slow 9.23, fast 10.875 > 10.43 -> cross_up(fast, slow)
CROSS_CLOSES = [10.0] * 8 + [14.0, 14.0, 6.0, 6.0, 14.0]
CROSS_PARAMS = StrategyParams(ema_fast=3, ema_slow=7, rsi_period=2)


def test_the_crossover_series_has_the_hand_computed_emas() -> None:
    assert ema(CROSS_CLOSES, 3)[8:] == [12.0, 13.0, 9.5, 7.75, 10.875]
    assert ema(CROSS_CLOSES, 7)[8:] == [11.0, 11.75, 10.3125, 9.234375, 10.42578125]


def test_ema_crossover_fires_at_the_hand_computed_crosses() -> None:
    s = compute_signals("ema_crossover", CROSS_CLOSES, CROSS_PARAMS)
    assert fired(s.long_entry) == [8, 12]
    assert fired(s.long_exit) == [10]
    assert fired(s.short_entry) == [10]
    assert fired(s.short_exit) == [8, 12]
    assert s.warmup == 7


# RSI(2) of the crossover series: changes d8=+4, d10=-8, d12=+8, all others 0.
#   i=2..7: gain 0, loss 0                          -> 50
#   i=8:    gain (0*1+4)/2 = 2,     loss 0          -> 100
#   i=9:    gain (2+0)/2 = 1,       loss 0          -> 100
#   i=10:   gain 0.5, loss (0+8)/2 = 4, RS 0.125    -> 100 - 100/1.125 = 11.11
#   i=11:   gain 0.25, loss 2, RS 0.125             -> 11.11
#   i=12:   gain (0.25+8)/2 = 4.125, loss 1, RS 4.125 -> 100 - 100/5.125 = 80.49
CROSS_RSI = [math.nan, math.nan] + [50.0] * 6 + [100.0, 100.0, 100 / 9, 100 / 9, 80.48780487804878]


def test_the_crossover_series_has_the_hand_computed_rsi() -> None:
    out = rsi(CROSS_CLOSES, 2)
    assert all(math.isnan(x) for x in out[:2])
    assert out[2:] == pytest.approx(CROSS_RSI[2:], rel=1e-12)


def test_ema_rsi_with_the_usual_levels_filters_out_every_entry_of_that_series() -> None:
    # Long crosses at 8 (RSI 100) and 12 (RSI 80.5) are not below 70; the short cross at 10
    # (RSI 11.1) is not above 30. Exits are not filtered.
    params = StrategyParams(
        ema_fast=3, ema_slow=7, rsi_period=2, rsi_oversold=30, rsi_overbought=70
    )
    s = compute_signals("ema_rsi", CROSS_CLOSES, params)
    assert fired(s.long_entry) == []
    assert fired(s.short_entry) == []
    assert fired(s.long_exit) == [10]
    assert fired(s.short_exit) == [8, 12]
    assert s.warmup == 7


def test_ema_rsi_enters_only_where_rsi_confirms_the_cross() -> None:
    # overbought 90: the long cross at 8 (RSI 100) is refused, the one at 12 (80.5) taken.
    # oversold 10: the short cross at 10 (RSI 11.1 > 10) is taken.
    params = StrategyParams(
        ema_fast=3, ema_slow=7, rsi_period=2, rsi_oversold=10, rsi_overbought=90
    )
    s = compute_signals("ema_rsi", CROSS_CLOSES, params)
    assert fired(s.long_entry) == [12]
    assert fired(s.short_entry) == [10]
    assert fired(s.long_exit) == [10]
    assert fired(s.short_exit) == [8, 12]


def test_ema_rsi_has_no_entry_before_the_rsi_exists() -> None:
    # A cross at index 1 (fast 3 vs slow 7 on 10 -> 14): RSI(4) is NaN there, so no entry.
    closes = [10.0, 14.0, 14.0, 14.0, 14.0, 14.0]
    params = StrategyParams(ema_fast=3, ema_slow=7, rsi_period=4, rsi_overbought=101)
    assert compute_signals("ema_crossover", closes, params).long_entry[1] is True
    assert compute_signals("ema_rsi", closes, params).long_entry[1] is False


# RSI reversion series, RSI(2):  closes 10 9 8 9 10 11 10; changes -1 -1 +1 +1 +1 -1
#   i=2: gain 0, loss 1                              -> 0
#   i=3: gain (0+1)/2 = .5,  loss (1+0)/2 = .5       -> 50
#   i=4: gain .75, loss .25, RS 3                    -> 75
#   i=5: gain .875, loss .125, RS 7                  -> 87.5
#   i=6: gain .4375, loss .5625, RS 7/9              -> 43.75
# oversold 30, overbought 70:
#   long entry  cross_up(rsi, 30): i=3 (0 -> 50)
#   long exit   rsi >= 70:         i=4, 5
#   short entry rsi leaves 70 downward (cross_up(70, rsi)): i=6 (87.5 -> 43.75)
#   short exit  rsi <= 30:         i=2
REVERSION_CLOSES = [10.0, 9.0, 8.0, 9.0, 10.0, 11.0, 10.0]
REVERSION_PARAMS = StrategyParams(rsi_period=2, rsi_oversold=30, rsi_overbought=70)


def test_rsi_reversion_fires_at_the_hand_computed_levels() -> None:
    out = rsi(REVERSION_CLOSES, 2)
    assert out[2:] == pytest.approx([0.0, 50.0, 75.0, 87.5, 43.75], rel=1e-12)
    s = compute_signals("rsi_reversion", REVERSION_CLOSES, REVERSION_PARAMS)
    assert fired(s.long_entry) == [3]
    assert fired(s.long_exit) == [4, 5]
    assert fired(s.short_entry) == [6]
    assert fired(s.short_exit) == [2]
    assert s.warmup == 2


def test_rsi_reversion_on_spot_buys_at_3_and_sells_at_4() -> None:
    result = simulate(
        flat_candles(REVERSION_CLOSES),
        "rsi_reversion",
        REVERSION_PARAMS,
        RiskParams(fee_rate=0.0),
        1000.0,
    )
    assert [(t.entry_index, t.exit_index, t.exit_reason.value) for t in result.trades] == [
        (3, 4, "signal")
    ]
    # 1000 buys 1000/9 coins at 9, sold at 10: 1111.11
    assert result.final_capital == pytest.approx(10000.0 / 9.0, rel=1e-12)


# EMA trend series, period 3 (alpha .5):
#   closes 10 10 10 12 13 9    8    11
#   ema    10 10 10 11 12 10.5 9.25 10.125
#   i=3: close 10 <= ema 10 and 12 > 11         -> long entry (cross_up(close, ema))
#   i=5: ema 12 <= close 13 and ema 10.5 > 9    -> long exit / short entry
#   i=7: close 8 <= ema 9.25 and 11 > 10.125    -> long entry
TREND_CLOSES = [10.0, 10.0, 10.0, 12.0, 13.0, 9.0, 8.0, 11.0]
TREND_PARAMS = StrategyParams(ema_period=3)


def test_ema_trend_fires_where_the_close_crosses_its_ema() -> None:
    assert ema(TREND_CLOSES, 3) == [10.0, 10.0, 10.0, 11.0, 12.0, 10.5, 9.25, 10.125]
    s = compute_signals("ema_trend", TREND_CLOSES, TREND_PARAMS)
    assert fired(s.long_entry) == [3, 7]
    assert fired(s.long_exit) == [5]
    assert fired(s.short_entry) == [5]
    assert fired(s.short_exit) == [3, 7]
    assert s.warmup == 3


def test_ema_trend_on_spot_trades_3_to_5_and_skips_the_entry_on_the_last_candle() -> None:
    result = simulate(
        flat_candles(TREND_CLOSES), "ema_trend", TREND_PARAMS, RiskParams(fee_rate=0.0), 1200.0
    )
    # bought 100 coins at 12, sold at 9; the cross at 7 is on the last candle: no entry.
    assert [(t.entry_index, t.exit_index, t.exit_reason.value) for t in result.trades] == [
        (3, 5, "signal")
    ]
    assert result.trades[0].quantity == pytest.approx(100.0)
    assert result.final_capital == pytest.approx(900.0)


def test_ema_trend_on_futures_reverses_at_the_exit_that_is_a_short_entry() -> None:
    result = simulate(
        flat_candles(TREND_CLOSES),
        "ema_trend",
        TREND_PARAMS,
        RiskParams(futures=True, fee_rate=0.0),
        1200.0,
    )
    # long 3 -> 5 (signal), short 5 -> 7 closed by the long cross at 7 (a signal exit; no
    # reversal on the last candle).
    assert [(t.side.name, t.entry_index, t.exit_index) for t in result.trades] == [
        ("LONG", 3, 5),
        ("SHORT", 5, 7),
    ]


def _custom_params() -> StrategyParams:
    return StrategyParams(ema_fast=3, ema_slow=7, rsi_period=2, rsi_oversold=10, rsi_overbought=90)


def test_custom_gives_the_hand_computed_ema_rsi_signals_with_its_own_params() -> None:
    s = compute_signals("custom", CROSS_CLOSES, _custom_params())
    assert fired(s.long_entry) == [12]
    assert fired(s.short_entry) == [10]
    assert fired(s.long_exit) == [10]
    assert fired(s.short_exit) == [8, 12]
    assert s.warmup == 7


closes_lists = st.lists(
    st.floats(min_value=1.0, max_value=1000.0, allow_nan=False), min_size=0, max_size=60
)


@st.composite
def strategy_params(draw: st.DrawFn) -> StrategyParams:
    fast = draw(st.integers(2, 8))
    slow = draw(st.integers(fast + 1, 15))
    oversold = draw(st.integers(5, 45))
    overbought = draw(st.integers(55, 95))
    return StrategyParams(
        ema_fast=fast,
        ema_slow=slow,
        rsi_period=draw(st.integers(2, 10)),
        rsi_oversold=float(oversold),
        rsi_overbought=float(overbought),
        ema_period=draw(st.integers(2, 15)),
    )


@given(closes=closes_lists, params=strategy_params())
def test_custom_with_custom_params_equals_ema_rsi_with_the_same_params(
    closes: list[float], params: StrategyParams
) -> None:
    assert compute_signals("custom", closes, params) == compute_signals("ema_rsi", closes, params)
    assert REGISTRY[StrategyName.CUSTOM].warmup(params) == REGISTRY[StrategyName.EMA_RSI].warmup(
        params
    )


@given(closes=closes_lists, params=strategy_params(), name=st.sampled_from(list(StrategyName)))
def test_every_strategy_gives_one_flag_per_candle_and_the_registry_warmup(
    closes: list[float], params: StrategyParams, name: StrategyName
) -> None:
    s = compute_signals(name.value, closes, params)
    for flags in (s.long_entry, s.long_exit, s.short_entry, s.short_exit):
        assert len(flags) == len(closes)
    assert s.warmup == REGISTRY[name].warmup(params)
    expected = {
        StrategyName.EMA_CROSSOVER: max(params.ema_fast, params.ema_slow),
        StrategyName.EMA_RSI: max(params.ema_fast, params.ema_slow, params.rsi_period),
        StrategyName.RSI_REVERSION: params.rsi_period,
        StrategyName.EMA_TREND: params.ema_period,
        StrategyName.CUSTOM: max(params.ema_fast, params.ema_slow, params.rsi_period),
    }[name]
    assert s.warmup == expected


@given(closes=closes_lists, params=strategy_params(), name=st.sampled_from(list(StrategyName)))
def test_rsi_based_strategies_signal_no_entry_before_the_rsi_exists(
    closes: list[float], params: StrategyParams, name: StrategyName
) -> None:
    if name in (StrategyName.EMA_CROSSOVER, StrategyName.EMA_TREND):
        return
    s: Signals = compute_signals(name.value, closes, params)
    assert not any(s.long_entry[: params.rsi_period])
    assert not any(s.short_entry[: params.rsi_period])


@settings(max_examples=150)
@given(
    closes=st.lists(st.floats(min_value=1.0, max_value=1000.0), min_size=2, max_size=60),
    params=strategy_params(),
    name=st.sampled_from(list(StrategyName)),
    futures=st.booleans(),
)
def test_the_simulation_never_enters_before_the_warmup_nor_on_the_last_candle(
    closes: list[float], params: StrategyParams, name: StrategyName, futures: bool
) -> None:
    warmup = REGISTRY[name].warmup(params)
    risk = RiskParams(futures=futures, fee_rate=0.0)
    result = simulate(flat_candles(closes), name.value, params, risk, 1000.0)
    for trade in result.trades:
        assert warmup <= trade.entry_index < len(closes) - 1


def test_a_cross_before_the_warmup_does_not_enter_in_the_simulation() -> None:
    # fast 3 / slow 7: closes 10 10 10 10 14 ... cross up at 4 (fast 12 > slow 11), but the
    # warm-up index is 7, so the backtest stays flat.
    closes = [10.0, 10.0, 10.0, 10.0, 14.0, 14.0, 14.0, 14.0, 14.0]
    params = StrategyParams(ema_fast=3, ema_slow=7)
    assert fired(compute_signals("ema_crossover", closes, params).long_entry) == [4]
    result = simulate(flat_candles(closes), "ema_crossover", params, RiskParams(), 1000.0)
    assert result.trades == []
    assert result.final_capital == 1000.0


def test_an_unknown_strategy_is_invalid_input_naming_the_field() -> None:
    with pytest.raises(UnknownStrategy) as raised:
        strategy_spec("martingale")
    assert "strategy" in raised.value.details


def test_the_registry_holds_exactly_the_five_strategies() -> None:
    assert {name.value for name in REGISTRY} == {
        "ema_crossover",
        "ema_rsi",
        "rsi_reversion",
        "ema_trend",
        "custom",
    }


# A flat run after a step: mathematically the EMA only approaches the flat price from one
# side, so no crossover can happen inside the run. With alpha*x + (1-alpha)*prev the EMA
# ends up one ulp on the other side of the close and a cross fires on an unchanged price.
def test_a_flat_run_after_a_step_gives_no_crossover_inside_the_run() -> None:
    closes = [91.17] + [101.3] * 40
    s = compute_signals("ema_trend", closes, StrategyParams(ema_period=2))
    assert fired(s.long_exit) == []
    assert fired(s.short_entry) == []


def test_a_futures_backtest_over_a_flat_market_after_a_step_does_not_trade() -> None:
    closes = [91.17] + [101.3] * 40
    result = simulate(
        flat_candles(closes),
        "ema_trend",
        StrategyParams(ema_period=2),
        RiskParams(futures=True, fee_rate=0.0004),
        1000.0,
    )
    assert result.trades == []


def test_a_flat_run_gives_no_ema_crossover_inside_the_run() -> None:
    closes = [0.11] + [0.1] * 200
    s = compute_signals("ema_crossover", closes, StrategyParams(ema_fast=4, ema_slow=6))
    assert fired(s.long_entry) == []
