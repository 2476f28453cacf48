"""The ParameterSweep on worker processes: per set, the single-set kernel's numbers."""

from __future__ import annotations

import random

from adapters.backtest.numba_kernel import NumbaBacktestKernel
from adapters.backtest_jobs.process_pool_sweep import ProcessPoolSweep
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries
from domain.trading.strategies import StrategyParams

HOUR = 3_600_000


def candles(n: int = 600, seed: int = 5) -> CandleSeries:
    rng = random.Random(seed)
    opens, highs, lows, closes = [], [], [], []
    close = 100.0
    for _ in range(n):
        open_ = close
        close = max(1.0, open_ * (1 + rng.gauss(0, 0.01)) + 0.01 * (100 - open_))
        opens.append(open_)
        highs.append(max(open_, close) * 1.003)
        lows.append(min(open_, close) * 0.997)
        closes.append(close)
    return CandleSeries(
        [1_704_067_200_000 + i * HOUR for i in range(n)], opens, highs, lows, closes
    )


async def test_every_set_gets_the_single_kernels_result_and_a_closed_pool_restarts() -> None:
    series = candles()
    sets = [StrategyParams(ema_fast=f, ema_slow=s) for f in (3, 5, 8) for s in (13, 21)]
    risks = [
        RiskParams(stop_loss_perc=1.5, take_profit_perc=3.0, position_size_perc=50),
        RiskParams(stop_loss_perc=3.0, daily_target_perc=2.0),
        RiskParams(futures=True, leverage=5, fee_rate=0.0004, trailing_stop_perc=2.0,
                   trailing_stop_active=True),
    ]  # fmt: skip
    set_risks = [risks[i % len(risks)] for i in range(len(sets))]
    sweep = ProcessPoolSweep()
    try:
        for _ in range(2):  # the second time on a new pool
            outcome = await sweep.run(series, "ema_rsi", sets, set_risks, 5_000.0)
            await sweep.close()

            for i, (params, risk) in enumerate(zip(sets, set_risks, strict=True)):
                single = NumbaBacktestKernel().run(series, "ema_rsi", params, risk, 5_000.0)
                assert outcome.final_capital[i] == single.final_capital, i
                assert outcome.trades[i] == len(single.trades), i
                assert outcome.wins[i] == sum(t.pnl > 0 for t in single.trades), i
            assert any(t > 0 for t in outcome.trades)
    finally:
        await sweep.close()
