"""The engines of the backtest benchmark, each run in a child process of its own.

``python -m benchmarks.backtest_engines TASK [N]`` runs one task and prints one
JSON line (timings, trade counts, final equity, its own peak RSS); the parent
(backtest_bench.py) also reads the child's rusage, so engines never share a heap.

The strategy everywhere: ``ema_rsi`` with EMA 12/26 and RSI 14 (long when the
fast EMA crosses above the slow one while RSI < 70, out when it crosses back),
spot, all-in, 2 % stop loss, 4 % take profit, 0.1 % fee per side, no slippage.
The other engines get the entry and exit signals this project's indicators
give, masked as the risk engine masks them (no entry during the warm-up or on
the last candle, everything closed on the last candle), so that any difference
in trades is a difference of the engines, not of the indicators.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.backtest_data import Candles, million, real_series

FAST, SLOW, RSI_PERIOD = 12, 26, 14
OVERSOLD, OVERBOUGHT = 30.0, 70.0
WARMUP = max(FAST, SLOW, RSI_PERIOD)
STOP_PERC, TARGET_PERC, FEE = 2.0, 4.0, 0.001
# Over a million candles the strategy loses ~28 orders of magnitude to fees and stops,
# and engines drop orders once the balance is dust: every engine starts this rich.
BIG_CASH = 1e50
SWEEP_SETS = 1000


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def best_of(repeat: int, function: Callable[[], Any]) -> tuple[float, Any]:
    best = float("inf")
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def _risk(max_daily: int = 10**9):
    from domain.trading.risk_params import RiskParams

    # The daily entry cap is the only rule the others lack; it is still evaluated,
    # it just never binds. Daily target/loss and trailing stop are off (0) as in vectorbt.
    return RiskParams(
        fee_rate=FEE,
        stop_loss_perc=STOP_PERC,
        take_profit_perc=TARGET_PERC,
        max_daily_trades=max_daily,
    )


def indicators(close: np.ndarray, fast: int = FAST, slow: int = SLOW, period: int = RSI_PERIOD):
    from adapters.backtest import numba_core as core

    return core.ema(close, fast), core.ema(close, slow), core.rsi(close, period)


def signals(fast: np.ndarray, slow: np.ndarray, strength: np.ndarray, warmup: int = WARMUP):
    """Entries and exits exactly as the kernel's ema_rsi reads them (spot, long only)."""
    n = fast.shape[0]
    up = np.zeros(n, dtype=bool)
    down = np.zeros(n, dtype=bool)
    up[1:] = (fast[:-1] <= slow[:-1]) & (fast[1:] > slow[1:])
    down[1:] = (slow[:-1] <= fast[:-1]) & (slow[1:] > fast[1:])
    with np.errstate(invalid="ignore"):
        entries = up & (strength < OVERBOUGHT)
    entries[: min(warmup, n)] = False
    entries[-1:] = False
    exits = down
    exits[-1:] = True
    return entries, exits


# --- this project's kernel -------------------------------------------------------------


def kernel_core(c: Candles, capital: float = BIG_CASH):
    """A callable for one simulate_core pass (indicators passed in), and one that also
    computes the indicators (end to end from candles)."""
    from adapters.backtest import numba_core as core
    from adapters.backtest.numba_kernel import risk_vector

    rv = risk_vector(_risk(), capital)
    trades = np.empty((len(c) + 1, core.TRADE_COLUMNS))
    no_equity = np.empty(0)
    fast, slow, strength = indicators(c.close)

    def core_only(fast=fast, slow=slow, strength=strength):
        return core.simulate_core(
            c.time, c.open, c.high, c.low, c.close, fast, slow, strength, fast,
            core.EMA_RSI, OVERSOLD, OVERBOUGHT, WARMUP, rv, trades, no_equity, False,
        )  # fmt: skip

    def end_to_end():
        return core_only(*indicators(c.close))

    return core_only, end_to_end


def task_kernel(n: int) -> dict[str, Any]:
    from adapters.backtest.numba_kernel import NumbaBacktestKernel
    from domain.trading.simulation import CandleSeries
    from domain.trading.strategies import StrategyParams

    base = rss_mb()
    c, source = million(n)
    core_only, end_to_end = kernel_core(c)
    end_to_end()  # load from numba's cache (or compile) outside the timing
    ind_seconds, _ = best_of(5, lambda: indicators(c.close))
    core_seconds, (count, cash) = best_of(10, core_only)
    e2e_seconds, _ = best_of(5, end_to_end)
    # The port the application calls: also builds the equity list and trade objects.
    series = CandleSeries(c.time, c.open, c.high, c.low, c.close)
    params = StrategyParams(ema_fast=FAST, ema_slow=SLOW, rsi_period=RSI_PERIOD)
    started = time.perf_counter()
    result = NumbaBacktestKernel().run(series, "ema_rsi", params, _risk(), BIG_CASH)
    port_seconds = time.perf_counter() - started
    assert len(result.trades) == count
    assert result.final_capital == cash
    return {
        "candles": n,
        "data_source": source,
        "core_seconds": core_seconds,
        "indicator_seconds": ind_seconds,
        "end_to_end_seconds": e2e_seconds,
        "port_run_seconds": port_seconds,
        "trades": int(count),
        "final_equity": float(cash),
        "rss_after_import_mb": base,
    }


# --- vectorbt --------------------------------------------------------------------------


def _vbt_result(pf, columns: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Per column: trades (buy orders; every position is closed on the last candle) and
    final equity (the proceeds of the last sell). Portfolio.final_value() recomputes
    cash as init_cash plus a cumulative sum of flows, which at 1e50 start and a
    ~1e-28 loss factor is all rounding; the order records hold the exact fills."""
    records = pf.orders.values
    buys = np.bincount(records["col"][records["side"] == 0], minlength=columns)
    final = np.full(columns, np.nan)
    sells = records[records["side"] == 1]
    for row in sells:  # records are in time order within each column
        final[row["col"]] = row["size"] * row["price"] - row["fees"]
    return buys, final


def task_vectorbt(n: int) -> dict[str, Any]:
    import vectorbt as vbt

    base = rss_mb()
    c, source = million(n)
    started = time.perf_counter()
    entries, exits = signals(*indicators(c.close))
    signal_seconds = time.perf_counter() - started
    kwargs = dict(
        open=c.open, high=c.high, low=c.low, sl_stop=STOP_PERC / 100.0,
        tp_stop=TARGET_PERC / 100.0, fees=FEE, init_cash=BIG_CASH,
    )  # fmt: skip
    warm = 2000  # compile vectorbt's numba functions outside the timing
    vbt.Portfolio.from_signals(
        c.close[:warm], entries[:warm], exits[:warm],
        **{k: (v[:warm] if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()},
    )  # fmt: skip
    seconds, pf = best_of(3, lambda: vbt.Portfolio.from_signals(c.close, entries, exits, **kwargs))
    trades, final = _vbt_result(pf)
    return {
        "candles": n,
        "data_source": source,
        "seconds": seconds,
        "signal_seconds": signal_seconds,
        "trades": int(trades[0]),
        "final_equity": float(final[0]),
        "version": vbt.__version__,
        "rss_after_import_mb": base,
    }


# --- backtesting.py --------------------------------------------------------------------


def backtesting_run(c: Candles, capital: float = BIG_CASH) -> dict[str, Any]:
    import pandas as pd
    from backtesting import Backtest, Strategy

    entries, exits = signals(*indicators(c.close))
    # One extra candle (a copy of the last) so that the exit ordered at the last
    # close is filled there: backtesting.py fills a trade_on_close order when it
    # processes the next bar, and its finalize_trades would use the previous close.
    times = np.append(c.time, c.time[-1] + 60_000)
    frame = pd.DataFrame(
        {
            "Open": np.append(c.open, c.close[-1]),
            "High": np.append(c.high, c.close[-1]),
            "Low": np.append(c.low, c.close[-1]),
            "Close": np.append(c.close, c.close[-1]),
        },
        index=pd.to_datetime(times, unit="ms"),
    )
    entries = np.append(entries, False)
    exits = np.append(exits, False)
    stop_factor = 1.0 - STOP_PERC / 100.0
    target_factor = 1.0 + TARGET_PERC / 100.0

    class EmaRsi(Strategy):
        def init(self) -> None:
            pass

        def next(self) -> None:
            i = len(self.data) - 1
            if self.position:
                if exits[i]:
                    # Our exit at the close is final: drop the bracket first, or the
                    # stop would be checked again on the next bar before the close fills.
                    for trade in self.trades:
                        trade.sl = None
                        trade.tp = None
                    self.position.close()
            elif entries[i]:
                closed = self.closed_trades
                if closed and closed[-1].exit_bar == i:
                    return  # a stop or target closed a trade on this candle: no entry
                price = self.data.Close[-1]
                self.buy(size=1 - 1e-12, sl=price * stop_factor, tp=price * target_factor)

    backtest = Backtest(
        frame, EmaRsi, cash=capital, commission=FEE, trade_on_close=True, finalize_trades=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        stats = backtest.run()
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "trades": int(stats["# Trades"]),
        "final_equity": float(stats["Equity Final [$]"]),
    }


def task_backtesting(n: int) -> dict[str, Any]:
    import backtesting

    os.environ.setdefault("TQDM_DISABLE", "1")
    base = rss_mb()
    c, source = million(n)
    out = backtesting_run(c)
    core_only, _ = kernel_core(c)
    count, cash = core_only()
    return {
        "candles": n,
        "data_source": source,
        **out,
        "kernel_trades_same_candles": int(count),
        "kernel_final_equity_same_candles": float(cash),
        "version": backtesting.__version__,
        "rss_after_import_mb": base,
    }


# --- the pure-Python reference ---------------------------------------------------------


def reference_run(c: Candles, capital: float = BIG_CASH) -> tuple[float, int, float]:
    from domain.trading.simulation import CandleSeries, simulate
    from domain.trading.strategies import StrategyParams

    series = CandleSeries(
        c.time.tolist(), c.open.tolist(), c.high.tolist(), c.low.tolist(), c.close.tolist()
    )
    params = StrategyParams(ema_fast=FAST, ema_slow=SLOW, rsi_period=RSI_PERIOD)
    started = time.perf_counter()
    result = simulate(series, "ema_rsi", params, _risk(), capital)
    return time.perf_counter() - started, len(result.trades), result.final_capital


def task_reference(n: int) -> dict[str, Any]:
    base = rss_mb()
    c, source = million(n)
    seconds, trades, final = reference_run(c)
    core_only, _ = kernel_core(c)
    count, cash = core_only()
    return {
        "candles": n,
        "data_source": source,
        "seconds": seconds,
        "trades": trades,
        "final_equity": final,
        "kernel_trades_same_candles": int(count),
        "kernel_final_equity_same_candles": float(cash),
        "rss_after_import_mb": base,
    }


# --- the 1,000-set sweep ---------------------------------------------------------------


def sweep_sets() -> list[tuple[int, int, int]]:
    """10 fast x 10 slow x 10 RSI periods: 30 distinct series for 1,000 sets."""
    return [
        (fast, slow, period)
        for period in range(7, 17)
        for slow in range(20, 40, 2)
        for fast in range(5, 15)
    ][:SWEEP_SETS]


def task_sweep_kernel(n: int) -> dict[str, Any]:
    from numba import get_num_threads

    from adapters.backtest.numba_kernel import run_batch
    from domain.trading.simulation import CandleSeries
    from domain.trading.strategies import StrategyParams

    base = rss_mb()
    c, source = million(n)
    series = CandleSeries(c.time, c.open, c.high, c.low, c.close)
    params = [StrategyParams(ema_fast=f, ema_slow=s, rsi_period=p) for f, s, p in sweep_sets()]
    run_batch(series, "ema_rsi", params[:2], _risk(), BIG_CASH)  # load or compile
    seconds, result = best_of(3, lambda: run_batch(series, "ema_rsi", params, _risk(), BIG_CASH))
    return {
        "candles": n,
        "data_source": source,
        "sets": len(params),
        "seconds": seconds,
        "threads": get_num_threads(),
        "trades": result.trades.tolist(),
        "final_equity": result.final_capital.tolist(),
        "rss_after_import_mb": base,
    }


def task_sweep_vectorbt(n: int) -> dict[str, Any]:
    import vectorbt as vbt

    from adapters.backtest import numba_core as core

    base = rss_mb()
    c, source = million(n)
    sets = sweep_sets()
    started = time.perf_counter()
    emas = {p: core.ema(c.close, p) for p in {f for f, _, _ in sets} | {s for _, s, _ in sets}}
    rsis = {p: core.rsi(c.close, p) for p in {p for _, _, p in sets}}
    entries = np.empty((n, len(sets)), dtype=bool)
    exits = np.empty((n, len(sets)), dtype=bool)
    for k, (f, s, p) in enumerate(sets):
        entries[:, k], exits[:, k] = signals(emas[f], emas[s], rsis[p], max(f, s, p))
    signal_seconds = time.perf_counter() - started
    column = lambda a: a[:, None]  # noqa: E731 - one price column broadcast to all sets
    # Size the order records to what the signals can produce (two orders per entry);
    # the default, one record per element, would take 5.6 GB at 100,000 x 1,000.
    max_orders = int(2 * entries.sum() + 2 * len(sets))
    warm = 2000
    vbt.Portfolio.from_signals(
        column(c.close[:warm]), entries[:warm, :2], exits[:warm, :2],
        open=column(c.open[:warm]), high=column(c.high[:warm]), low=column(c.low[:warm]),
        sl_stop=STOP_PERC / 100.0, tp_stop=TARGET_PERC / 100.0, fees=FEE, init_cash=BIG_CASH,
    )  # fmt: skip
    started = time.perf_counter()
    pf = vbt.Portfolio.from_signals(
        column(c.close), entries, exits, open=column(c.open), high=column(c.high),
        low=column(c.low), sl_stop=STOP_PERC / 100.0, tp_stop=TARGET_PERC / 100.0, fees=FEE,
        init_cash=BIG_CASH, max_orders=max_orders,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    trades, final = _vbt_result(pf, len(sets))
    return {
        "candles": n,
        "data_source": source,
        "sets": len(sets),
        "seconds": seconds,
        "signal_seconds": signal_seconds,
        "trades": trades.tolist(),
        "final_equity": final.tolist(),
        "rss_after_import_mb": base,
    }


# --- JIT compile time ------------------------------------------------------------------


def task_compile(_n: int) -> dict[str, Any]:
    """First calls in a fresh process: cold or warm depends on NUMBA_CACHE_DIR's content."""
    started = time.perf_counter()
    from adapters.backtest.numba_kernel import run_batch
    from domain.trading.simulation import CandleSeries
    from domain.trading.strategies import StrategyParams

    import_seconds = time.perf_counter() - started
    c, _ = million(500)
    timings = {"import": import_seconds}
    started = time.perf_counter()
    core_only, _ = kernel_core(c)  # ema + rsi
    timings["ema_rsi"] = time.perf_counter() - started
    started = time.perf_counter()
    core_only()
    timings["simulate_core"] = time.perf_counter() - started
    series = CandleSeries(c.time, c.open, c.high, c.low, c.close)
    started = time.perf_counter()
    run_batch(series, "ema_rsi", [StrategyParams()], _risk(), 1e4)
    timings["simulate_batch"] = time.perf_counter() - started
    timings["kernel_total"] = timings["ema_rsi"] + timings["simulate_core"]
    timings["all_total"] = timings["kernel_total"] + timings["simulate_batch"]
    return {"seconds": timings, "cache_dir": os.environ.get("NUMBA_CACHE_DIR", "")}


# --- the real candles ------------------------------------------------------------------


def task_real(_n: int) -> dict[str, Any]:
    """Trade count and final equity of every engine on the real series, from 10,000."""
    import vectorbt as vbt

    capital = 10_000.0
    rows = []
    for name, c in real_series():
        core_only, _ = kernel_core(c, capital)
        count, cash = core_only()
        entries, exits = signals(*indicators(c.close))
        pf = vbt.Portfolio.from_signals(
            c.close, entries, exits, open=c.open, high=c.high, low=c.low,
            sl_stop=STOP_PERC / 100.0, tp_stop=TARGET_PERC / 100.0, fees=FEE, init_cash=capital,
        )  # fmt: skip
        vbt_trades, vbt_final = _vbt_result(pf)
        # backtesting.py trades whole units only: at 0.002 BTC a unit is fine, at
        # 17,000 USDT it would not be, so it gets the same capital in 1e9 x smaller units.
        bt = backtesting_run(c, capital * 1e9)
        _, ref_trades, ref_final = reference_run(c, capital)
        rows.append(
            {
                "series": name,
                "candles": len(c),
                "kernel": {"trades": int(count), "final_equity": float(cash)},
                "vectorbt": {"trades": int(vbt_trades[0]), "final_equity": float(vbt_final[0])},
                "backtesting_py": {
                    "trades": bt["trades"],
                    "final_equity": bt["final_equity"] / 1e9,
                },
                "reference": {"trades": ref_trades, "final_equity": ref_final},
            }
        )
    return {"initial_capital": capital, "series": rows}


TASKS: dict[str, Callable[[int], dict[str, Any]]] = {
    "kernel": task_kernel,
    "vectorbt": task_vectorbt,
    "backtesting": task_backtesting,
    "reference": task_reference,
    "sweep_kernel": task_sweep_kernel,
    "sweep_vectorbt": task_sweep_vectorbt,
    "compile": task_compile,
    "real": task_real,
}


def main() -> None:
    task = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    result = TASKS[task](n)
    result["peak_rss_mb"] = rss_mb()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
