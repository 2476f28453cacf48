"""Trade bodies (seed field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from domain.bots.trade import Trade, TradeSide
from entrypoints.http.json_response import Money
from entrypoints.http.request_fields import RecordId, UtcTime


class CreateTradeRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A fill of one of the user's bots; `commission_amount` defaults to 0."""

    bot_config_id: RecordId
    symbol: Annotated[str, msgspec.Meta(min_length=1, max_length=32, examples=["BTCUSDT"])]
    side: TradeSide
    order_type: Annotated[str, msgspec.Meta(min_length=1, max_length=32, examples=["MARKET"])]
    price: Money
    quantity_filled: Money
    quote_quantity_filled: Money
    timestamp: UtcTime
    binance_order_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    commission_amount: Money | UnsetType = UNSET
    commission_asset: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None
    pnl: Money | None = None
    realized_pnl: Money | None = None


class TradeResponse(msgspec.Struct):
    id: int
    bot_config_id: int | None  # None: the fill of a manual order (POST /api/v1/orders)
    user_id: int
    binance_order_id: str | None
    symbol: str
    side: TradeSide
    order_type: str
    price: Money
    quantity_filled: Money
    quote_quantity_filled: Money
    commission_amount: Money
    commission_asset: str | None
    pnl: Money | None
    realized_pnl: Money | None
    timestamp: datetime


def trade_response(trade: Trade) -> TradeResponse:
    assert trade.id is not None
    return TradeResponse(**{name: getattr(trade, name) for name in TradeResponse.__struct_fields__})
