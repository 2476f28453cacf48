"""Signals advanced one close at a time are exactly `compute_signals` over the whole series.

A live bot carries a StrategyState between evaluations instead of recomputing its
indicators over its whole history; that is only safe if the carried values are the
reference's bit for bit, however the closes arrive (one at a time, in bursts with
the state stored as JSON in between) and for every strategy.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from dataclasses import fields

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.trading.indicators import ema, rsi
from domain.trading.strategies import (
    StrategyName,
    StrategyParams,
    UnknownStrategy,
    compute_signals,
)
from domain.trading.strategy_state import (
    SignalsAt,
    StrategyState,
    advance_signals,
    from_dict,
    initial_state,
    signals_over,
    to_dict,
)

STRATEGIES = [s.value for s in StrategyName]
Row = tuple[bool, bool, bool, bool]
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def close_series(draw: st.DrawFn) -> list[float]:
    """0..400 closes from tiny to large prices, in segments: random walks, flat runs,
    values alternating between two levels, one-ulp steps, monotone runs and spikes."""
    n = draw(st.integers(min_value=0, max_value=400))
    scale = draw(st.sampled_from([1e-8, 1e-4, 0.01, 1.0, 37.5, 30_000.0, 1e9]))
    kinds = draw(
        st.lists(
            st.sampled_from(["walk", "flat", "alternate", "ulp", "rise", "fall", "spike"]),
            min_size=1,
            max_size=8,
        )
    )
    rng = random.Random(draw(st.integers(min_value=0, max_value=2**32)))
    price = scale * rng.uniform(0.5, 2.0)
    closes: list[float] = []
    k = 0
    while len(closes) < n:
        kind = kinds[k % len(kinds)]
        k += 1
        for j in range(rng.randint(1, 60)):
            if kind == "walk":
                price *= 1.0 + rng.uniform(-0.05, 0.05)
            elif kind == "alternate":
                price = price * 1.01 if j % 2 == 0 else price / 1.01
            elif kind == "ulp":
                price = math.nextafter(price, math.inf if rng.random() < 0.5 else 0.0)
            elif kind == "rise":
                price *= 1.002
            elif kind == "fall":
                price *= 0.998
            elif kind == "spike":
                price *= rng.choice([0.5, 2.0, 1.0])
            closes.append(price)  # "flat" repeats the price unchanged
    return closes[:n]


@st.composite
def any_params(draw: st.DrawFn) -> StrategyParams:
    """Periods as a user may set them: fast may equal or exceed slow; thresholds include
    the RSI values a flat (50) or one-way (0, 100) series produces exactly."""
    periods = st.integers(min_value=1, max_value=60)
    oversold = draw(st.integers(min_value=0, max_value=99))
    overbought = draw(st.integers(min_value=oversold + 1, max_value=100))
    return StrategyParams(
        ema_fast=draw(periods),
        ema_slow=draw(periods),
        rsi_period=draw(st.integers(min_value=1, max_value=40)),
        rsi_oversold=float(oversold) + draw(st.sampled_from([0.0, 0.0, 0.25])),
        rsi_overbought=float(overbought),
        ema_period=draw(periods),
    )


def reference_rows(strategy: str, closes: list[float], params: StrategyParams) -> list[Row]:
    s = compute_signals(strategy, closes, params)
    return list(zip(s.long_entry, s.long_exit, s.short_entry, s.short_exit, strict=True))


def rows(signals: list[SignalsAt]) -> list[Row]:
    assert [s.index for s in signals] == list(range(len(signals)))
    return [(s.long_entry, s.long_exit, s.short_entry, s.short_exit) for s in signals]


def through_json(state: StrategyState) -> StrategyState:
    return from_dict(json.loads(json.dumps(to_dict(state), allow_nan=False)))


def bit_equal(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def same_state(a: StrategyState, b: StrategyState) -> bool:
    return all(
        bit_equal(float(getattr(a, f.name)), float(getattr(b, f.name)))
        for f in fields(StrategyState)
    )


@pytest.mark.parametrize("strategy", STRATEGIES)
@PROPERTY
@given(closes=close_series(), params=any_params())
def test_feeding_closes_one_at_a_time_gives_exactly_compute_signals_at_every_index(
    strategy: str, closes: list[float], params: StrategyParams
) -> None:
    state = initial_state()
    stepped: list[SignalsAt] = []
    for close in closes:
        state, at = advance_signals(state, close, strategy, params)
        stepped.append(at)

    assert rows(stepped) == reference_rows(strategy, closes, params)
    folded_state, folded = signals_over(closes, strategy, params)
    assert folded == stepped
    assert same_state(folded_state, state)


@pytest.mark.parametrize("strategy", STRATEGIES)
@PROPERTY
@given(
    closes=close_series(),
    params=any_params(),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
)
def test_feeding_bursts_with_the_state_stored_as_json_between_them_gives_exactly_compute_signals(
    strategy: str, closes: list[float], params: StrategyParams, cuts: list[int]
) -> None:
    bounds = [0, *sorted(min(c, len(closes)) for c in cuts), len(closes)]
    state = initial_state()
    got: list[SignalsAt] = []
    for start, end in itertools.pairwise(bounds):
        state, burst = signals_over(closes[start:end], strategy, params, state=state)
        got.extend(burst)
        restored = through_json(state)
        assert same_state(restored, state)
        state = restored

    assert rows(got) == reference_rows(strategy, closes, params)


@pytest.mark.parametrize("strategy", STRATEGIES)
@PROPERTY
@given(closes=close_series(), params=any_params())
def test_the_carried_indicators_are_the_reference_values_at_every_index_bit_for_bit(
    strategy: str, closes: list[float], params: StrategyParams
) -> None:
    # At every index, not only the last: Wilder's smoothing damps an ulp of difference
    # in the seed away, so the last value alone would hide a reordered division.
    n = len(closes)
    nan = [math.nan] * n
    uses_crossover = strategy in {"ema_crossover", "ema_rsi", "custom"}
    uses_rsi = strategy in {"ema_rsi", "custom", "rsi_reversion"}
    expected = list(
        zip(
            closes,
            ema(closes, params.ema_fast) if uses_crossover else nan,
            ema(closes, params.ema_slow) if uses_crossover else nan,
            ema(closes, params.ema_period) if strategy == "ema_trend" else nan,
            rsi(closes, params.rsi_period) if uses_rsi else nan,
            strict=True,
        )
    )
    state = initial_state()
    for i, close in enumerate(closes):
        state, _ = advance_signals(state, close, strategy, params)
        carried = (state.last_close, state.ema_fast, state.ema_slow, state.ema_trend, state.rsi)
        assert state.count == i + 1
        assert all(bit_equal(x, y) for x, y in zip(carried, expected[i], strict=True)), i


# --- examples, one per strategy -------------------------------------------------------------

# fast = ema(1) is the closes; slow = ema(3) (alpha .5): 10 10 10 11 11.5 9.75.
#   i=3: fast 10 <= slow 10, 12 > 11      -> up   (long entry, short exit)
#   i=5: slow 11.5 <= fast 12, 9.75 > 8   -> down (long exit, short entry)
# RSI(2): 50 at i=2 (no change), 100 at i=3 and 4, 100 - 100/1.125 = 11.1 at i=5.
CROSS = [10.0, 10.0, 10.0, 12.0, 12.0, 8.0]
CROSS_PARAMS = StrategyParams(
    ema_fast=1, ema_slow=3, rsi_period=2, rsi_oversold=10.0, rsi_overbought=70.0
)


def fired(strategy: str, closes: list[float], params: StrategyParams) -> list[list[int]]:
    """For each of long entry, long exit, short entry, short exit: the indices it fires at."""
    _, signals = signals_over(closes, strategy, params)
    return [[i for i, row in enumerate(rows(signals)) if row[k]] for k in range(4)]


def test_ema_crossover_enters_long_on_the_cross_up_and_short_on_the_cross_down() -> None:
    assert fired("ema_crossover", CROSS, CROSS_PARAMS) == [[3], [5], [5], [3]]


@pytest.mark.parametrize("strategy", ["ema_rsi", "custom"])
def test_ema_rsi_and_custom_skip_the_long_entry_while_rsi_is_overbought_but_still_exit(
    strategy: str,
) -> None:
    assert fired(strategy, CROSS, CROSS_PARAMS) == [[], [5], [5], [3]]
    state, _ = signals_over(CROSS, strategy, CROSS_PARAMS)
    assert state.rsi == 100.0 - 100.0 / (1.0 + 0.25 / 2.0)


def test_rsi_reversion_enters_when_rsi_leaves_oversold_and_exits_at_overbought() -> None:
    # RSI(1) is 100 on a rise, 0 on a fall, 50 on no change: NaN 0 100 50 0.
    params = StrategyParams(rsi_period=1, rsi_oversold=30.0, rsi_overbought=70.0)
    assert fired("rsi_reversion", [5.0, 4.0, 6.0, 6.0, 3.0], params) == [[2], [2], [3], [1, 4]]


def test_ema_trend_goes_long_when_the_close_crosses_above_its_ema() -> None:
    # ema(3): 10 9.5 10.75 10.875 9.4375 against closes 10 9 12 11 8.
    params = StrategyParams(ema_period=3)
    assert fired("ema_trend", [10.0, 9.0, 12.0, 11.0, 8.0], params) == [[2], [1, 4], [1, 4], [2]]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_examples_agree_with_compute_signals(strategy: str) -> None:
    _, signals = signals_over(CROSS, strategy, CROSS_PARAMS)
    assert rows(signals) == reference_rows(strategy, CROSS, CROSS_PARAMS)


# --- errors and storage ---------------------------------------------------------------------


def test_an_unknown_strategy_raises_the_registry_error_even_without_closes() -> None:
    with pytest.raises(UnknownStrategy):
        advance_signals(initial_state(), 1.0, "martingale", StrategyParams())
    with pytest.raises(UnknownStrategy):
        signals_over([], "martingale", StrategyParams())


def test_the_initial_state_stores_as_strict_json_with_none_for_nan() -> None:
    stored = to_dict(initial_state())
    assert json.loads(json.dumps(stored, allow_nan=False)) == stored
    assert stored["count"] == 0
    assert stored["rsi"] is None
    assert stored["gain_sum"] == 0.0


def test_a_row_with_missing_and_unknown_keys_loads_with_defaults() -> None:
    state = from_dict({"count": 3, "ema_fast": 1.5, "added_later": 7, "rsi": None})
    assert state.count == 3
    assert state.ema_fast == 1.5
    assert math.isnan(state.ema_slow)
    assert math.isnan(state.rsi)
    assert state.gain_sum == 0.0
    assert same_state(from_dict({}), initial_state())


@pytest.mark.parametrize(
    "data", [{"count": -1}, {"count": 1.5}, {"count": True}, {"ema_fast": "1.0"}]
)
def test_a_corrupt_row_is_rejected_rather_than_silently_reset(data: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        from_dict(data)
