from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from domain.bots.execution import Execution
from domain.errors import InvalidInput

# Trades are stored with 18 decimal places; a volume-weighted price is cut there.
_PRICE_PLACES = Decimal("1e-18")


class TradeSide(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


@dataclass(eq=False, slots=True)
class Trade:
    """One fill, as the seed's trade record: what was bought or sold, at what price and cost.

    `bot_config_id` is None for the fill of a manual order (POST /orders)."""

    user_id: int
    bot_config_id: int | None
    symbol: str
    side: TradeSide
    order_type: str
    price: Decimal
    quantity_filled: Decimal
    quote_quantity_filled: Decimal
    timestamp: datetime
    binance_order_id: str | None = None
    commission_amount: Decimal = Decimal(0)
    commission_asset: str | None = None
    pnl: Decimal | None = None
    realized_pnl: Decimal | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        problems: dict[str, list[str]] = {}
        if not self.price.is_finite() or self.price <= 0:
            problems["price"] = ["a positive amount"]
        for name in ("quantity_filled", "quote_quantity_filled", "commission_amount"):
            value: Decimal = getattr(self, name)
            if not value.is_finite() or value < 0:
                problems[name] = ["a non-negative amount"]
        for name in ("pnl", "realized_pnl"):
            optional: Decimal | None = getattr(self, name)
            if optional is not None and not optional.is_finite():
                problems[name] = ["a finite amount"]
        if self.timestamp.tzinfo is None:
            problems["timestamp"] = ["needs a UTC offset"]
        if problems:
            raise InvalidInput("Validation failed", details=problems)

    @classmethod
    def from_fills(
        cls,
        user_id: int,
        bot_config_id: int | None,
        symbol: str,
        side: TradeSide,
        order_type: str,
        execution: Execution,
        exchange_order_id: str | None,
        pnl: Decimal | None,
        fallback_time: datetime,
    ) -> Trade:
        """One order's fills as one trade: the volume-weighted price, the quantity and
        quote filled, the commission in the asset charged (valued in quote when the fills
        were charged in several assets) and, for an exit, its realised PnL."""
        assets = execution.fee_assets
        asset: str | None
        if len(assets) > 1:
            commission, asset = execution.fees_in_quote, execution.quote_asset
        else:
            commission = sum((f.fee for f in execution.fills), Decimal(0))
            asset = next(iter(assets), None)
        return cls(
            user_id=user_id,
            bot_config_id=bot_config_id,
            symbol=symbol,
            side=side,
            order_type=order_type,
            price=execution.average_price.quantize(_PRICE_PLACES),
            quantity_filled=execution.quantity,
            quote_quantity_filled=execution.quote,
            timestamp=execution.last_time or fallback_time,
            binance_order_id=exchange_order_id,
            commission_amount=commission,
            commission_asset=asset,
            pnl=pnl,
            realized_pnl=pnl,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Trade) and self.id is not None and self.id == other.id

    def __hash__(self) -> int:
        return hash(("Trade", self.id))
