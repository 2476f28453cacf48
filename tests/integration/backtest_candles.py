"""Candles for the backtest tests: 22 hourly days from 2024-01-20, two calendar months."""

from __future__ import annotations

import random

HOUR = 3_600_000
T0 = 1_705_708_800_000  # 2024-01-20 00:00 UTC
DAYS = 22  # through 2024-02-10


def hourly_klines(count: int, seed: int = 7) -> list[list[float]]:
    """A noisy, mean-reverting walk: the default strategy wins some trades and loses some."""
    rng = random.Random(seed)
    rows = []
    close = 100.0
    for i in range(count):
        open_ = close
        close = max(1.0, open_ * (1 + rng.gauss(0, 0.012)) + 0.005 * (100 - open_))
        high = max(open_, close) * (1 + abs(rng.gauss(0, 0.004)))
        low = min(open_, close) * (1 - abs(rng.gauss(0, 0.004)))
        volume = 5 + rng.random() * 10
        rows.append([T0 + i * HOUR, *(round(v, 4) for v in (open_, high, low, close, volume))])
    return rows
