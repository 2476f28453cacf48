"""When the worker next evaluates a bot: at the close of its next candle, and at
least every `check_interval_seconds` in between (market time, milliseconds)."""

from __future__ import annotations


def next_due_ms(now_ms: int, candle_ms: int, check_interval_seconds: int) -> int:
    next_close = (now_ms // candle_ms + 1) * candle_ms
    return min(next_close, now_ms + check_interval_seconds * 1000)
