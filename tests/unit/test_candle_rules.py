"""The rules a candle must follow to be a bar of its interval, as properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.market_data.candle import Candle
from domain.market_data.candle_rules import candle_problems
from domain.market_data.timeframe import SUPPORTED_TIMEFRAMES, Timeframe

timeframes = st.sampled_from(SUPPORTED_TIMEFRAMES).map(Timeframe)
prices = st.floats(min_value=1e-8, max_value=1e9)
bars = st.integers(min_value=0, max_value=2_000_000)  # intervals since the epoch


@st.composite
def consistent_candles(draw: st.DrawFn) -> tuple[Candle, Timeframe]:
    timeframe = draw(timeframes)
    o, c = draw(prices), draw(prices)
    high = max(o, c) + draw(st.floats(min_value=0, max_value=1e6))
    low = min(o, c) * draw(st.floats(min_value=1e-3, max_value=1))
    volume = draw(st.floats(min_value=0, max_value=1e15))
    return Candle(draw(bars) * timeframe.milliseconds, o, high, low, c, volume), timeframe


@given(consistent_candles())
def test_an_aligned_candle_whose_wicks_hold_its_body_has_no_problems(
    drawn: tuple[Candle, Timeframe],
) -> None:
    candle, timeframe = drawn

    assert candle_problems(candle, timeframe) == []


@given(consistent_candles(), st.integers(min_value=1, max_value=59_999))
def test_an_open_time_off_the_interval_is_always_a_problem(
    drawn: tuple[Candle, Timeframe], offset: int
) -> None:
    candle, timeframe = drawn
    shifted = Candle(
        candle.open_time_ms + offset,
        candle.open,
        candle.high,
        candle.low,
        candle.close,
        candle.volume,
    )

    assert any("not aligned" in problem for problem in candle_problems(shifted, timeframe))


@given(consistent_candles(), st.floats(min_value=1e-9, max_value=1e6))
def test_a_high_below_the_body_or_a_low_above_it_is_always_a_problem(
    drawn: tuple[Candle, Timeframe], excess: float
) -> None:
    candle, timeframe = drawn
    top, bottom = max(candle.open, candle.close), min(candle.open, candle.close)
    high_too_low = Candle(
        candle.open_time_ms, candle.open, top - excess, candle.low, candle.close, 1.0
    )
    low_too_high = Candle(
        candle.open_time_ms, candle.open, candle.high, bottom + excess, candle.close, 1.0
    )

    if top - excess < top:
        assert any("high" in problem for problem in candle_problems(high_too_low, timeframe))
    if bottom + excess > bottom:
        assert any("low" in problem for problem in candle_problems(low_too_high, timeframe))
