"""Bot configuration bodies (seed field names). Requests leave a field out with `UNSET`:
on create the domain's default applies, on update the field keeps its value.
Ranges and cross-field rules are the domain's (GET /api/v1/config lists them)."""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter
from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from domain.bots.bot_config import BotConfig
from entrypoints.http.json_response import Money
from entrypoints.http.request_fields import Number, RecordId

Name = Annotated[str, msgspec.Meta(max_length=200, examples=["BTC trend"])]
SymbolText = Annotated[str, msgspec.Meta(max_length=32, examples=["BTCUSDT"])]
Choice = Annotated[str, msgspec.Meta(max_length=32)]


class _OptionalBotConfigFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    timeframe: Choice | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET
    initial_capital: Money | UnsetType = UNSET
    daily_target_perc: Number | UnsetType | None = UNSET
    max_daily_loss_perc: Number | UnsetType | None = UNSET
    position_size_perc: Number | UnsetType | None = UNSET
    position_size_fixed: Money | UnsetType | None = UNSET
    stop_loss_perc: Number | UnsetType | None = UNSET
    take_profit_perc: Number | UnsetType | None = UNSET
    trailing_stop_perc: Number | UnsetType | None = UNSET
    trailing_stop_active: bool | UnsetType = UNSET
    ema_fast: int | UnsetType = UNSET
    ema_slow: int | UnsetType = UNSET
    rsi_period: int | UnsetType = UNSET
    rsi_oversold: int | UnsetType = UNSET
    rsi_overbought: int | UnsetType = UNSET
    max_daily_trades: int | UnsetType = UNSET
    check_interval_seconds: int | UnsetType = UNSET
    api_key_id: RecordId | UnsetType | None = UNSET
    strategy: Choice | UnsetType = UNSET
    ema_period: int | UnsetType = UNSET
    custom_ema_fast: int | UnsetType | None = UNSET
    custom_ema_slow: int | UnsetType | None = UNSET
    custom_rsi_period: int | UnsetType | None = UNSET
    custom_rsi_oversold: int | UnsetType | None = UNSET
    custom_rsi_overbought: int | UnsetType | None = UNSET
    custom_stop_loss: Number | UnsetType | None = UNSET
    custom_take_profit: Number | UnsetType | None = UNSET
    custom_trailing_stop: Number | UnsetType | None = UNSET
    position_type: Choice | UnsetType = UNSET
    transfer_amount: Money | UnsetType | None = UNSET
    auto_transfer_funds: bool | UnsetType = UNSET
    leverage: int | UnsetType = UNSET


class CreateBotConfigRequest(_OptionalBotConfigFields, kw_only=True):
    name: Name
    symbol: SymbolText


class UpdateBotConfigRequest(_OptionalBotConfigFields, kw_only=True):
    name: Name | UnsetType = UNSET
    symbol: SymbolText | UnsetType = UNSET


class BotConfigResponse(msgspec.Struct):
    id: int
    name: str
    symbol: str
    timeframe: str
    is_active: bool
    initial_capital: Money
    daily_target_perc: float | None
    max_daily_loss_perc: float | None
    position_size_perc: float | None
    position_size_fixed: Money | None
    stop_loss_perc: float | None
    take_profit_perc: float | None
    trailing_stop_perc: float | None
    trailing_stop_active: bool
    ema_fast: int
    ema_slow: int
    rsi_period: int
    rsi_oversold: int
    rsi_overbought: int
    max_daily_trades: int
    check_interval_seconds: int
    api_key_id: int | None
    strategy: str
    ema_period: int
    custom_ema_fast: int | None
    custom_ema_slow: int | None
    custom_rsi_period: int | None
    custom_rsi_oversold: int | None
    custom_rsi_overbought: int | None
    custom_stop_loss: float | None
    custom_take_profit: float | None
    custom_trailing_stop: float | None
    position_type: str
    transfer_amount: Money | None
    auto_transfer_funds: bool
    leverage: int
    created_at: datetime
    updated_at: datetime


_RESPONSE_VALUES = attrgetter(*BotConfigResponse.__struct_fields__)


def bot_config_response(config: BotConfig) -> BotConfigResponse:
    assert config.id is not None
    return BotConfigResponse(*_RESPONSE_VALUES(config))
