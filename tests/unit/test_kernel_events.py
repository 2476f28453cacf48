"""The sweep's event pass (numba_core.simulate_events) decides exactly as the reference.

It jumps from cross to cross while flat and skips candles whose extremes stay
inside the exit levels while in a position, and shares each position's exit
between sets of the same cross list and risk. For every crossover strategy,
spot and futures, on the random series of test_kernel_parity (gaps, flat
runs, spikes, day boundaries, holes) and on long random walks that make the
block skipping and the trailing stop work: identical trades (entry and exit
bar, side, reason), prices and PnL within 1e-9 relative, and the final cash
bit for bit that of the one-pass kernel.
"""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.backtest import numba_core as core
from adapters.backtest.numba_kernel import (
    NumbaBacktestKernel,
    as_arrays,
    risk_vector,
    simulated_trades,
)
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries, SimulationResult, simulate
from domain.trading.strategies import StrategyName, StrategyParams, strategy_spec
from tests.unit.test_kernel_parity import (
    assert_same,
    candle_series,
    close_enough,
    risk_params,
    strategy_params,
)

KERNEL = NumbaBacktestKernel()
CROSSING = [s.value for s in StrategyName if s is not StrategyName.RSI_REVERSION]
HOUR_MS = 3_600_000


class EventRunner:
    """simulate_events for one set at a time over one candle series, keeping the exit
    cache between runs as a sweep does for the sets of one group (same cross list, same
    risk)."""

    def __init__(self, candles: CandleSeries) -> None:
        self.arrays = as_arrays(candles)
        times, opens, highs, lows, _ = self.arrays
        n = len(candles)
        self.context = core.candle_context(times, opens, highs, lows)
        self.events = np.empty(n, dtype=np.int64)
        self.exits = np.empty((n, 4))
        self.exit_stamp = np.zeros(n, dtype=np.int64)
        self.stamp = 0
        self.key: tuple[object, ...] | None = None

    def run(
        self, strategy: str, params: StrategyParams, risk: RiskParams, capital: float
    ) -> SimulationResult:
        spec = strategy_spec(strategy)
        _, opens, highs, lows, closes = self.arrays
        if spec.name is StrategyName.EMA_TREND:
            a, b = closes, core.ema(closes, params.ema_period)
            key: tuple[object, ...] = ("trend", params.ema_period, risk)
        else:
            a, b = core.ema(closes, params.ema_fast), core.ema(closes, params.ema_slow)
            key = ("pair", params.ema_fast, params.ema_slow, risk)
        if key != self.key:  # another cross list or risk: a new stamp, as another group
            self.key = key
            self.stamp += 1
        event_count = core.cross_events(a, b, self.events, np.empty(len(closes), np.int8))
        trades = np.empty((len(closes) + 1, core.TRADE_COLUMNS))
        out = np.full((1, 3), np.nan)
        day_segment, candle_low, candle_high, block_low, block_high = self.context
        core.simulate_events(
            opens,
            highs,
            lows,
            closes,
            day_segment,
            candle_low,
            candle_high,
            block_low,
            block_high,
            self.events,
            event_count,
            self.exits,
            self.exit_stamp,
            self.stamp,
            core.rsi(closes, params.rsi_period).reshape(1, -1),
            spec.name in (StrategyName.EMA_RSI, StrategyName.CUSTOM),
            np.zeros(1, dtype=np.int64),
            np.zeros(1, dtype=np.int64),
            np.array([params.rsi_oversold]),
            np.array([params.rsi_overbought]),
            np.array([spec.warmup(params)], dtype=np.int64),
            risk_vector(risk, capital).reshape(1, -1),
            out,
            trades,
            True,
        )
        cash, count, wins = float(out[0, 0]), int(out[0, 1]), int(out[0, 2])
        result = SimulationResult(simulated_trades(trades[:count]), [], float(cash))
        assert wins == sum(t.pnl > 0.0 for t in result.trades)
        return result


def assert_same_trades(reference: SimulationResult, events: SimulationResult) -> None:
    assert_same(replace(reference, equity=[]), events)


def without_daily_limits(risk: RiskParams) -> RiskParams:
    return replace(risk, daily_target_perc=0.0, max_daily_loss_perc=0.0)


@pytest.mark.parametrize("strategy", CROSSING)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    candles=candle_series(),
    params=strategy_params(),
    risk=risk_params(),
    capital=st.floats(min_value=10.0, max_value=1e7),
)
def test_the_event_pass_makes_exactly_the_reference_decisions(
    strategy: str,
    candles: CandleSeries,
    params: StrategyParams,
    risk: RiskParams,
    capital: float,
) -> None:
    risk = without_daily_limits(risk)
    events = EventRunner(candles).run(strategy, params, risk, capital)
    assert_same_trades(simulate(candles, strategy, params, risk, capital), events)
    assert (
        events.final_capital == KERNEL.run(candles, strategy, params, risk, capital).final_capital
    )


@pytest.mark.parametrize("strategy", CROSSING)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    candles=candle_series(),
    first=strategy_params(),
    others=st.lists(strategy_params(), min_size=1, max_size=4),
    risk=risk_params(),
    sizes=st.lists(st.floats(min_value=1.0, max_value=100.0), min_size=5, max_size=5),
)
def test_sets_sharing_cached_exits_each_make_the_reference_decisions(
    strategy: str,
    candles: CandleSeries,
    first: StrategyParams,
    others: list[StrategyParams],
    risk: RiskParams,
    sizes: list[float],
) -> None:
    """Same cross list and exit levels, other RSI filters, sizing and capital: the exits
    one set left in the cache are right for the next."""
    runner = EventRunner(candles)
    risk = without_daily_limits(risk)
    for k, other in enumerate([first, *others]):
        params = replace(
            other, ema_fast=first.ema_fast, ema_slow=first.ema_slow, ema_period=first.ema_period
        )
        set_risk = replace(risk, position_size_perc=sizes[k])
        capital = 1_000.0 * (k + 1)
        events = runner.run(strategy, params, set_risk, capital)
        assert_same_trades(simulate(candles, strategy, params, set_risk, capital), events)


def random_walk(seed: int, n: int) -> CandleSeries:
    """Minute to hourly candles with quiet stretches (whole blocks inside the levels),
    bursts, gaps through the levels and flat runs (equal EMAs)."""
    rng = random.Random(seed)
    price = rng.uniform(1.0, 1000.0)
    step = rng.choice([60_000, 5 * 60_000, HOUR_MS])
    t = 1_600_000_000_000 + rng.randrange(0, 86_400_000)
    volatility = 0.002
    times, opens, highs, lows, closes = [], [], [], [], []
    for _ in range(n):
        if rng.random() < 0.02:
            volatility = rng.choice([0.0005, 0.002, 0.01, 0.03])
        if rng.random() < 0.01:
            o = c = h = lo = price
        else:
            o = price * (1.0 + (rng.gauss(0.0, 0.05) if rng.random() < 0.01 else 0.0))
            c = o * (1.0 + rng.gauss(0.0, volatility))
            h = max(o, c) * (1.0 + abs(rng.gauss(0.0, volatility)))
            lo = min(o, c) * (1.0 - min(0.5, abs(rng.gauss(0.0, volatility))))
        times.append(t)
        opens.append(o)
        highs.append(h)
        lows.append(lo)
        closes.append(c)
        price = max(c, 1e-6)
        t += step * (7 if rng.random() < 0.01 else 1)
    return CandleSeries(times, opens, highs, lows, closes)


@pytest.mark.parametrize("strategy", CROSSING)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=10**6),
    params=strategy_params(),
    futures=st.booleans(),
    stop=st.sampled_from([0.0, 0.5, 2.0]),
    target=st.sampled_from([0.0, 1.0, 4.0]),
    trailing=st.sampled_from([0.0, 0.3, 1.5]),
    max_daily=st.sampled_from([1, 3, 1000]),
)
def test_long_walks_with_quiet_stretches_make_the_reference_decisions(
    strategy: str,
    seed: int,
    params: StrategyParams,
    futures: bool,
    stop: float,
    target: float,
    trailing: float,
    max_daily: int,
) -> None:
    candles = random_walk(seed, 4000)
    risk = RiskParams(
        futures=futures,
        leverage=20 if futures else 1,
        fee_rate=0.0004,
        slippage_rate=0.0005,
        stop_loss_perc=stop,
        take_profit_perc=target,
        trailing_stop_perc=trailing,
        trailing_stop_active=trailing > 0.0,
        max_daily_trades=max_daily,
    )
    reference = simulate(candles, strategy, params, risk, 10_000.0)
    events = EventRunner(candles).run(strategy, params, risk, 10_000.0)
    assert_same_trades(reference, events)
    assert close_enough(reference.final_capital, events.final_capital)


def test_cross_events_are_the_crosses_the_strategies_read() -> None:
    a = np.array([1.0, 2.0, 2.0, 1.0, 1.0, 3.0, np.nan, 3.0, 1.0])
    b = np.array([1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 2.0])
    out = np.empty(a.shape[0], dtype=np.int64)
    count = core.cross_events(a, b, out, np.empty(a.shape[0], np.int8))
    expected = [
        i if core.cross_up(a[i - 1], b[i - 1], a[i], b[i]) else -i
        for i in range(1, a.shape[0])
        if core.cross_up(a[i - 1], b[i - 1], a[i], b[i])
        or core.cross_up(b[i - 1], a[i - 1], b[i], a[i])
    ]
    assert out[:count].tolist() == expected == [1, -3, 5, -8]
