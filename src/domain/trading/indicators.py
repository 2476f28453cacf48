"""Indicators exactly as the trading rules define them (EMA seeded with the first close,
Wilder's RSI seeded with the plain mean of the first n changes). Plain Python: this is
the reference the numba kernel is proven equal to, so every operation here has a literal
twin there."""

from __future__ import annotations

import math
from collections.abc import Sequence

NAN = math.nan


def ema(values: Sequence[float], period: int) -> list[float]:
    """Exponential moving average, alpha 2/(n+1), seeded with the first value."""
    if len(values) == 0:
        return []
    alpha = 2.0 / (period + 1.0)
    out = [0.0] * len(values)
    out[0] = values[0]
    for i in range(1, len(values)):
        # prev + alpha * (x - prev): exact on a flat series, so flat prices never "cross".
        out[i] = out[i - 1] + alpha * (values[i] - out[i - 1])
    return out


def rsi(closes: Sequence[float], period: int) -> list[float]:
    """Wilder's RSI, defined from index `period` on (NaN before).

    The first average gain and loss are the plain means of the first `period`
    changes; then avg = (avg * (n - 1) + x) / n. RSI is 100 when the average loss
    is 0, and 50 when both averages are 0.
    """
    n = len(closes)
    out = [NAN] * n
    if n <= period:
        return out
    gain_sum = 0.0
    loss_sum = 0.0
    for i in range(1, period + 1):
        change = closes[i] - closes[i - 1]
        if change > 0.0:
            gain_sum += change
        else:
            loss_sum -= change
    avg_gain = gain_sum / period
    avg_loss = loss_sum / period
    out[period] = _rsi_value(avg_gain, avg_loss)
    for i in range(period + 1, n):
        change = closes[i] - closes[i - 1]
        gain = change if change > 0.0 else 0.0
        loss = -change if change < 0.0 else 0.0
        avg_gain = (avg_gain * (period - 1) + gain) / period
        avg_loss = (avg_loss * (period - 1) + loss) / period
        out[i] = _rsi_value(avg_gain, avg_loss)
    return out


def _rsi_value(avg_gain: float, avg_loss: float) -> float:
    if avg_loss == 0.0:
        return 50.0 if avg_gain == 0.0 else 100.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


def cross_up(a: Sequence[float], b: Sequence[float], i: int) -> bool:
    """a crosses above b at i: a[i-1] <= b[i-1] and a[i] > b[i] (False with NaN or i < 1)."""
    return i >= 1 and a[i - 1] <= b[i - 1] and a[i] > b[i]
