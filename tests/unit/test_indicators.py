"""Indicators: EMA with alpha 2/(n+1) seeded with the first close; Wilder's RSI
seeded with the plain mean of the first n changes, defined from index n on; cross_up."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.trading.indicators import cross_up, ema, rsi

prices = st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False)
periods = st.integers(min_value=1, max_value=50)
rsi_periods = st.integers(min_value=1, max_value=30)


def _close_to(actual: float, expected: float) -> bool:
    return math.isclose(actual, expected, rel_tol=1e-12, abs_tol=1e-12)


# --- EMA -------------------------------------------------------------------------------------


@given(value=prices, period=periods, length=st.integers(min_value=1, max_value=80))
def test_the_ema_of_a_constant_series_is_that_constant_up_to_rounding(
    value: float, period: int, length: int
) -> None:
    assert all(_close_to(x, value) for x in ema([value] * length, period))


@pytest.mark.parametrize(("value", "period"), [(3.7, 5), (0.1, 9), (101.3, 2)])
def test_the_ema_of_a_constant_series_is_exactly_that_constant(value: float, period: int) -> None:
    assert ema([value] * 6, period) == [value] * 6


@given(closes=st.lists(prices, min_size=1, max_size=80), period=periods)
def test_the_ema_stays_within_the_range_of_the_inputs_seen_so_far(
    closes: list[float], period: int
) -> None:
    out = ema(closes, period)
    assert len(out) == len(closes)
    for i, value in enumerate(out):
        seen = closes[: i + 1]
        slack = 1e-12 * max(seen)
        assert min(seen) - slack <= value <= max(seen) + slack


@given(closes=st.lists(prices, min_size=1, max_size=80))
def test_an_ema_of_period_one_is_the_input_itself(closes: list[float]) -> None:
    # alpha = 2 / (1 + 1) = 1, so every value is the current input, up to the rounding
    # of prev + (x - prev) (exact for flat series, a few ulps of the larger value otherwise).
    out = ema(closes, 1)
    assert out[0] == closes[0]
    for i in range(1, len(closes)):
        scale = max(abs(closes[i]), abs(out[i - 1]))
        assert out[i] == pytest.approx(closes[i], rel=0, abs=4e-16 * scale)


@given(closes=st.lists(prices, min_size=1, max_size=40), period=periods)
def test_the_ema_is_seeded_with_the_first_close(closes: list[float], period: int) -> None:
    assert ema(closes, period)[0] == closes[0]


def test_the_ema_of_an_empty_series_is_empty() -> None:
    assert ema([], 3) == []


def test_the_ema_of_a_short_series_matches_the_hand_computation() -> None:
    # period 3: alpha = 2 / (3 + 1) = 0.5, seeded with the first close
    # e0 = 1
    # e1 = 0.5*2 + 0.5*1      = 1.5
    # e2 = 0.5*3 + 0.5*1.5    = 2.25
    # e3 = 0.5*2 + 0.5*2.25   = 2.125
    # e4 = 0.5*1 + 0.5*2.125  = 1.5625
    # e5 = 0.5*2 + 0.5*1.5625 = 1.78125
    # e6 = 0.5*3 + 0.5*1.78125  = 2.390625
    # e7 = 0.5*4 + 0.5*2.390625 = 3.1953125   (all exact in binary)
    closes = [1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 4.0]
    assert ema(closes, 3) == [1.0, 1.5, 2.25, 2.125, 1.5625, 1.78125, 2.390625, 3.1953125]


def test_the_ema_with_a_non_dyadic_alpha_matches_the_hand_computation() -> None:
    # period 2: alpha = 2/3. e0 = 3; e1 = 2/3*6 + 1/3*3 = 5; e2 = 2/3*0 + 1/3*5 = 5/3
    out = ema([3.0, 6.0, 0.0], 2)
    assert out == pytest.approx([3.0, 5.0, 5.0 / 3.0], rel=1e-12)


# --- RSI -------------------------------------------------------------------------------------


@given(closes=st.lists(prices, min_size=0, max_size=80), period=rsi_periods)
def test_the_rsi_is_nan_before_index_period_and_within_0_and_100_from_it_on(
    closes: list[float], period: int
) -> None:
    out = rsi(closes, period)
    assert len(out) == len(closes)
    for i, value in enumerate(out):
        if i < period:
            assert math.isnan(value)
        else:
            assert 0.0 <= value <= 100.0


@given(
    start=st.floats(min_value=1.0, max_value=1000.0),
    steps=st.lists(st.floats(min_value=0.01, max_value=10.0), min_size=1, max_size=60),
    period=rsi_periods,
)
def test_the_rsi_is_100_on_strictly_rising_closes(
    start: float, steps: list[float], period: int
) -> None:
    closes = [start]
    for step in steps:
        closes.append(closes[-1] + step)
    assume(all(b > a for a, b in itertools.pairwise(closes)))
    assert rsi(closes, period)[period:] == [100.0] * (len(closes) - period)


@given(
    start=st.floats(min_value=1000.0, max_value=2000.0),
    steps=st.lists(st.floats(min_value=0.01, max_value=10.0), min_size=1, max_size=60),
    period=rsi_periods,
)
def test_the_rsi_is_0_on_strictly_falling_closes(
    start: float, steps: list[float], period: int
) -> None:
    closes = [start]
    for step in steps:
        closes.append(closes[-1] - step)
    assume(all(b < a for a, b in itertools.pairwise(closes)))
    assert rsi(closes, period)[period:] == [0.0] * (len(closes) - period)


@given(value=prices, length=st.integers(min_value=2, max_value=60), period=rsi_periods)
def test_the_rsi_is_50_on_flat_closes(value: float, length: int, period: int) -> None:
    assert rsi([value] * length, period)[period:] == [50.0] * max(0, length - period)


def test_the_rsi_of_a_short_series_matches_the_hand_computation() -> None:
    # closes 1 2 3 2 1 2 3 4, period 3; changes d1..d7 = +1 +1 -1 -1 +1 +1 +1
    # i=3: seed with the plain mean of d1..d3: gain 2/3, loss 1/3 -> RS 2     -> 66.67
    # i=4: d=-1: gain (2/3*2 + 0)/3 = 4/9,    loss (1/3*2 + 1)/3 = 5/9 -> RS 0.8  -> 44.44
    # i=5: d=+1: gain (4/9*2 + 1)/3 = 17/27,  loss (5/9*2)/3 = 10/27   -> RS 1.7  -> 62.96
    # i=6: d=+1: gain (17/27*2+1)/3 = 61/81,  loss 20/81                -> RS 3.05 -> 75.31
    # i=7: d=+1: gain (61/81*2+1)/3 = 203/243, loss 40/243             -> RS 5.075 -> 83.54
    closes = [1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 4.0]
    rs = [Fraction(2), Fraction(4, 5), Fraction(17, 10), Fraction(61, 20), Fraction(203, 40)]
    expected = [float(100 - 100 / (1 + r)) for r in rs]
    out = rsi(closes, 3)
    assert all(math.isnan(x) for x in out[:3])
    assert out[3:] == pytest.approx(expected, rel=1e-12)
    assert out[3] == pytest.approx(200.0 / 3.0)
    assert out[4] == pytest.approx(400.0 / 9.0)


def test_the_rsi_is_100_when_only_the_average_loss_is_zero_and_50_when_both_are() -> None:
    # period 2: i=2 seeds with changes 0, +1 -> gain 0.5, loss 0 -> 100
    assert rsi([5.0, 5.0, 6.0], 2)[2] == 100.0
    # changes 0, 0 -> both averages 0 -> 50
    assert rsi([5.0, 5.0, 5.0], 2)[2] == 50.0
    # changes 0, -1 -> gain 0, loss 0.5 -> 0
    assert rsi([5.0, 5.0, 4.0], 2)[2] == 0.0


def test_the_rsi_of_a_series_no_longer_than_its_period_is_all_nan() -> None:
    assert all(math.isnan(x) for x in rsi([1.0, 2.0, 3.0], 3))
    assert rsi([], 3) == []


# --- cross_up --------------------------------------------------------------------------------

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(a0=finite, a1=finite, b0=finite, b1=finite)
def test_cross_up_is_true_exactly_when_a_was_at_or_below_b_and_is_now_above(
    a0: float, a1: float, b0: float, b1: float
) -> None:
    assert cross_up([a0, a1], [b0, b1], 1) is (a0 <= b0 and a1 > b1)


@given(a=st.lists(finite, min_size=1, max_size=5), b=st.lists(finite, min_size=5, max_size=5))
def test_cross_up_is_false_at_index_0(a: list[float], b: list[float]) -> None:
    assert cross_up(a, b, 0) is False


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([math.nan, 2.0], [1.0, 1.0]),
        ([0.0, 2.0], [math.nan, 1.0]),
        ([0.0, math.nan], [1.0, 1.0]),
        ([0.0, 2.0], [1.0, math.nan]),
    ],
)
def test_cross_up_is_false_when_any_value_involved_is_nan(a: list[float], b: list[float]) -> None:
    assert cross_up(a, b, 1) is False


def test_cross_up_counts_touching_from_below_as_a_cross_but_not_touching_from_above() -> None:
    assert cross_up([1.0, 2.0], [1.0, 1.0], 1) is True  # equal before, above now
    assert cross_up([2.0, 1.0], [1.0, 1.0], 1) is False  # above before, equal now
    assert cross_up([0.0, 1.0], [1.0, 1.0], 1) is False  # below before, equal now
