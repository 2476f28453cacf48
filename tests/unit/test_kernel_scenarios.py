"""Hand-computed scenarios through the numba kernel.

Every scenario trades the `ema_crossover` strategy with EMA 2/3 (warm-up 3): four flat
candles at 100, then a close at 110 crosses the fast EMA above the slow one, so a long
opens at that close (candle 4) and risk rules first look at it on candle 5.
"""

from __future__ import annotations

import pytest

from adapters.backtest.numba_kernel import NumbaBacktestKernel
from domain.trading.risk_engine import ExitReason, Side
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries, SimulationResult
from domain.trading.strategies import StrategyParams

KERNEL = NumbaBacktestKernel()
HOUR = 3_600_000
DAY = 24 * HOUR
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
FAST_SLOW = StrategyParams(ema_fast=2, ema_slow=3)
CAPITAL = 10_000.0
ENTRY = 110.0
# (open, high, low, close): flat, then the close that crosses.
WARM_UP = [(100.0, 100.0, 100.0, 100.0)] * 4 + [(100.0, 110.0, 100.0, ENTRY)]


def series(
    candles: list[tuple[float, float, float, float]], times: list[int] | None = None
) -> CandleSeries:
    return CandleSeries(
        open_time_ms=times or [T0 + i * HOUR for i in range(len(candles))],
        open=[c[0] for c in candles],
        high=[c[1] for c in candles],
        low=[c[2] for c in candles],
        close=[c[3] for c in candles],
    )


def run(candles: CandleSeries, risk: RiskParams) -> SimulationResult:
    return KERNEL.run(candles, "ema_crossover", FAST_SLOW, risk, CAPITAL)


def test_a_candle_reaching_both_stop_and_target_closes_at_the_stop() -> None:
    risk = RiskParams(stop_loss_perc=2.0, take_profit_perc=4.0, fee_rate=0.001)
    # Stop 107.8 and target 114.4 both lie inside candle 5.
    candles = [*WARM_UP, (110.0, 115.0, 107.0, 110.0), (110.0, 110.0, 110.0, 110.0)]

    result = run(series(candles), risk)

    quantity = CAPITAL / (ENTRY * 1.001)
    proceeds = quantity * 107.8 * (1 - 0.001)
    assert len(result.trades) == 1
    trade = result.trades[0]
    assert (trade.side, trade.entry_index, trade.exit_index) == (Side.LONG, 4, 5)
    assert trade.exit_reason is ExitReason.STOP_LOSS
    assert trade.entry_price == ENTRY
    assert trade.exit_price == pytest.approx(107.8, rel=1e-12)
    assert trade.quantity == pytest.approx(quantity, rel=1e-12)
    assert trade.entry_fee == pytest.approx(quantity * ENTRY * 0.001, rel=1e-12)
    assert trade.exit_fee == pytest.approx(quantity * 107.8 * 0.001, rel=1e-12)
    assert trade.pnl == pytest.approx(proceeds - CAPITAL, rel=1e-12)
    assert result.final_capital == pytest.approx(proceeds, rel=1e-12)
    assert result.equity[4] == pytest.approx(quantity * ENTRY, rel=1e-12)


def test_the_trailing_stop_ratchets_up_with_new_highs_and_never_down() -> None:
    risk = RiskParams(trailing_stop_perc=5.0, trailing_stop_active=True, fee_rate=0.0)
    candles = [
        *WARM_UP,
        (110.0, 120.0, 108.0, 118.0),  # above the first level 104.5; ratchets to 120 → 114
        (118.0, 125.0, 115.0, 124.0),  # above 114; ratchets to 125 → 118.75
        (124.0, 124.0, 119.0, 120.0),  # above 118.75; a lower high keeps the level
        (120.0, 121.0, 117.0, 118.0),  # reaches 118.75
        (118.0, 118.0, 118.0, 118.0),
    ]

    result = run(series(candles), risk)

    assert len(result.trades) == 1
    trade = result.trades[0]
    assert (trade.entry_index, trade.exit_index) == (4, 8)
    assert trade.exit_reason is ExitReason.TRAILING_STOP
    assert trade.exit_price == pytest.approx(125.0 * 0.95, rel=1e-12)
    assert trade.pnl == pytest.approx(CAPITAL / ENTRY * (118.75 - ENTRY), rel=1e-12)
    assert result.final_capital == pytest.approx(CAPITAL / ENTRY * 118.75, rel=1e-12)


def _whipsaw() -> CandleSeries:
    """Up-crosses at candles 4 and 6 (day one) and 8 (day two); down-crosses at 5 and 7."""
    closes_and_days = [
        (100.0, 0), (100.0, 0), (100.0, 0), (100.0, 0),
        (110.0, 0), (90.0, 0), (120.0, 0),
        (90.0, 1), (120.0, 1), (120.0, 1),
    ]  # fmt: skip
    candles = []
    times = []
    previous = 100.0
    for i, (close, day) in enumerate(closes_and_days):
        candles.append((previous, max(previous, close), min(previous, close), close))
        times.append(T0 + day * DAY + i * HOUR)
        previous = close
    return series(candles, times)


def test_the_daily_trade_cap_blocks_entries_until_the_next_utc_day() -> None:
    capped = RiskParams(max_daily_trades=1, fee_rate=0.0)

    result = run(_whipsaw(), capped)

    assert [(t.entry_index, t.exit_index, t.exit_reason) for t in result.trades] == [
        (4, 5, ExitReason.SIGNAL),
        (8, 9, ExitReason.END_OF_DATA),
    ]
    uncapped = run(_whipsaw(), RiskParams(max_daily_trades=2, fee_rate=0.0))
    assert [(t.entry_index, t.exit_index) for t in uncapped.trades] == [(4, 5), (6, 7), (8, 9)]


def test_a_liquidation_at_leverage_50_loses_the_margin_and_the_entry_fee() -> None:
    risk = RiskParams(futures=True, leverage=50, fee_rate=0.0004, position_size_perc=10.0)
    # Liquidation at 110 * (1 - 1/50 + 0.004) = 108.24; the candle's low reaches it.
    candles = [*WARM_UP, (110.0, 110.5, 108.0, 108.5), (108.5, 108.5, 108.5, 108.5)]

    result = run(series(candles), risk)

    amount = CAPITAL * 0.10
    quantity = amount / (ENTRY * (1 / 50 + 0.0004))
    margin = quantity * ENTRY / 50
    entry_fee = quantity * ENTRY * 0.0004
    assert margin + entry_fee == pytest.approx(amount, rel=1e-12)
    assert len(result.trades) == 1
    trade = result.trades[0]
    assert trade.exit_reason is ExitReason.LIQUIDATION
    assert trade.exit_index == 5
    assert trade.exit_price == pytest.approx(ENTRY * (1 - 1 / 50 + 0.004), rel=1e-12)
    assert trade.exit_fee == 0.0
    assert trade.entry_fee == pytest.approx(entry_fee, rel=1e-12)
    assert trade.pnl == pytest.approx(-(margin + entry_fee), rel=1e-12)
    assert result.final_capital == pytest.approx(CAPITAL - amount, rel=1e-12)
