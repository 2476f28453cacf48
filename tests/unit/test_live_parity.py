"""A live bot stepping candle by candle decides exactly as the backtest of the same
config over the same candles, with its engine and indicators stored between
evaluations (O(1) per candle); when candles arrive in bursts (a worker that slept,
a bot stopped for days) it acts only on the newest one, or closes a position whose
risk level was crossed in the gap, once."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.persistence.trading_state_codec import decode_trading_state, encode_trading_state
from domain.trading import strategy_state
from domain.trading.live import advance
from domain.trading.risk_engine import ExitReason, Fill, TradingState
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries, simulate
from domain.trading.strategies import StrategyName, StrategyParams
from tests.unit.test_kernel_parity import candle_series, risk_params, strategy_params


def window(candles: CandleSeries, start: int, stop: int) -> CandleSeries:
    return CandleSeries(
        candles.open_time_ms[start:stop], candles.open[start:stop], candles.high[start:stop],
        candles.low[start:stop], candles.close[start:stop],
    )  # fmt: skip


def stored(
    state: TradingState, signals: strategy_state.StrategyState
) -> tuple[TradingState, strategy_state.StrategyState]:
    """What a bot's row gives back: both states through JSON."""
    engine = decode_trading_state(json.loads(json.dumps(encode_trading_state(state))))
    assert engine is not None
    carried = strategy_state.from_dict(json.loads(json.dumps(strategy_state.to_dict(signals))))
    return engine, carried


def run_live(
    candles: CandleSeries,
    strategy: str,
    params: StrategyParams,
    risk: RiskParams,
    capital: float,
    bursts: list[int],
) -> tuple[TradingState, list[tuple[list[Fill], int, int]]]:
    """Feed the series in bursts of newly closed candles, as a worker that sometimes
    sleeps; each evaluation reads only its new candles. Returns, per evaluation, its
    fills and the index range of its candles."""
    state, signals = TradingState(cash=capital), strategy_state.initial_state()
    last = None
    seen = 0
    evaluations = []
    for size in [*bursts, len(candles)]:
        start, seen = seen, min(len(candles), seen + max(size, 1))
        progress = advance(
            state, signals, window(candles, start, seen), strategy, params, risk, last
        )
        state, signals = stored(progress.state, progress.signals)
        last = progress.last_open_ms
        evaluations.append((progress.fills, start, seen - 1))
        if seen == len(candles):
            break
    return state, evaluations


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    strategy=st.sampled_from([s.value for s in StrategyName]),
    candles=candle_series(),
    params=strategy_params(),
    risk=risk_params(),
    capital=st.floats(min_value=10.0, max_value=1e6),
)
def test_one_candle_per_evaluation_makes_the_backtests_trades(
    strategy: str,
    candles: CandleSeries,
    params: StrategyParams,
    risk: RiskParams,
    capital: float,
) -> None:
    backtest = simulate(candles, strategy, params, risk, capital)
    state, evaluations = run_live(candles, strategy, params, risk, capital, [1] * len(candles))
    fills = [fill for fills, _, _ in evaluations for fill in fills]
    entries = [f for f in fills if f.is_entry]
    exits = [f for f in fills if not f.is_entry]
    closed = [t for t in backtest.trades if t.exit_reason is not ExitReason.END_OF_DATA]
    assert [(f.index, f.reason, f.price, f.pnl) for f in exits] == [
        (t.exit_index, t.exit_reason, t.exit_price, t.pnl) for t in closed
    ]
    assert [(e.index, e.side, e.price, e.quantity) for e in entries[: len(backtest.trades)]] == [
        (t.entry_index, t.side, t.entry_price, t.quantity) for t in backtest.trades
    ]
    # Only the live bot may enter on the newest candle; the backtest never does.
    assert len(entries) - len(backtest.trades) in (0, 1)
    if not state.in_position and len(exits) == len(backtest.trades):
        assert state.cash == backtest.final_capital  # the same money, to the last bit


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    strategy=st.sampled_from([s.value for s in StrategyName]),
    candles=candle_series(),
    params=strategy_params(),
    risk=risk_params(),
    capital=st.floats(min_value=10.0, max_value=1e6),
    bursts=st.lists(st.integers(min_value=1, max_value=40), max_size=30),
)
def test_after_a_gap_only_the_newest_candle_decides_and_a_crossed_level_exits_once(
    strategy: str,
    candles: CandleSeries,
    params: StrategyParams,
    risk: RiskParams,
    capital: float,
    bursts: list[int],
) -> None:
    _, evaluations = run_live(candles, strategy, params, risk, capital, bursts)
    for fills, first, newest in evaluations:
        old = [f for f in fills if f.index != newest]
        # A decision on an older candle is never acted on, except a risk exit crossed in
        # the gap, which is then the evaluation's only order.
        assert all(not f.is_entry and f.reason is not ExitReason.SIGNAL for f in old)
        if old:
            assert len(fills) == 1
        assert len(fills) <= 2  # a futures reversal: an exit and the opposite entry
        assert all(first <= f.index <= newest for f in fills)
