"""A bot's state follows its engine: status by daily limits, fields mirrored, engine stored."""

from __future__ import annotations

import math
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from adapters.persistence.trading_state_codec import decode_trading_state, encode_trading_state
from domain.bots.bot_state import BotState, BotStatus
from domain.trading.live import LiveProgress, advance
from domain.trading.risk_engine import Side, TradingState
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries
from domain.trading.strategies import StrategyParams
from domain.trading.strategy_state import initial_state

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DAY = 86_400_000
TODAY = int(NOW.timestamp()) // 86_400


def state(status: BotStatus) -> BotState:
    return BotState(bot_config_id=1, user_id=1, last_updated_at=NOW, status=status)


def rising() -> CandleSeries:
    closes = [10.0] * 5 + [11.0]
    n = len(closes)
    return CandleSeries(
        [TODAY * DAY + i * 3_600_000 for i in range(n)], closes, [c * 1.001 for c in closes],
        [c * 0.999 for c in closes], closes,
    )  # fmt: skip


def test_a_pending_bot_runs_after_its_first_evaluation_and_mirrors_the_engine() -> None:
    bot = state(BotStatus.PENDING)
    risk = RiskParams(fee_rate=0.0, stop_loss_perc=50.0, max_daily_trades=5)
    progress = advance(
        TradingState(cash=1000.0),
        initial_state(),
        rising(),
        "ema_crossover",
        StrategyParams(ema_fast=2, ema_slow=3),
        risk,
        None,
    )
    assert progress.state.in_position
    changed = bot.record_progress(progress, risk, NOW)
    assert changed is BotStatus.RUNNING
    assert bot.in_position
    assert bot.position_side == "long"
    assert bot.entry_price == Decimal("11.0")
    assert bot.stop_loss_price == Decimal("5.5")
    assert bot.take_profit_price is None
    assert bot.current_position_size_coins is not None
    assert bot.current_position_size_coins > 0
    assert bot.daily_trades_count == 1
    assert bot.last_candle_ms == TODAY * DAY + 5 * 3_600_000
    assert bot.engine == progress.state


def test_a_running_bot_waits_on_a_daily_limit_and_runs_again_the_next_day() -> None:
    bot = state(BotStatus.RUNNING)
    risk = RiskParams(max_daily_trades=1)
    blocked = TradingState(cash=1.0, day=TODAY, daily_entries=1)
    progress = LiveProgress(blocked, initial_state(), [], TODAY * DAY)
    assert bot.record_progress(progress, risk, NOW) is BotStatus.WAITING
    tomorrow = NOW + timedelta(days=1)
    next_day = LiveProgress(
        TradingState(cash=1.0, day=TODAY + 1, daily_entries=0), initial_state(), [], None
    )
    assert bot.record_progress(next_day, risk, tomorrow) is BotStatus.RUNNING
    assert bot.record_progress(next_day, risk, tomorrow) is None


def test_at_midnight_utc_the_daily_counters_reset_before_the_new_days_first_candle() -> None:
    bot = state(BotStatus.RUNNING)
    risk = RiskParams(max_daily_trades=1)
    blocked = TradingState(cash=1.0, day=TODAY, daily_entries=1, daily_pnl=-5.0)
    progress = LiveProgress(blocked, initial_state(), [], TODAY * DAY)
    assert bot.record_progress(progress, risk, NOW) is BotStatus.WAITING
    assert bot.daily_trades_count == 1
    just_after_midnight = NOW + timedelta(days=1, seconds=5)
    assert bot.record_progress(progress, risk, just_after_midnight) is BotStatus.RUNNING
    assert bot.daily_trades_count == 0
    assert bot.daily_pnl == 0


finite_or_nan = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.just(math.nan))


@given(
    side=st.sampled_from(list(Side)),
    prices=st.lists(finite_or_nan, min_size=6, max_size=6),
    cash=st.floats(min_value=0, max_value=1e12),
    entries=st.integers(min_value=0, max_value=100),
    halted=st.booleans(),
)
def test_the_engine_state_survives_storage_exactly(
    side: Side, prices: list[float], cash: float, entries: int, halted: bool
) -> None:
    original = TradingState(
        cash=cash,
        side=side,
        stop_loss_price=prices[0],
        take_profit_price=prices[1],
        trailing_stop_price=prices[2],
        extreme_price=prices[3],
        liquidation_price=prices[4],
        entry_price=0.0 if math.isnan(prices[5]) else prices[5],
        daily_entries=entries,
        halted=halted,
        day=19_000,
    )
    restored = decode_trading_state(encode_trading_state(original))
    assert restored is not None
    for f in fields(TradingState):
        a, b = getattr(original, f.name), getattr(restored, f.name)
        assert a == b or (math.isnan(a) and math.isnan(b)), f.name
    assert decode_trading_state(None) is None


def test_forgetting_a_position_returns_its_cost_to_the_engines_cash() -> None:
    bot = state(BotStatus.STOPPED)
    risk = RiskParams(fee_rate=0.0, stop_loss_perc=50.0)
    progress = advance(
        TradingState(cash=1000.0), initial_state(), rising(), "ema_crossover",
        StrategyParams(ema_fast=2, ema_slow=3), risk, None,
    )  # fmt: skip
    bot.record_progress(progress, risk, NOW)
    assert bot.engine is not None and bot.engine.in_position
    bot.forget_position()
    assert bot.engine.side is Side.FLAT
    assert bot.engine.cash == 1000.0
    assert (bot.in_position, bot.entry_price, bot.stop_loss_price) == (False, None, None)
    flat = bot.engine
    assert flat.without_position() is flat
