"""What an optimisation runs: every combination of its grid validated exactly as a single
backtest with those parameters would be, and turned into the kernel's inputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from application.backtesting.run_backtest import (
    BACKTEST_PARAMETERS,
    RunBacktestCommand,
    backtest_settings,
)
from domain.backtesting.optimization import DEFAULT_TOP_N, OptimizationMetric
from domain.backtesting.parameter_grid import ParameterGrid, Value, ValueRange
from domain.bots.bot_config import FIELD_RANGES
from domain.errors import InvalidInput
from domain.exchange.market import MarketType
from domain.trading.risk_params import RiskParams
from domain.trading.strategies import StrategyParams

# The numeric parameters of a backtest: each may be given a range of values.
RANGEABLE = frozenset(BACKTEST_PARAMETERS - {"trailing_stop_active"})
WHOLE_NUMBERS = frozenset(
    name for name in RANGEABLE if name in FIELD_RANGES and FIELD_RANGES[name].kind is int
)


@dataclass(frozen=True, slots=True)
class OptimizeCommand:
    """A backtest request, with ranges for some of its numeric parameters."""

    backtest: RunBacktestCommand
    ranges: Mapping[str, ValueRange | Sequence[float]]
    metric: str = OptimizationMetric.TOTAL_RETURN.value
    top_n: int = DEFAULT_TOP_N


@dataclass(frozen=True, slots=True)
class SweepPlan:
    """Set i of the grid runs with strategy_params[i] and risks[i]."""

    grid: ParameterGrid
    base: Mapping[str, Any]
    strategy: str
    symbol: str
    market_type: MarketType
    strategy_params: Sequence[StrategyParams] = field(repr=False)
    risks: Sequence[RiskParams] = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.strategy_params)

    def parameters(self, index: int) -> dict[str, Any]:
        """The `parameters` of a single backtest that runs set `index`."""
        return {**self.base, **self.grid.combination(index)}


def optimization_grid(ranges: Mapping[str, ValueRange | Sequence[float]]) -> ParameterGrid:
    """The grid of the ranges; InvalidInput for names that cannot be ranged, bad ranges,
    or more combinations than the cap (saying how many)."""
    problems = {
        f"ranges.{name}": ["not a numeric backtest parameter"]
        for name in sorted(set(ranges) - RANGEABLE)
    }
    if problems:
        raise InvalidInput("Validation failed", details=problems)
    return ParameterGrid.of(ranges, whole=WHOLE_NUMBERS)


def plan_sweep(command: RunBacktestCommand, grid: ParameterGrid, now: datetime) -> SweepPlan:
    """Every combination checked by the single backtest's own validation: the first
    invalid one is a 400 naming `ranges.<name>` and the combination's values. CPU-bound
    (tens of microseconds a combination): run it off the event loop."""
    base = dict(command.parameters)
    twice = sorted(set(base) & set(grid.names))
    if twice:
        raise InvalidInput(
            "Validation failed",
            details={f"ranges.{name}": ["also set in parameters: give it once"] for name in twice},
        )
    strategies: dict[StrategyParams, StrategyParams] = {}
    risks: dict[RiskParams, RiskParams] = {}
    strategy_params: list[StrategyParams] = []
    set_risks: list[RiskParams] = []
    config = None
    for combination in grid:
        try:
            config, risk = backtest_settings(
                replace(command, parameters={**base, **combination}), now
            )
        except InvalidInput as exc:
            raise _at(exc, combination) from None
        params = config.strategy_params()
        strategy_params.append(strategies.setdefault(params, params))
        set_risks.append(risks.setdefault(risk, risk))
    assert config is not None, "a grid has at least one combination"
    return SweepPlan(
        grid=grid,
        base=base,
        strategy=config.strategy,
        symbol=config.symbol,
        market_type=config.market_type,
        strategy_params=strategy_params,
        risks=set_risks,
    )


def _at(exc: InvalidInput, combination: Mapping[str, Value]) -> InvalidInput:
    """The single backtest's error, with ranged parameters named as `ranges.<name>` and
    the combination that failed."""
    details = exc.details if isinstance(exc.details, dict) else {}
    where = ", ".join(f"{name}={value}" for name, value in combination.items())
    renamed: dict[str, Any] = {}
    for key, messages in details.items():
        name = key.removeprefix("parameters.")
        if name in combination:
            listed = messages if isinstance(messages, list) else [messages]
            renamed[f"ranges.{name}"] = [f"{m} (with {where})" for m in listed]
        else:
            renamed[key] = messages
    return InvalidInput(exc.message, details=renamed or exc.details)
