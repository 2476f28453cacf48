"""A live bot stepping candle by candle decides exactly as the backtest of the same
config over the same candles — however the candles arrive (one at a time, in
bursts after a restart, all at once). This is the property users of other bots
most often find broken."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.trading.live import advance
from domain.trading.risk_engine import ExitReason, Fill, TradingState
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries, simulate
from domain.trading.strategies import StrategyName, StrategyParams
from tests.unit.test_kernel_parity import candle_series, risk_params, strategy_params


def prefix(candles: CandleSeries, n: int) -> CandleSeries:
    return CandleSeries(
        candles.open_time_ms[:n], candles.open[:n], candles.high[:n], candles.low[:n],
        candles.close[:n],
    )  # fmt: skip


def run_live(
    candles: CandleSeries,
    strategy: str,
    params: StrategyParams,
    risk: RiskParams,
    capital: float,
    bursts: list[int],
) -> tuple[TradingState, list[Fill]]:
    """Feed the series in bursts of closed candles, as a worker that sometimes sleeps."""
    state = TradingState(cash=capital)
    last = None
    fills: list[Fill] = []
    seen = 0
    for size in [*bursts, len(candles)]:
        seen = min(len(candles), seen + max(size, 1))
        progress = advance(state, prefix(candles, seen), strategy, params, risk, last)
        state, last = progress.state, progress.last_open_ms
        fills.extend(progress.fills)
        if seen == len(candles):
            break
    return state, fills


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    strategy=st.sampled_from([s.value for s in StrategyName]),
    candles=candle_series(),
    params=strategy_params(),
    risk=risk_params(),
    capital=st.floats(min_value=10.0, max_value=1e6),
    bursts=st.lists(st.integers(min_value=1, max_value=40), max_size=30),
)
def test_live_stepping_makes_the_backtests_trades(
    strategy: str,
    candles: CandleSeries,
    params: StrategyParams,
    risk: RiskParams,
    capital: float,
    bursts: list[int],
) -> None:
    backtest = simulate(candles, strategy, params, risk, capital)
    state, fills = run_live(candles, strategy, params, risk, capital, bursts)
    entries = [f for f in fills if f.is_entry]
    exits = [f for f in fills if not f.is_entry]
    closed = [t for t in backtest.trades if t.exit_reason is not ExitReason.END_OF_DATA]
    assert [(f.index, f.reason, f.price, f.pnl) for f in exits] == [
        (t.exit_index, t.exit_reason, t.exit_price, t.pnl) for t in closed
    ]
    assert [(e.index, e.side, e.price, e.quantity) for e in entries[: len(backtest.trades)]] == [
        (t.entry_index, t.side, t.entry_price, t.quantity) for t in backtest.trades
    ]
    last = len(candles) - 1
    if backtest.trades and backtest.trades[-1].exit_reason is ExitReason.END_OF_DATA:
        # The backtest closed it at the end; live, it is still open.
        assert state.in_position
        assert state.entry_index == backtest.trades[-1].entry_index
    elif state.in_position:
        # Only the live bot may enter on the newest candle; the backtest never does.
        assert state.entry_index == last
        assert len(entries) == len(backtest.trades) + 1
