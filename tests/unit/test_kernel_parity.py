"""The numba kernel decides exactly as the pure-Python reference, for every strategy.

Random candle series (gaps, flat runs, spikes, day boundaries) and random valid
parameters for every strategy and market type: identical trades (entry and exit
bar, side, reason), prices and PnL within 1e-9 relative, the same equity curve.
Both entry points of the one-pass loop: `simulate_candles` (indicators advanced
inside the loop, what the port runs) and `simulate_core` (indicator series
passed in, what a sweep's fallback runs).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.backtest import numba_core as core
from adapters.backtest.numba_kernel import (
    STRATEGY_CODES,
    NumbaBacktestKernel,
    as_arrays,
    risk_vector,
    simulated_trades,
)
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries, SimulationResult, simulate
from domain.trading.strategies import StrategyName, StrategyParams, strategy_spec

KERNEL = NumbaBacktestKernel()
HOUR_MS = 3_600_000


def run_with_series_passed_in(
    candles: CandleSeries,
    strategy: str,
    params: StrategyParams,
    risk: RiskParams,
    capital: float,
) -> SimulationResult:
    """simulate_core over numba_core.ema/rsi of the closes, computed beforehand."""
    spec = strategy_spec(strategy)
    times, opens, highs, lows, closes = as_arrays(candles)
    n = closes.shape[0]
    trades = np.empty((n + 1, core.TRADE_COLUMNS))
    equity = np.empty(n)
    count, cash = core.simulate_core(
        times,
        opens,
        highs,
        lows,
        closes,
        core.ema(closes, params.ema_fast),
        core.ema(closes, params.ema_slow),
        core.rsi(closes, params.rsi_period),
        core.ema(closes, params.ema_period),
        STRATEGY_CODES[spec.name],
        params.rsi_oversold,
        params.rsi_overbought,
        spec.warmup(params),
        risk_vector(risk, capital),
        trades,
        equity,
        True,
    )
    return SimulationResult(simulated_trades(trades[:count]), equity.tolist(), float(cash))


Runner = Callable[[CandleSeries, str, StrategyParams, RiskParams, float], SimulationResult]
RUNNERS: dict[str, Runner] = {
    "indicators-in-the-loop": KERNEL.run,
    "indicators-passed-in": run_with_series_passed_in,
}


@st.composite
def candle_series(draw: st.DrawFn) -> CandleSeries:
    n = draw(st.integers(min_value=2, max_value=260))
    price = draw(st.floats(min_value=0.01, max_value=100_000))
    step_ms = draw(st.sampled_from([60_000, 5 * 60_000, HOUR_MS, 4 * HOUR_MS]))
    start = draw(st.integers(min_value=1_500_000_000_000, max_value=1_800_000_000_000))
    times, opens, highs, lows, closes = [], [], [], [], []
    t = start
    for _ in range(n):
        kind = draw(st.sampled_from(["walk", "walk", "walk", "flat", "gap", "spike"]))
        if kind == "flat":
            o = c = price
            h = lo = price
        else:
            gap = draw(st.floats(min_value=-0.2, max_value=0.2)) if kind == "gap" else 0.0
            o = price * (1.0 + gap)
            c = o * (1.0 + draw(st.floats(min_value=-0.05, max_value=0.05)))
            reach = 0.5 if kind == "spike" else 0.02
            h = max(o, c) * (1.0 + draw(st.floats(min_value=0.0, max_value=reach)))
            lo = min(o, c) * (1.0 - draw(st.floats(min_value=0.0, max_value=min(reach, 0.9))))
        times.append(t)
        opens.append(o)
        highs.append(h)
        lows.append(lo)
        closes.append(c)
        price = max(c, 1e-6)
        t += step_ms * draw(st.sampled_from([1, 1, 1, 1, 7]))  # sometimes a hole
    return CandleSeries(times, opens, highs, lows, closes)


@st.composite
def strategy_params(draw: st.DrawFn) -> StrategyParams:
    fast = draw(st.integers(min_value=2, max_value=30))
    slow = draw(st.integers(min_value=fast + 1, max_value=60))
    oversold = draw(st.integers(min_value=1, max_value=60))
    overbought = draw(st.integers(min_value=oversold + 1, max_value=99))
    return StrategyParams(
        ema_fast=fast,
        ema_slow=slow,
        rsi_period=draw(st.integers(min_value=2, max_value=30)),
        rsi_oversold=float(oversold),
        rsi_overbought=float(overbought),
        ema_period=draw(st.integers(min_value=2, max_value=60)),
    )


@st.composite
def risk_params(draw: st.DrawFn) -> RiskParams:
    futures = draw(st.booleans())
    optional_perc = st.one_of(st.just(0.0), st.floats(min_value=0.1, max_value=30.0))
    return RiskParams(
        futures=futures,
        leverage=draw(st.integers(min_value=1, max_value=125)) if futures else 1,
        fee_rate=draw(st.sampled_from([0.0, 0.0004, 0.001, 0.0075])),
        slippage_rate=draw(st.sampled_from([0.0, 0.0005, 0.01])),
        stop_loss_perc=draw(optional_perc),
        take_profit_perc=draw(optional_perc),
        trailing_stop_perc=draw(optional_perc),
        trailing_stop_active=draw(st.booleans()),
        position_size_perc=draw(st.floats(min_value=1.0, max_value=100.0)),
        position_size_fixed=draw(st.one_of(st.just(0.0), st.floats(min_value=1.0, max_value=5e4))),
        max_daily_trades=draw(st.integers(min_value=1, max_value=50)),
        daily_target_perc=draw(optional_perc),
        max_daily_loss_perc=draw(optional_perc),
    )


def close_enough(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def assert_same(reference: SimulationResult, kernel: SimulationResult) -> None:
    assert len(kernel.trades) == len(reference.trades)
    for ours, theirs in zip(reference.trades, kernel.trades, strict=True):
        assert (ours.side, ours.entry_index, ours.exit_index, ours.exit_reason) == (
            theirs.side,
            theirs.entry_index,
            theirs.exit_index,
            theirs.exit_reason,
        )
        for field in ("entry_price", "exit_price", "quantity", "entry_fee", "exit_fee", "pnl"):
            assert close_enough(getattr(ours, field), getattr(theirs, field)), field
    assert len(kernel.equity) == len(reference.equity)
    for ours_equity, theirs_equity in zip(reference.equity, kernel.equity, strict=True):
        assert close_enough(ours_equity, theirs_equity)
    assert close_enough(reference.final_capital, kernel.final_capital)


@pytest.mark.parametrize("runner", list(RUNNERS))
@pytest.mark.parametrize("strategy", [s.value for s in StrategyName])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    candles=candle_series(),
    params=strategy_params(),
    risk=risk_params(),
    capital=st.floats(min_value=10.0, max_value=1e7),
)
def test_the_kernel_makes_exactly_the_reference_decisions(
    runner: str,
    strategy: str,
    candles: CandleSeries,
    params: StrategyParams,
    risk: RiskParams,
    capital: float,
) -> None:
    reference = simulate(candles, strategy, params, risk, capital)
    kernel = RUNNERS[runner](candles, strategy, params, risk, capital)
    assert_same(reference, kernel)


@pytest.mark.parametrize("strategy", [s.value for s in StrategyName])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    candles=candle_series(),
    params=strategy_params(),
    risk=risk_params(),
    capital=st.floats(min_value=10.0, max_value=1e7),
)
def test_both_entry_points_give_bit_identical_results(
    strategy: str,
    candles: CandleSeries,
    params: StrategyParams,
    risk: RiskParams,
    capital: float,
) -> None:
    in_loop = KERNEL.run(candles, strategy, params, risk, capital)
    passed_in = run_with_series_passed_in(candles, strategy, params, risk, capital)
    assert in_loop == passed_in


def test_parity_holds_on_a_long_trending_series_with_every_rule_active() -> None:
    n = 3000
    closes = [100.0 + 20.0 * math.sin(i / 40.0) + i * 0.01 for i in range(n)]
    opens = [closes[0], *closes[:-1]]
    candles = CandleSeries(
        [1_700_000_000_000 + i * HOUR_MS for i in range(n)],
        opens,
        [max(o, c) * 1.01 for o, c in zip(opens, closes, strict=True)],
        [min(o, c) * 0.99 for o, c in zip(opens, closes, strict=True)],
        closes,
    )
    risk = RiskParams(
        futures=True,
        leverage=10,
        fee_rate=0.0004,
        slippage_rate=0.0005,
        stop_loss_perc=3.0,
        take_profit_perc=6.0,
        trailing_stop_perc=2.0,
        trailing_stop_active=True,
        max_daily_trades=3,
        max_daily_loss_perc=5.0,
        daily_target_perc=4.0,
    )
    for strategy in StrategyName:
        reference = simulate(candles, strategy.value, StrategyParams(), risk, 10_000.0)
        assert reference.trades, strategy
        for run in RUNNERS.values():
            assert_same(reference, run(candles, strategy.value, StrategyParams(), risk, 1e4))


def quiet_walk(seed: int, n: int) -> CandleSeries:
    """Quarter-hour candles drifting in small steps with rare bursts: positions held
    for hours across midnight, most candles reaching no exit level."""
    rng = random.Random(seed)
    price = rng.uniform(10.0, 1000.0)
    t = 1_650_000_000_000 + rng.randrange(0, 86_400_000)
    times, opens, highs, lows, closes = [], [], [], [], []
    for _ in range(n):
        volatility = 0.02 if rng.random() < 0.01 else 0.002
        o = price
        c = o * (1.0 + rng.gauss(0.0, volatility))
        times.append(t)
        opens.append(o)
        highs.append(max(o, c) * (1.0 + abs(rng.gauss(0.0, volatility / 2))))
        lows.append(min(o, c) * (1.0 - abs(rng.gauss(0.0, volatility / 2))))
        closes.append(c)
        price = c
        t += 15 * 60_000
    return CandleSeries(times, opens, highs, lows, closes)


@pytest.mark.parametrize("strategy", ["ema_crossover", "ema_rsi", "ema_trend"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=10**6),
    leverage=st.integers(min_value=1, max_value=50),
    daily_target=st.floats(min_value=0.1, max_value=5.0),
    daily_loss=st.floats(min_value=0.1, max_value=5.0),
)
def test_daily_limits_count_from_the_days_first_open_with_a_position_held_overnight(
    strategy: str, seed: int, leverage: int, daily_target: float, daily_loss: float
) -> None:
    """The kernel skips candles where nothing can happen; a day's first candle is never
    one of them, since the daily limits measure the day from its open."""
    candles = quiet_walk(seed, 1500)
    risk = RiskParams(
        futures=True,
        leverage=leverage,
        fee_rate=0.0004,
        max_daily_trades=50,
        daily_target_perc=daily_target,
        max_daily_loss_perc=daily_loss,
    )
    params = StrategyParams(ema_fast=12, ema_slow=40, ema_period=40)
    reference = simulate(candles, strategy, params, risk, 10_000.0)
    for run in RUNNERS.values():
        assert_same(reference, run(candles, strategy, params, risk, 10_000.0))
