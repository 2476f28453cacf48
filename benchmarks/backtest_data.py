"""Candles for the backtest benchmark: the shared real series, or a million bars made from them.

The million candles are the real 1-minute returns of
``../shared/data/ohlcv/UNITTEST_BTC-1m.csv`` tiled end to end, demeaned so the
price neither drifts to zero nor explodes, with each bar's own open/high/low
offsets from its close kept; without that file, a seeded random walk with
realistic intrabar ranges. Nothing is copied into the repository: the CSV is
read in place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MINUTE_MS = 60_000
START_MS = 1_509_836_520_000  # the first bar of UNITTEST_BTC-1m
REPO = Path(__file__).resolve().parent.parent
OHLCV_DIR = Path(os.environ.get("TRADEBOT_OHLCV_DIR", REPO.parent / "shared" / "data" / "ohlcv"))
SOURCE_FILE = OHLCV_DIR / "UNITTEST_BTC-1m.csv"
REAL_FILES = ("UNITTEST_BTC-1m.csv", "BTC_USDT-5m.csv", "ETH_BTC-5m.csv")


@dataclass(frozen=True)
class Candles:
    time: np.ndarray  # int64 open time, ms
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray

    def __len__(self) -> int:
        return int(self.close.shape[0])

    def head(self, n: int) -> Candles:
        return Candles(self.time[:n], self.open[:n], self.high[:n], self.low[:n], self.close[:n])


def read_csv(path: Path) -> Candles:
    raw = np.loadtxt(path, delimiter=",", skiprows=1, usecols=(0, 1, 2, 3, 4))
    return Candles(
        raw[:, 0].astype(np.int64),
        np.ascontiguousarray(raw[:, 1]),
        np.ascontiguousarray(raw[:, 2]),
        np.ascontiguousarray(raw[:, 3]),
        np.ascontiguousarray(raw[:, 4]),
    )


def million(n: int = 1_000_000, seed: int = 7) -> tuple[Candles, str]:
    """`n` candles and a sentence saying where they came from."""
    if SOURCE_FILE.is_file():
        src = read_csv(SOURCE_FILE)
        log_close = np.log(src.close)
        returns = np.diff(log_close)
        returns -= returns.mean()
        # Each bar's open, high and low as log offsets from its own close.
        off_open = np.log(src.open[1:]) - log_close[1:]
        off_high = np.log(src.high[1:]) - log_close[1:]
        off_low = np.log(src.low[1:]) - log_close[1:]
        reps = -(-n // returns.shape[0])
        r = np.tile(returns, reps)[:n]
        oo, oh, ol = (np.tile(a, reps)[:n] for a in (off_open, off_high, off_low))
        start = float(src.close[0])
        source = (
            f"real 1m returns of {SOURCE_FILE.name} ({len(src):,} bars) tiled "
            f"{n / returns.shape[0]:.1f}x, demeaned, with each bar's open/high/low offsets"
        )
    else:
        rng = np.random.default_rng(seed)
        r = rng.normal(0.0, 0.0012, n)
        oo = rng.normal(0.0, 0.0003, n)
        spread = np.abs(rng.normal(0.0, 0.0008, (2, n)))
        oh = np.maximum(oo, 0.0) + spread[0]
        ol = np.minimum(oo, 0.0) - spread[1]
        start = 100.0
        source = f"seeded random walk (seed {seed}): {SOURCE_FILE} not found"
    log_c = np.log(start) + np.cumsum(r)
    close = np.exp(log_c)
    open_ = np.exp(log_c + oo)
    high = np.maximum(np.exp(log_c + oh), np.maximum(open_, close))
    low = np.minimum(np.exp(log_c + ol), np.minimum(open_, close))
    time = START_MS + MINUTE_MS * np.arange(n, dtype=np.int64)
    return Candles(time, open_, high, low, close), source


def real_series() -> list[tuple[str, Candles]]:
    """The real series in ../shared/data/ohlcv/ that the benchmark reports trades on."""
    return [
        (name, read_csv(OHLCV_DIR / name)) for name in REAL_FILES if (OHLCV_DIR / name).is_file()
    ]
