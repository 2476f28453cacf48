"""BotConfig invariants: each violation is InvalidInput naming the field in `details`;
`with_changes` refuses unsafe fields of a running bot; `risk_params` maps custom_* fields."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.bots.bot_config import EDITABLE_FIELDS, UNSAFE_WHILE_RUNNING, BotConfig
from domain.bots.errors import BotIsRunning
from domain.errors import Conflict, InvalidInput
from domain.market_data.timeframe import SUPPORTED_TIMEFRAMES
from domain.trading.risk_params import RiskParams
from domain.trading.strategies import StrategyName, StrategyParams

NOW = datetime(2024, 1, 1, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
PERCENT_FIELDS = (
    "daily_target_perc",
    "max_daily_loss_perc",
    "position_size_perc",
    "stop_loss_perc",
    "take_profit_perc",
    "trailing_stop_perc",
    "custom_stop_loss",
    "custom_take_profit",
    "custom_trailing_stop",
)
PERIOD_FIELDS = (
    "ema_fast",
    "ema_slow",
    "rsi_period",
    "ema_period",
    "custom_ema_fast",
    "custom_ema_slow",
    "custom_rsi_period",
)
CUSTOM = {
    "strategy": "custom",
    "custom_ema_fast": 5,
    "custom_ema_slow": 20,
    "custom_rsi_period": 7,
    "custom_rsi_oversold": 25,
    "custom_rsi_overbought": 75,
}


def make(**overrides: Any) -> BotConfig:
    fields: dict[str, Any] = {
        "user_id": 1,
        "name": "My bot",
        "symbol": "BTCUSDT",
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(overrides)
    return BotConfig(**fields)


def problems(**overrides: Any) -> dict[str, list[str]]:
    with pytest.raises(InvalidInput) as raised:
        make(**overrides)
    details = raised.value.details
    assert isinstance(details, dict)
    return details


def test_the_defaults_are_a_valid_configuration() -> None:
    config = make()
    assert config.strategy == "ema_rsi"
    assert config.symbol == "BTCUSDT"
    assert make(symbol="btc/usdt").symbol == "BTCUSDT"


# --- percentages in (0, 100] -----------------------------------------------------------------


@pytest.mark.parametrize("field", PERCENT_FIELDS)
@pytest.mark.parametrize("value", [0.0, -1.0, 100.0001, 1e9, math.inf, -math.inf])
def test_a_percentage_outside_0_exclusive_to_100_names_its_field(field: str, value: float) -> None:
    assert field in problems(**{field: value})


@pytest.mark.parametrize("field", PERCENT_FIELDS)
@pytest.mark.parametrize("value", [0.0001, 2.5, 100.0])
def test_a_percentage_inside_0_exclusive_to_100_is_accepted(field: str, value: float) -> None:
    assert getattr(make(**{field: value}), field) == value


@given(field=st.sampled_from(PERCENT_FIELDS), value=st.floats(allow_nan=False))
def test_a_percentage_is_valid_exactly_when_it_lies_in_0_exclusive_to_100(
    field: str, value: float
) -> None:
    if 0 < value <= 100:
        make(**{field: value})
    else:
        assert field in problems(**{field: value})


@pytest.mark.parametrize("field", ["stop_loss_perc", "position_size_perc"])
def test_a_nan_percentage_is_rejected(field: str) -> None:
    assert field in problems(**{field: math.nan})


# --- periods, EMA order, RSI levels ----------------------------------------------------------


@pytest.mark.parametrize("field", PERIOD_FIELDS)
@pytest.mark.parametrize("value", [1, 0, -3, 501])
def test_a_period_below_2_or_above_500_names_its_field(field: str, value: int) -> None:
    extra = CUSTOM if field.startswith("custom_") else {}
    assert field in problems(**{**extra, field: value})


@pytest.mark.parametrize("field", ["rsi_period", "ema_period", "custom_rsi_period"])
def test_a_period_of_2_is_accepted(field: str) -> None:
    extra = CUSTOM if field.startswith("custom_") else {}
    assert getattr(make(**{**extra, field: 2}), field) == 2


@given(fast=st.integers(2, 500), slow=st.integers(2, 500))
def test_ema_fast_must_be_below_ema_slow(fast: int, slow: int) -> None:
    if fast < slow:
        make(ema_fast=fast, ema_slow=slow)
    else:
        assert "ema_fast" in problems(ema_fast=fast, ema_slow=slow)


@given(fast=st.integers(2, 100), slow=st.integers(2, 100))
def test_custom_ema_fast_must_be_below_custom_ema_slow(fast: int, slow: int) -> None:
    changes = {**CUSTOM, "custom_ema_fast": fast, "custom_ema_slow": slow}
    if fast < slow:
        make(**changes)
    else:
        assert "custom_ema_fast" in problems(**changes)


@given(oversold=st.integers(-5, 105), overbought=st.integers(-5, 105))
def test_rsi_levels_need_0_below_oversold_below_overbought_below_100(
    oversold: int, overbought: int
) -> None:
    if 0 < oversold < overbought < 100:
        make(rsi_oversold=oversold, rsi_overbought=overbought)
    else:
        details = problems(rsi_oversold=oversold, rsi_overbought=overbought)
        assert "rsi_oversold" in details or "rsi_overbought" in details
        if oversold >= overbought:
            assert "rsi_oversold" in details


@given(oversold=st.integers(-5, 105), overbought=st.integers(-5, 105))
def test_custom_rsi_levels_follow_the_same_rule(oversold: int, overbought: int) -> None:
    changes = {**CUSTOM, "custom_rsi_oversold": oversold, "custom_rsi_overbought": overbought}
    if 0 < oversold < overbought < 100:
        make(**changes)
    else:
        assert "custom_rsi_oversold" in problems(**changes)


def test_a_single_custom_rsi_level_without_the_other_is_refused() -> None:
    assert "custom_rsi_oversold" in problems(custom_rsi_oversold=20)
    assert "custom_rsi_oversold" in problems(custom_rsi_overbought=80)


# --- leverage, sizing, daily trades, timeframe, strategy -------------------------------------


@pytest.mark.parametrize("leverage", [0, -1, 126, 1000])
def test_leverage_outside_1_to_125_names_leverage(leverage: int) -> None:
    assert "leverage" in problems(leverage=leverage, position_type="futures")


@pytest.mark.parametrize("leverage", [1, 2, 20, 125])
def test_leverage_from_1_to_125_is_accepted_on_futures(leverage: int) -> None:
    assert make(leverage=leverage, position_type="futures").leverage == leverage


@pytest.mark.parametrize("leverage", [2, 125])
def test_leverage_above_1_needs_futures(leverage: int) -> None:
    assert "leverage" in problems(leverage=leverage, position_type="spot")


def test_an_unknown_position_type_is_refused() -> None:
    assert "position_type" in problems(position_type="margin")


def test_a_position_size_is_required_either_fixed_or_percent() -> None:
    assert "position_size_perc" in problems(position_size_perc=None, position_size_fixed=None)
    only_fixed = make(position_size_perc=None, position_size_fixed=Decimal(50))
    assert only_fixed.position_size_fixed == Decimal(50)
    assert make(position_size_perc=5.0, position_size_fixed=None).position_size_perc == 5.0


@pytest.mark.parametrize("field", ["position_size_fixed", "initial_capital", "transfer_amount"])
@pytest.mark.parametrize("value", [Decimal(0), Decimal(-1), Decimal("NaN"), Decimal("Infinity")])
def test_amounts_must_be_positive_and_finite(field: str, value: Decimal) -> None:
    assert field in problems(**{field: value})


@pytest.mark.parametrize("value", [0, -1, 1001])
def test_max_daily_trades_outside_1_to_1000_names_its_field(value: int) -> None:
    assert "max_daily_trades" in problems(max_daily_trades=value)


def test_one_daily_trade_is_enough() -> None:
    assert make(max_daily_trades=1).max_daily_trades == 1


@pytest.mark.parametrize("timeframe", SUPPORTED_TIMEFRAMES)
def test_every_supported_timeframe_is_accepted(timeframe: str) -> None:
    assert make(timeframe=timeframe).timeframe == timeframe


@pytest.mark.parametrize("timeframe", ["2m", "1w", "60", "", "1H"])
def test_an_unsupported_timeframe_names_timeframe(timeframe: str) -> None:
    assert "timeframe" in problems(timeframe=timeframe)


@pytest.mark.parametrize("strategy", ["ema_crossover", "ema_rsi", "rsi_reversion", "ema_trend"])
def test_every_registry_strategy_is_accepted(strategy: str) -> None:
    assert make(strategy=strategy).strategy == strategy


@pytest.mark.parametrize("strategy", ["martingale", "", "EMA_RSI"])
def test_a_strategy_outside_the_registry_names_strategy(strategy: str) -> None:
    assert "strategy" in problems(strategy=strategy)


@pytest.mark.parametrize(
    "field",
    [
        "custom_ema_fast",
        "custom_ema_slow",
        "custom_rsi_period",
        "custom_rsi_oversold",
        "custom_rsi_overbought",
    ],
)
def test_the_custom_strategy_needs_each_of_its_custom_fields(field: str) -> None:
    assert field in problems(**{**CUSTOM, field: None})


def test_the_custom_strategy_with_its_fields_is_accepted() -> None:
    assert make(**CUSTOM).strategy == "custom"


def test_auto_transfer_needs_futures_and_an_amount() -> None:
    assert "auto_transfer_funds" in problems(auto_transfer_funds=True, transfer_amount=Decimal(1))
    assert "transfer_amount" in problems(auto_transfer_funds=True, position_type="futures")
    make(auto_transfer_funds=True, position_type="futures", transfer_amount=Decimal(100))


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_name_must_have_1_to_100_characters(name: str) -> None:
    assert "name" in problems(name=name)


def test_an_invalid_symbol_names_symbol() -> None:
    with pytest.raises(InvalidInput) as raised:
        make(symbol="not a symbol!")
    assert "symbol" in raised.value.details


# --- with_changes ----------------------------------------------------------------------------

# A valid different value for every field that must not change under a running bot.
UNSAFE_CHANGES: dict[str, Any] = {
    "symbol": "ETHUSDT",
    "timeframe": "4h",
    "position_type": "spot",
    "leverage": 3,
    "api_key_id": 7,
    "initial_capital": Decimal(2000),
    "strategy": "ema_crossover",
    "ema_fast": 5,
    "ema_slow": 30,
    "rsi_period": 7,
    "rsi_oversold": 25,
    "rsi_overbought": 75,
    "ema_period": 100,
    "custom_ema_fast": 4,
    "custom_ema_slow": 30,
    "custom_rsi_period": 9,
    "custom_rsi_oversold": 20,
    "custom_rsi_overbought": 80,
    "transfer_amount": Decimal(50),
    "auto_transfer_funds": True,
}
SAFE_CHANGES: dict[str, Any] = {
    "name": "Renamed",
    "is_active": False,
    "daily_target_perc": 3.0,
    "max_daily_loss_perc": 2.0,
    "position_size_perc": 20.0,
    "position_size_fixed": Decimal(100),
    "stop_loss_perc": 1.5,
    "take_profit_perc": 6.0,
    "trailing_stop_perc": 1.0,
    "trailing_stop_active": True,
    "max_daily_trades": 9,
    "check_interval_seconds": 30,
    "custom_stop_loss": 3.0,
    "custom_take_profit": 9.0,
    "custom_trailing_stop": 2.0,
}


def running_base() -> BotConfig:
    return make(
        **CUSTOM,
        position_type="futures",
        leverage=2,
        transfer_amount=Decimal(10),
        api_key_id=1,
    )


def test_the_unsafe_and_safe_lists_cover_every_editable_field() -> None:
    assert set(UNSAFE_CHANGES) == UNSAFE_WHILE_RUNNING
    assert set(UNSAFE_CHANGES) | set(SAFE_CHANGES) == set(EDITABLE_FIELDS)
    assert not set(UNSAFE_CHANGES) & set(SAFE_CHANGES)


@pytest.mark.parametrize("field", sorted(UNSAFE_WHILE_RUNNING))
def test_an_unsafe_field_of_a_running_bot_is_refused_with_the_field_named(field: str) -> None:
    base = running_base()
    value = UNSAFE_CHANGES[field]
    assert getattr(base, field) != value
    with pytest.raises(BotIsRunning) as raised:
        base.with_changes({field: value}, running=True, now=LATER)
    assert isinstance(raised.value, Conflict)
    assert raised.value.details == {"fields": [field]}


@given(
    unsafe=st.sets(st.sampled_from(sorted(UNSAFE_CHANGES)), min_size=1),
    safe=st.sets(st.sampled_from(sorted(SAFE_CHANGES))),
)
def test_every_changed_unsafe_field_is_listed_sorted_and_nothing_is_applied(
    unsafe: set[str], safe: set[str]
) -> None:
    base = running_base()
    changes = {**{f: UNSAFE_CHANGES[f] for f in unsafe}, **{f: SAFE_CHANGES[f] for f in safe}}
    with pytest.raises(BotIsRunning) as raised:
        base.with_changes(changes, running=True, now=LATER)
    assert raised.value.details == {"fields": sorted(unsafe)}
    assert base.updated_at == NOW


@given(safe=st.sets(st.sampled_from(sorted(SAFE_CHANGES)), min_size=1))
def test_safe_fields_of_a_running_bot_are_applied(safe: set[str]) -> None:
    base = running_base()
    changes = {f: SAFE_CHANGES[f] for f in safe}
    updated = base.with_changes(changes, running=True, now=LATER)
    for field, value in changes.items():
        assert getattr(updated, field) == (value.strip() if field == "name" else value)
    assert updated.updated_at == LATER
    assert base.updated_at == NOW  # the original is untouched
    assert base.name == "My bot"


def test_an_unsafe_field_set_to_its_current_value_is_not_a_change() -> None:
    base = running_base()
    same = {field: getattr(base, field) for field in UNSAFE_WHILE_RUNNING}
    updated = base.with_changes({**same, "name": "Other"}, running=True, now=LATER)
    assert updated.name == "Other"


def test_a_stopped_bot_may_change_unsafe_fields() -> None:
    base = running_base()
    updated = base.with_changes(
        {"symbol": "ETHUSDT", "timeframe": "4h", "ema_fast": 5, "ema_slow": 30},
        running=False,
        now=LATER,
    )
    assert (updated.symbol, updated.timeframe, updated.ema_fast) == ("ETHUSDT", "4h", 5)


def test_with_changes_validates_the_result() -> None:
    with pytest.raises(InvalidInput) as raised:
        make().with_changes({"ema_fast": 30}, running=False, now=LATER)
    assert "ema_fast" in raised.value.details


@pytest.mark.parametrize("field", ["id", "user_id", "created_at", "updated_at", "colour"])
def test_fields_that_are_not_editable_are_refused_by_name(field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        make().with_changes({field: 1}, running=False, now=LATER)
    assert raised.value.details == {field: ["cannot be changed"]}


# --- strategy_params and risk_params ---------------------------------------------------------


def test_risk_params_maps_the_custom_stop_target_and_trailing_for_the_custom_strategy() -> None:
    config = make(
        **CUSTOM,
        stop_loss_perc=2.0,
        take_profit_perc=4.0,
        trailing_stop_perc=1.0,
        trailing_stop_active=True,
        custom_stop_loss=3.0,
        custom_take_profit=9.0,
        custom_trailing_stop=2.5,
    )
    risk = config.risk_params()
    assert (risk.stop_loss_perc, risk.take_profit_perc, risk.trailing_stop_perc) == (3.0, 9.0, 2.5)
    assert risk.trailing_stop_active


def test_the_custom_strategy_falls_back_to_the_generic_risk_fields_when_customs_are_unset() -> None:
    config = make(**CUSTOM, stop_loss_perc=2.0, take_profit_perc=4.0, trailing_stop_perc=1.0)
    risk = config.risk_params()
    assert (risk.stop_loss_perc, risk.take_profit_perc, risk.trailing_stop_perc) == (2.0, 4.0, 1.0)


def test_other_strategies_ignore_the_custom_risk_fields() -> None:
    config = make(
        strategy="ema_rsi",
        stop_loss_perc=2.0,
        take_profit_perc=4.0,
        custom_stop_loss=3.0,
        custom_take_profit=9.0,
        custom_trailing_stop=2.5,
    )
    risk = config.risk_params()
    assert (risk.stop_loss_perc, risk.take_profit_perc, risk.trailing_stop_perc) == (2.0, 4.0, 0.0)


def test_strategy_params_maps_the_custom_periods_and_levels_for_the_custom_strategy() -> None:
    assert make(**CUSTOM).strategy_params() == StrategyParams(
        ema_fast=5, ema_slow=20, rsi_period=7, rsi_oversold=25.0, rsi_overbought=75.0, ema_period=50
    )
    assert make(**{**CUSTOM, "strategy": "ema_rsi"}).strategy_params() == StrategyParams(
        ema_fast=9,
        ema_slow=21,
        rsi_period=14,
        rsi_oversold=30.0,
        rsi_overbought=70.0,
        ema_period=50,
    )


def test_risk_params_uses_the_market_default_fee_and_the_sizing_fields() -> None:
    spot = make(position_size_perc=None, position_size_fixed=Decimal("250.5")).risk_params()
    assert spot == RiskParams(
        futures=False,
        leverage=1,
        fee_rate=0.001,
        stop_loss_perc=2.0,
        take_profit_perc=4.0,
        position_size_perc=100.0,
        position_size_fixed=250.5,
        max_daily_trades=5,
    )
    futures = make(position_type="futures", leverage=10, max_daily_loss_perc=3.0).risk_params()
    assert (futures.futures, futures.leverage, futures.fee_rate) == (True, 10, 0.0004)
    assert futures.position_size_perc == 10.0
    assert futures.max_daily_loss_perc == 3.0
    assert make().risk_params(fee_rate=0.002, slippage_rate=0.001).fee_rate == 0.002


@given(
    strategy=st.sampled_from([s.value for s in StrategyName]),
    futures=st.booleans(),
    leverage=st.integers(1, 125),
    stop=st.one_of(st.none(), st.floats(0.01, 100)),
    target=st.one_of(st.none(), st.floats(0.01, 100)),
    daily=st.one_of(st.none(), st.floats(0.01, 100)),
)
def test_every_valid_config_gives_valid_risk_params(
    strategy: str,
    futures: bool,
    leverage: int,
    stop: float | None,
    target: float | None,
    daily: float | None,
) -> None:
    extra = CUSTOM if strategy == "custom" else {}
    config = make(
        **{**extra, "strategy": strategy},
        position_type="futures" if futures else "spot",
        leverage=leverage if futures else 1,
        stop_loss_perc=stop,
        take_profit_perc=target,
        max_daily_loss_perc=daily,
        daily_target_perc=daily,
    )
    risk = config.risk_params()  # RiskParams validates itself
    assert risk.futures is futures
    assert risk.stop_loss_perc == (stop or 0.0)
