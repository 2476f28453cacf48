"""The risk engine's state as JSON: NaN (a rule that is off) stored as null."""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

from domain.trading.risk_engine import Side, TradingState

_FIELDS = tuple(f.name for f in fields(TradingState))


def encode_trading_state(state: TradingState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    encoded: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(state, name)
        if isinstance(value, Side):
            value = int(value)
        elif isinstance(value, float):
            value = float(value) if math.isfinite(value) else None
        elif isinstance(value, int) and not isinstance(value, bool):
            value = int(value)
        encoded[name] = value
    return encoded


def decode_trading_state(data: dict[str, Any] | None) -> TradingState | None:
    if data is None:
        return None
    values: dict[str, Any] = {}
    for f in fields(TradingState):
        value = data.get(f.name, f.default)
        if f.name == "side":
            value = Side(int(value))
        elif value is None and isinstance(f.default, float):
            value = math.nan
        values[f.name] = value
    return TradingState(**values)
