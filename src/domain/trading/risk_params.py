from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidInput

DEFAULT_SPOT_FEE_RATE = 0.001
DEFAULT_FUTURES_FEE_RATE = 0.0004
DEFAULT_MAINTENANCE_MARGIN_RATE = 0.004
MAX_LEVERAGE = 125


@dataclass(frozen=True, slots=True)
class RiskParams:
    """Everything the risk engine needs, as floats (decisions are computed in float64).

    Percentages are in percent (2.5 = 2.5 %); 0 switches an optional rule off.
    Rates (fees, slippage, maintenance margin) are fractions (0.001 = 0.1 %).
    """

    futures: bool = False
    leverage: int = 1
    fee_rate: float = DEFAULT_SPOT_FEE_RATE
    slippage_rate: float = 0.0
    stop_loss_perc: float = 0.0
    take_profit_perc: float = 0.0
    trailing_stop_perc: float = 0.0
    trailing_stop_active: bool = False
    position_size_perc: float = 100.0
    position_size_fixed: float = 0.0
    max_daily_trades: int = 5
    daily_target_perc: float = 0.0
    max_daily_loss_perc: float = 0.0
    maintenance_margin_rate: float = DEFAULT_MAINTENANCE_MARGIN_RATE

    def __post_init__(self) -> None:
        problems: dict[str, list[str]] = {}
        if not 1 <= self.leverage <= MAX_LEVERAGE:
            problems["leverage"] = [f"must be 1 to {MAX_LEVERAGE}"]
        elif self.leverage > 1 and not self.futures:
            problems["leverage"] = ["leverage above 1 needs futures"]
        for name in ("fee_rate", "slippage_rate", "maintenance_margin_rate"):
            if not 0.0 <= getattr(self, name) < 0.5:
                problems[name] = ["must be a fraction from 0 to below 0.5"]
        for name in (
            "stop_loss_perc",
            "take_profit_perc",
            "trailing_stop_perc",
            "daily_target_perc",
            "max_daily_loss_perc",
        ):
            if not 0.0 <= getattr(self, name) <= 100.0:
                problems[name] = ["must be a percentage from 0 (off) to 100"]
        if not 0.0 < self.position_size_perc <= 100.0:
            problems["position_size_perc"] = ["must be above 0 and at most 100"]
        if self.position_size_fixed < 0.0:
            problems["position_size_fixed"] = ["must not be negative"]
        if self.max_daily_trades < 1:
            problems["max_daily_trades"] = ["must be at least 1"]
        if problems:
            raise InvalidInput("Validation failed", details=problems)
