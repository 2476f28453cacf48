"""run_batch (shared indicator tables, simulate_batch in parallel) gives, for every set,
exactly the final capital and trade count of NumbaBacktestKernel.run with that set."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.backtest.numba_kernel import NumbaBacktestKernel, run_batch
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries
from domain.trading.strategies import StrategyName, StrategyParams

KERNEL = NumbaBacktestKernel()
HOUR_MS = 3_600_000


def wavy_candles(n: int = 2500) -> CandleSeries:
    closes = [
        100.0 + 15.0 * math.sin(i / 23.0) + 6.0 * math.sin(i / 5.3) + i * 0.004 for i in range(n)
    ]
    opens = [closes[0], *closes[:-1]]
    return CandleSeries(
        [1_700_000_000_000 + i * HOUR_MS for i in range(n)],
        opens,
        [max(o, c) * 1.012 for o, c in zip(opens, closes, strict=True)],
        [min(o, c) * 0.988 for o, c in zip(opens, closes, strict=True)],
        closes,
    )


SETS = [
    StrategyParams(ema_fast=5, ema_slow=20, rsi_period=7),
    StrategyParams(ema_fast=9, ema_slow=21, rsi_period=14),
    StrategyParams(ema_fast=9, ema_slow=34, rsi_period=14, rsi_overbought=60.0),
    StrategyParams(ema_fast=12, ema_slow=26, rsi_period=21, ema_period=30),
    StrategyParams(ema_fast=5, ema_slow=26, rsi_period=7, rsi_oversold=40.0, ema_period=80),
]
RISKS = [
    RiskParams(stop_loss_perc=2.0, take_profit_perc=4.0, max_daily_trades=3),
    RiskParams(
        futures=True,
        leverage=5,
        fee_rate=0.0004,
        slippage_rate=0.0005,
        stop_loss_perc=3.0,
        take_profit_perc=6.0,
        trailing_stop_perc=2.0,
        trailing_stop_active=True,
        max_daily_trades=2,
        max_daily_loss_perc=5.0,
        daily_target_perc=4.0,
    ),
]


def assert_batch_equals_single_runs(
    candles: CandleSeries,
    strategy: str,
    sets: list[StrategyParams],
    risks: list[RiskParams],
    capital: float,
) -> None:
    batch = run_batch(candles, strategy, sets, risks, capital)
    for s, (params, risk) in enumerate(zip(sets, risks, strict=True)):
        single = KERNEL.run(candles, strategy, params, risk, capital)
        assert batch.trades[s] == len(single.trades), (strategy, s)
        assert batch.final_capital[s] == single.final_capital, (strategy, s)
        assert batch.wins[s] == sum(t.pnl > 0.0 for t in single.trades), (strategy, s)


@pytest.mark.parametrize("strategy", [s.value for s in StrategyName])
@pytest.mark.parametrize("risk", RISKS, ids=["spot", "futures-every-rule"])
def test_every_set_of_a_sweep_equals_its_own_run(strategy: str, risk: RiskParams) -> None:
    candles = wavy_candles()
    single = KERNEL.run(candles, strategy, SETS[1], risk, 10_000.0)
    assert single.trades, "the series must trade, or the comparison proves little"
    assert_batch_equals_single_runs(candles, strategy, SETS, [risk] * len(SETS), 10_000.0)


def test_one_risk_per_set_and_one_shared_risk_give_the_same_sets() -> None:
    candles = wavy_candles(1200)
    sets = SETS[:2]
    shared = run_batch(candles, "ema_rsi", sets, RISKS[0], 5_000.0)
    per_set = run_batch(candles, "ema_rsi", sets, [RISKS[0], RISKS[0]], 5_000.0)
    assert shared.trades.tolist() == per_set.trades.tolist()
    assert shared.final_capital.tolist() == per_set.final_capital.tolist()
    assert_batch_equals_single_runs(candles, "ema_rsi", sets, [RISKS[0], RISKS[1]], 5_000.0)


def test_a_risk_list_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="one per parameter set"):
        run_batch(wavy_candles(100), "ema_rsi", SETS[:2], [RISKS[0]], 1_000.0)


def test_an_empty_sweep_returns_empty_results() -> None:
    result = run_batch(wavy_candles(100), "ema_rsi", [], RISKS[0], 1_000.0)
    assert result.trades.shape == (0,)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    strategy=st.sampled_from([s.value for s in StrategyName]),
    futures=st.booleans(),
)
def test_random_sweeps_equal_single_runs(seed: int, strategy: str, futures: bool) -> None:
    import random

    rng = random.Random(seed)
    n = rng.randint(30, 600)
    price = 50.0
    times, opens, highs, lows, closes = [], [], [], [], []
    t = 1_600_000_000_000
    for _ in range(n):
        o = price * (1.0 + rng.uniform(-0.01, 0.01))
        c = o * (1.0 + rng.uniform(-0.03, 0.03))
        times.append(t)
        opens.append(o)
        highs.append(max(o, c) * (1.0 + rng.uniform(0.0, 0.02)))
        lows.append(min(o, c) * (1.0 - rng.uniform(0.0, 0.02)))
        closes.append(c)
        price = c
        t += HOUR_MS * rng.choice([1, 1, 1, 5])
    candles = CandleSeries(times, opens, highs, lows, closes)
    sets = []
    for _ in range(rng.randint(1, 6)):
        fast = rng.randint(2, 15)
        sets.append(
            StrategyParams(
                ema_fast=fast,
                ema_slow=rng.randint(fast + 1, 40),
                rsi_period=rng.randint(2, 20),
                rsi_oversold=float(rng.randint(10, 45)),
                rsi_overbought=float(rng.randint(55, 90)),
                ema_period=rng.randint(2, 50),
            )
        )
    risks = [
        RiskParams(
            futures=futures,
            leverage=rng.randint(1, 20) if futures else 1,
            stop_loss_perc=rng.choice([0.0, 1.5, 4.0]),
            take_profit_perc=rng.choice([0.0, 2.0, 8.0]),
            trailing_stop_perc=rng.choice([0.0, 1.0]),
            trailing_stop_active=rng.random() < 0.5,
            max_daily_trades=rng.randint(1, 10),
            max_daily_loss_perc=rng.choice([0.0, 3.0]),
            daily_target_perc=rng.choice([0.0, 3.0]),
        )
        for _ in sets
    ]
    assert_batch_equals_single_runs(candles, strategy, sets, risks, 1_000.0)
