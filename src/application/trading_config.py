"""GET /config: what a client needs to build its forms, generated from the domain."""

from __future__ import annotations

from dataclasses import dataclass, fields

from domain.bots.bot_config import FIELD_RANGES, BotConfig
from domain.exchange.market import MarketType
from domain.market_data.timeframe import SUPPORTED_TIMEFRAMES
from domain.trading.risk_params import (
    DEFAULT_FUTURES_FEE_RATE,
    DEFAULT_MAINTENANCE_MARGIN_RATE,
    DEFAULT_SPOT_FEE_RATE,
    MAX_LEVERAGE,
)
from domain.trading.strategies import REGISTRY

RISK_FIELDS = (
    "stop_loss_perc",
    "take_profit_perc",
    "trailing_stop_perc",
    "position_size_perc",
    "daily_target_perc",
    "max_daily_loss_perc",
    "max_daily_trades",
    "leverage",
    "check_interval_seconds",
)


@dataclass(frozen=True, slots=True)
class ParameterInfo:
    name: str
    type: str  # "integer" or "number"
    minimum: float
    maximum: float
    exclusive_minimum: bool
    default: float | None


@dataclass(frozen=True, slots=True)
class StrategyInfo:
    name: str
    description: str
    parameters: list[ParameterInfo]


@dataclass(frozen=True, slots=True)
class TradingConfig:
    strategies: list[StrategyInfo]
    risk_parameters: list[ParameterInfo]
    timeframes: list[str]
    market_types: list[str]
    leverage: dict[str, tuple[int, int]]
    default_fee_rates: dict[str, float]
    maintenance_margin_rate: float


def _defaults() -> dict[str, object]:
    return {f.name: f.default for f in fields(BotConfig)}


def parameter_info(name: str) -> ParameterInfo:
    bounds = FIELD_RANGES[name]
    default = _defaults().get(name)
    return ParameterInfo(
        name=name,
        type="integer" if bounds.kind is int else "number",
        minimum=bounds.minimum,
        maximum=bounds.maximum,
        exclusive_minimum=bounds.exclusive_minimum,
        default=float(default) if isinstance(default, int | float) else None,
    )


def get_trading_config() -> TradingConfig:
    return TradingConfig(
        strategies=[
            StrategyInfo(
                name=spec.name.value,
                description=spec.description,
                parameters=[parameter_info(field) for field in spec.fields],
            )
            for spec in REGISTRY.values()
        ],
        risk_parameters=[parameter_info(field) for field in RISK_FIELDS],
        timeframes=list(SUPPORTED_TIMEFRAMES),
        market_types=[m.value for m in MarketType],
        leverage={MarketType.SPOT.value: (1, 1), MarketType.FUTURES.value: (1, MAX_LEVERAGE)},
        default_fee_rates={
            MarketType.SPOT.value: DEFAULT_SPOT_FEE_RATE,
            MarketType.FUTURES.value: DEFAULT_FUTURES_FEE_RATE,
        },
        maintenance_margin_rate=DEFAULT_MAINTENANCE_MARGIN_RATE,
    )
