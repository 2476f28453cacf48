"""A sweep (run_batch: shared indicator tables and cross lists, event pass, simulate_core
for what the event pass does not cover) gives every set the reference's result.

Random series of test_kernel_parity, every strategy, sets that share and do not
share their crossing EMAs, risks with and without daily target/loss limits: per
set the reference's trade count, winners and final capital (within 1e-9), and
the one-pass kernel's final capital bit for bit.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.backtest.numba_kernel import NumbaBacktestKernel, run_batch
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries, simulate
from domain.trading.strategies import StrategyName, StrategyParams
from tests.unit.test_kernel_parity import (
    candle_series,
    close_enough,
    risk_params,
    strategy_params,
)

KERNEL = NumbaBacktestKernel()


@pytest.mark.parametrize("strategy", [s.value for s in StrategyName])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    candles=candle_series(),
    base=st.lists(strategy_params(), min_size=1, max_size=3),
    variants=st.lists(
        st.tuples(st.integers(min_value=0, max_value=2), strategy_params()),
        min_size=0,
        max_size=4,
    ),
    risks=st.lists(risk_params(), min_size=1, max_size=2),
    daily_off=st.booleans(),
    capital=st.floats(min_value=10.0, max_value=1e7),
)
def test_every_set_of_a_sweep_gets_the_reference_result(
    strategy: str,
    candles: CandleSeries,
    base: list[StrategyParams],
    variants: list[tuple[int, StrategyParams]],
    risks: list[RiskParams],
    daily_off: bool,
    capital: float,
) -> None:
    # Variants keep a base set's crossing EMAs and change the rest: groups of several sets.
    sets = list(base)
    for k, other in variants:
        b = base[k % len(base)]
        sets.append(
            replace(other, ema_fast=b.ema_fast, ema_slow=b.ema_slow, ema_period=b.ema_period)
        )
    if daily_off:
        risks = [replace(r, daily_target_perc=0.0, max_daily_loss_perc=0.0) for r in risks]
    set_risks = [risks[s % len(risks)] for s in range(len(sets))]
    batch = run_batch(candles, strategy, sets, set_risks, capital)
    for s, (params, risk) in enumerate(zip(sets, set_risks, strict=True)):
        reference = simulate(candles, strategy, params, risk, capital)
        assert batch.trades[s] == len(reference.trades), s
        assert batch.wins[s] == sum(t.pnl > 0.0 for t in reference.trades), s
        assert close_enough(float(batch.final_capital[s]), reference.final_capital), s
        kernel = KERNEL.run(candles, strategy, params, risk, capital)
        assert batch.final_capital[s] == kernel.final_capital, s


def test_a_sweep_of_one_hundred_sets_equals_their_own_runs() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    closes = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.004, n)))
    opens = np.concatenate(([closes[0]], closes[:-1]))
    spread = np.abs(rng.normal(0.0, 0.003, (2, n)))
    candles = CandleSeries(
        1_700_000_000_000 + 300_000 * np.arange(n, dtype=np.int64),
        opens,
        np.maximum(opens, closes) * (1.0 + spread[0]),
        np.minimum(opens, closes) * (1.0 - spread[1]),
        closes,
    )
    sets = [
        StrategyParams(ema_fast=fast, ema_slow=slow, rsi_period=period)
        for fast in (5, 9)
        for slow in (20, 26, 34)
        for period in range(7, 24)
    ][:100]
    risk = RiskParams(stop_loss_perc=1.0, take_profit_perc=2.0, max_daily_trades=4)
    batch = run_batch(candles, "ema_rsi", sets, risk, 10_000.0)
    assert batch.trades.sum() > 1000
    for s, params in enumerate(sets):
        kernel = KERNEL.run(candles, "ema_rsi", params, risk, 10_000.0)
        assert batch.trades[s] == len(kernel.trades)
        assert batch.final_capital[s] == kernel.final_capital


def test_the_event_pass_and_the_candle_by_candle_pass_agree_bit_for_bit() -> None:
    rng = np.random.default_rng(11)
    n = 2000
    closes = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.006, n)))
    opens = np.concatenate(([closes[0]], closes[:-1]))
    candles = CandleSeries(
        1_650_000_000_000 + 3_600_000 * np.arange(n, dtype=np.int64),
        opens,
        np.maximum(opens, closes) * 1.004,
        np.minimum(opens, closes) * 0.996,
        closes,
    )
    sets = [
        StrategyParams(ema_fast=fast, ema_slow=slow, rsi_period=period, ema_period=slow)
        for fast in (3, 8)
        for slow in (15, 30)
        for period in (5, 14)
    ]
    risk = RiskParams(
        futures=True,
        leverage=5,
        stop_loss_perc=2.0,
        take_profit_perc=3.0,
        trailing_stop_perc=1.0,
        trailing_stop_active=True,
        max_daily_trades=3,
    )
    for strategy in StrategyName:
        events = run_batch(candles, strategy.value, sets, risk, 1_000.0)
        plain = run_batch(candles, strategy.value, sets, risk, 1_000.0, event_pass=False)
        assert events.trades.sum() > 0, strategy
        assert events.trades.tolist() == plain.trades.tolist(), strategy
        assert events.wins.tolist() == plain.wins.tolist(), strategy
        assert events.final_capital.tolist() == plain.final_capital.tolist(), strategy
