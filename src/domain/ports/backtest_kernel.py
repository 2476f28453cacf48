from __future__ import annotations

from typing import Protocol

from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries, SimulationResult
from domain.trading.strategies import StrategyParams


class BacktestKernel(Protocol):
    """Runs the strategy and the risk engine over a candle series.

    Every implementation must decide exactly as domain.trading.simulation.simulate
    (the reference): same trades, same reasons, prices and PnL within 1e-9.
    """

    def run(
        self,
        candles: CandleSeries,
        strategy: str,
        strategy_params: StrategyParams,
        risk: RiskParams,
        initial_capital: float,
    ) -> SimulationResult: ...
