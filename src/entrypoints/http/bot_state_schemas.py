"""Bot state bodies (seed field names, plus the bot's id and the side of its position)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from domain.bots.bot_state import BotState, BotStatus
from entrypoints.http.json_response import Money
from entrypoints.http.request_fields import Count, UtcTime


class UpdateBotStateRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Every field optional. `status` moves through the state machine; the runtime fields
    may be corrected only while the bot is stopped or paused. `id`, `last_run_at` and
    `last_updated_at` are the server's and are refused."""

    status: BotStatus | UnsetType = UNSET
    in_position: bool | UnsetType = UNSET
    entry_price: Money | UnsetType | None = UNSET
    current_position_size_coins: Money | UnsetType | None = UNSET
    trailing_stop_price: Money | UnsetType | None = UNSET
    max_price_since_entry: Money | UnsetType | None = UNSET
    take_profit_price: Money | UnsetType | None = UNSET
    stop_loss_price: Money | UnsetType | None = UNSET
    daily_pnl: Money | UnsetType = UNSET
    daily_trades_count: Count | UnsetType = UNSET
    last_error_message: Annotated[str, msgspec.Meta(max_length=1000)] | UnsetType | None = UNSET
    id: int | UnsetType = UNSET
    last_run_at: UtcTime | UnsetType | None = UNSET
    last_updated_at: UtcTime | UnsetType = UNSET


class BotStateResponse(msgspec.Struct):
    id: int
    bot_config_id: int
    status: BotStatus
    in_position: bool
    position_side: str | None
    entry_price: Money | None
    current_position_size_coins: Money | None
    trailing_stop_price: Money | None
    max_price_since_entry: Money | None
    take_profit_price: Money | None
    stop_loss_price: Money | None
    daily_pnl: Money
    daily_trades_count: int
    last_run_at: datetime | None
    last_error_message: str | None
    last_updated_at: datetime


def bot_state_response(state: BotState) -> BotStateResponse:
    assert state.id is not None
    return BotStateResponse(
        **{name: getattr(state, name) for name in BotStateResponse.__struct_fields__}
    )
