from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries
from domain.trading.strategies import StrategyParams


@dataclass(frozen=True, slots=True)
class SweepOutcome:
    """Per parameter set, in the order given: final capital, number of trades, winners."""

    final_capital: Sequence[float]
    trades: Sequence[int]
    wins: Sequence[int]


class ParameterSweep(Protocol):
    """Backtests many parameter sets over one candle series, away from the event loop.

    Set i runs with param_sets[i] and risks[i]; its final capital, trades and winners
    are exactly what BacktestKernel.run gives for that set alone.
    """

    async def run(
        self,
        candles: CandleSeries,
        strategy: str,
        param_sets: Sequence[StrategyParams],
        risks: Sequence[RiskParams],
        initial_capital: float,
    ) -> SweepOutcome: ...

    async def close(self) -> None:
        """Release the workers (on shutdown); a later run may start new ones."""
        ...
