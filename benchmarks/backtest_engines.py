"""The engines of the backtest benchmark, each run in a child process of its own.

``python -m benchmarks.backtest_engines TASK [N]`` runs one task and prints one
JSON line (timings, trade counts, final equity, its own peak RSS); the parent
(backtest_bench.py) also reads the child's rusage, so engines never share a heap.

The strategy everywhere: ``ema_rsi`` with EMA 12/26 and RSI 14 (long when the
fast EMA crosses above the slow one while RSI < 70, out when it crosses back),
spot, all-in, 2 % stop loss, 4 % take profit, 0.1 % fee per side, no slippage.

Two ways of running each engine are timed:

* end to end, each used the way its documentation shows: from OHLC candles in
  the engine's own input form (numpy arrays for this kernel, a pandas
  DataFrame for the others) to trades. vectorbt: ``vbt.MA.run(..., ewm=True)``,
  ``ma_crossed_above/below``, an ``IndicatorFactory`` RSI and
  ``Portfolio.from_signals``; backtesting.py: ``self.I(...)`` indicators and
  ``crossover()`` in ``next()``. Neither library has Wilder's RSI (vectorbt's
  RSI averages simply or with an EMA's alpha), so both wrap this project's
  through their documented extension point; vectorbt's EMA is the same
  recursion and is used as is (rounding may differ in the last bit; the trade
  counts must still agree).
* given precomputed inputs, the cheapest form each accepts: this kernel's
  ``simulate_core`` with the indicator series passed in, vectorbt's
  ``from_signals`` and backtesting.py's ``next()`` with entry/exit booleans
  built from this project's indicators.

Entries are masked as the risk engine masks them (no entry during the warm-up
or on the last candle, everything closed on the last candle).
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


def ohlc_frame(c: Candles):
    import pandas as pd

    return pd.DataFrame(
        {"Open": c.open, "High": c.high, "Low": c.low, "Close": c.close},
        index=pd.to_datetime(c.time, unit="ms"),
    )


# --- this project's kernel -------------------------------------------------------------


def kernel_runs(c: Candles, capital: float = BIG_CASH) -> dict[str, Callable[[], Any]]:
    """Callables returning (trades, final cash): end to end from the candle arrays
    (simulate_candles), with the indicator series passed in (simulate_core), and the
    two-step form (indicator passes, then simulate_core) the kernel had before."""
    from adapters.backtest import numba_core as core
    from adapters.backtest.numba_kernel import risk_vector

    rv = risk_vector(_risk(), capital)
    no_equity = np.empty(0)
    fast, slow, strength = indicators(c.close)
    trades = np.empty((len(c) + 1, core.TRADE_COLUMNS))

    def end_to_end():
        rows = np.empty((len(c) + 1, core.TRADE_COLUMNS))
        return core.simulate_candles(
            c.time, c.open, c.high, c.low, c.close, core.EMA_RSI, FAST, SLOW, RSI_PERIOD,
            FAST, OVERSOLD, OVERBOUGHT, WARMUP, rv, rows, no_equity, False,
        )  # fmt: skip

    def passed_in(fast=fast, slow=slow, strength=strength, trades=trades):
        return core.simulate_core(
            c.time, c.open, c.high, c.low, c.close, fast, slow, strength, fast,
            core.EMA_RSI, OVERSOLD, OVERBOUGHT, WARMUP, rv, trades, no_equity, False,
        )  # fmt: skip

    def two_step():
        return passed_in(*indicators(c.close), np.empty((len(c) + 1, core.TRADE_COLUMNS)))

    return {"end_to_end": end_to_end, "passed_in": passed_in, "two_step": two_step}


def task_kernel(n: int) -> dict[str, Any]:
    from adapters.backtest.numba_kernel import NumbaBacktestKernel
    from domain.trading.simulation import CandleSeries
    from domain.trading.strategies import StrategyParams

    base = rss_mb()
    c, source = million(n)
    runs = kernel_runs(c)
    for run in runs.values():
        run()  # load from numba's cache (or compile) outside the timings
    results = {}
    for name, repeat in (("end_to_end", 10), ("passed_in", 10), ("two_step", 5)):
        seconds, (count, cash) = best_of(repeat, runs[name])
        results[name] = (seconds, int(count), float(cash))
    ind_seconds, _ = best_of(5, lambda: indicators(c.close))
    # The port the application calls: also builds the equity list and trade objects.
    series = CandleSeries(c.time, c.open, c.high, c.low, c.close)
    params = StrategyParams(ema_fast=FAST, ema_slow=SLOW, rsi_period=RSI_PERIOD)
    started = time.perf_counter()
    result = NumbaBacktestKernel().run(series, "ema_rsi", params, _risk(), BIG_CASH)
    port_seconds = time.perf_counter() - started
    _, count, cash = results["end_to_end"]
    assert all((k, f) == (count, cash) for _, k, f in results.values())
    assert (len(result.trades), result.final_capital) == (count, cash)
    return {
        "candles": n,
        "data_source": source,
        "seconds": {name: seconds for name, (seconds, _, _) in results.items()},
        "indicator_seconds": ind_seconds,
        "port_run_seconds": port_seconds,
        "trades": count,
        "final_equity": cash,
        "rss_after_import_mb": base,
    }


# --- vectorbt --------------------------------------------------------------------------


def wilder_rsi():
    """Wilder's RSI as a vectorbt indicator (IndicatorFactory over this project's rsi)."""
    import vectorbt as vbt

    from adapters.backtest import numba_core as core

    return vbt.IndicatorFactory(
        class_name="WilderRSI",
        short_name="rsi",
        input_names=["close"],
        param_names=["window"],
        output_names=["rsi"],
    ).from_apply_func(core.rsi, to_2d=False)


def vectorbt_portfolio(
    ohlc, fast, slow, period, rsi_indicator, max_orders=None, init_cash: float = BIG_CASH
):
    """The documented vectorbt way from OHLC to a portfolio; lists of windows give one
    column per parameter set (the MA cache and run_unique compute each window once)."""
    import vectorbt as vbt

    close = ohlc["Close"]
    fast_ma = vbt.MA.run(close, fast, ewm=True, short_name="fast")
    slow_ma = vbt.MA.run(close, slow, ewm=True, short_name="slow")
    rsi = rsi_indicator.run(close, period, run_unique=True)
    entries = fast_ma.ma_crossed_above(slow_ma).vbt & rsi.rsi_below(OVERBOUGHT)
    exits = fast_ma.ma_crossed_below(slow_ma)
    # The risk engine's end of data: no entry on the last candle, everything closed there.
    entries.iloc[-1] = False
    exits.iloc[-1] = True
    if max_orders is not None:
        max_orders = max_orders(entries)
    return vbt.Portfolio.from_signals(
        close, entries, exits, open=ohlc["Open"], high=ohlc["High"], low=ohlc["Low"],
        sl_stop=STOP_PERC / 100.0, tp_stop=TARGET_PERC / 100.0, fees=FEE, init_cash=init_cash,
        max_orders=max_orders,
    )  # fmt: skip


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
    ohlc = ohlc_frame(c)
    rsi = wilder_rsi()
    warm = 3000  # compile or load vectorbt's and our numba functions outside the timings
    vectorbt_portfolio(ohlc.iloc[:warm], FAST, SLOW, RSI_PERIOD, rsi).trades.count()
    signals(*indicators(c.close[:warm]))

    def end_to_end():
        pf = vectorbt_portfolio(ohlc, FAST, SLOW, RSI_PERIOD, rsi)
        return pf, pf.trades.count()

    e2e_seconds, (pf, trade_count) = best_of(3, end_to_end)
    e2e_trades, e2e_final = _vbt_result(pf)
    assert trade_count == e2e_trades[0]
    signal_seconds, (entries, exits) = best_of(3, lambda: signals(*indicators(c.close)))
    kwargs = dict(
        open=c.open, high=c.high, low=c.low, sl_stop=STOP_PERC / 100.0,
        tp_stop=TARGET_PERC / 100.0, fees=FEE, init_cash=BIG_CASH,
    )  # fmt: skip
    given_seconds, pf = best_of(
        3, lambda: vbt.Portfolio.from_signals(c.close, entries, exits, **kwargs)
    )
    trades, final = _vbt_result(pf)
    return {
        "candles": n,
        "data_source": source,
        "seconds": e2e_seconds,
        "signals_given_seconds": given_seconds,
        "signal_building_seconds": signal_seconds,
        "trades": int(e2e_trades[0]),
        "final_equity": float(e2e_final[0]),
        "signals_given_trades": int(trades[0]),
        "signals_given_final_equity": float(final[0]),
        "version": vbt.__version__,
        "rss_after_import_mb": base,
    }


# --- backtesting.py --------------------------------------------------------------------


def _with_last_candle_repeated(c: Candles):
    """One extra candle (a copy of the last close) so that the exit ordered at the last
    close fills there: backtesting.py fills a trade_on_close order when it processes
    the next bar, and its finalize_trades would use the previous close."""
    import pandas as pd

    return pd.DataFrame(
        {
            "Open": np.append(c.open, c.close[-1]),
            "High": np.append(c.high, c.close[-1]),
            "Low": np.append(c.low, c.close[-1]),
            "Close": np.append(c.close, c.close[-1]),
        },
        index=pd.to_datetime(np.append(c.time, c.time[-1] + 60_000), unit="ms"),
    )


def backtesting_strategies() -> dict[str, type]:
    """The strategy the documented way (self.I indicators, crossover() in next()) and the
    same decisions from precomputed entry/exit arrays."""
    from backtesting import Strategy
    from backtesting.lib import crossover

    from adapters.backtest import numba_core as core

    def ema(values: np.ndarray, period: int) -> np.ndarray:
        return core.ema(np.asarray(values, dtype=np.float64), period)

    def rsi(values: np.ndarray, period: int) -> np.ndarray:
        return core.rsi(np.asarray(values, dtype=np.float64), period)

    class Bracketed(Strategy):
        last = 0  # the index of the series' real last candle (a copy follows it)

        def leave(self) -> None:
            # Our exit at the close is final: drop the bracket first, or the stop would
            # be checked again on the next bar before the close fills.
            for trade in self.trades:
                trade.sl = None
                trade.tp = None
            self.position.close()

        def enter(self, i: int) -> None:
            closed = self.closed_trades
            if closed and closed[-1].exit_bar == i:
                return  # a stop or target closed a trade on this candle: no entry
            price = self.data.Close[-1]
            self.buy(
                size=1 - 1e-12,
                sl=price * (1.0 - STOP_PERC / 100.0),
                tp=price * (1.0 + TARGET_PERC / 100.0),
            )

    class EmaRsi(Bracketed):
        fast = FAST
        slow = SLOW
        rsi_period = RSI_PERIOD

        def init(self) -> None:
            close = self.data.Close
            self.fast_ema = self.I(ema, close, self.fast)
            self.slow_ema = self.I(ema, close, self.slow)
            self.rsi = self.I(rsi, close, self.rsi_period)

        def next(self) -> None:
            i = len(self.data) - 1
            if self.position:
                if crossover(self.slow_ema, self.fast_ema) or i == self.last:
                    self.leave()
            elif (
                WARMUP <= i < self.last
                and crossover(self.fast_ema, self.slow_ema)
                and self.rsi[-1] < OVERBOUGHT
            ):
                self.enter(i)

    class GivenSignals(Bracketed):
        entries = np.empty(0, dtype=bool)
        exits = np.empty(0, dtype=bool)

        def init(self) -> None:
            pass

        def next(self) -> None:
            i = len(self.data) - 1
            if self.position:
                if self.exits[i]:
                    self.leave()
            elif self.entries[i]:
                self.enter(i)

    return {"idiomatic": EmaRsi, "signals_given": GivenSignals}


def backtesting_run(
    c: Candles, how: str, capital: float = BIG_CASH, repeat: int = 1
) -> dict[str, Any]:
    from backtesting import Backtest

    frame = _with_last_candle_repeated(c)
    strategy = backtesting_strategies()[how]
    extra: dict[str, Any] = {"last": len(c) - 1}
    if how == "signals_given":
        entries, exits = signals(*indicators(c.close))
        extra.update(entries=np.append(entries, False), exits=np.append(exits, False))

    def run():
        backtest = Backtest(
            frame, strategy, cash=capital, commission=FEE, trade_on_close=True,
            finalize_trades=True,
        )  # fmt: skip
        return backtest.run(**extra)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seconds, stats = best_of(repeat, run)
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
    idiomatic = backtesting_run(c, "idiomatic", repeat=2)
    given = backtesting_run(c, "signals_given", repeat=2)
    count, cash = kernel_runs(c)["end_to_end"]()
    return {
        "candles": n,
        "data_source": source,
        **idiomatic,
        "signals_given_seconds": given["seconds"],
        "signals_given_trades": given["trades"],
        "signals_given_final_equity": given["final_equity"],
        "kernel_trades_same_candles": int(count),
        "kernel_final_equity_same_candles": float(cash),
        "version": backtesting.__version__,
        "rss_after_import_mb": base,
    }


# --- the pure-Python reference ---------------------------------------------------------


def reference_run(
    c: Candles, capital: float = BIG_CASH, repeat: int = 1
) -> tuple[float, int, float]:
    from domain.trading.simulation import CandleSeries, simulate
    from domain.trading.strategies import StrategyParams

    series = CandleSeries(
        c.time.tolist(), c.open.tolist(), c.high.tolist(), c.low.tolist(), c.close.tolist()
    )
    params = StrategyParams(ema_fast=FAST, ema_slow=SLOW, rsi_period=RSI_PERIOD)
    seconds, result = best_of(repeat, lambda: simulate(series, "ema_rsi", params, _risk(), capital))
    return seconds, len(result.trades), result.final_capital


def task_reference(n: int) -> dict[str, Any]:
    base = rss_mb()
    c, source = million(n)
    seconds, trades, final = reference_run(c, repeat=3)
    count, cash = kernel_runs(c)["end_to_end"]()
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
    seconds, result = best_of(5, lambda: run_batch(series, "ema_rsi", params, _risk(), BIG_CASH))
    # The same sets without the event pass: simulate_core candle by candle per set.
    plain_seconds, plain = best_of(
        3, lambda: run_batch(series, "ema_rsi", params, _risk(), BIG_CASH, event_pass=False)
    )
    assert plain.trades.tolist() == result.trades.tolist()
    assert plain.final_capital.tolist() == result.final_capital.tolist()
    return {
        "candles": n,
        "data_source": source,
        "sets": len(params),
        "seconds": seconds,
        "candle_by_candle_seconds": plain_seconds,
        "threads": get_num_threads(),
        "trades": result.trades.tolist(),
        "final_equity": result.final_capital.tolist(),
        "rss_after_import_mb": base,
    }


def _max_orders(entries) -> int:
    # Two orders per entry at most; vectorbt's default, one record per element, would
    # reserve 5.6 GB at 100,000 x 1,000 and measured slower (documented parameter).
    return int(2 * np.asarray(entries).sum() + 2 * np.asarray(entries).shape[1])


def task_sweep_vectorbt(n: int) -> dict[str, Any]:
    import vectorbt as vbt

    base = rss_mb()
    c, source = million(n)
    sets = sweep_sets()
    ohlc = ohlc_frame(c)
    rsi = wilder_rsi()
    fast, slow, period = ([s[k] for s in sets] for k in range(3))
    warm = 3000
    vectorbt_portfolio(ohlc.iloc[:warm], fast[:3], slow[:3], period[:3], rsi).trades.count()

    started = time.perf_counter()
    pf = vectorbt_portfolio(ohlc, fast, slow, period, rsi, _max_orders)
    pf.trades.count()
    seconds = time.perf_counter() - started
    trades, final = _vbt_result(pf, len(sets))
    del pf

    # Signals given: this project's indicators, entries and exits as (candles x sets)
    # boolean arrays in column order (vectorbt walks one column at a time).
    started = time.perf_counter()
    emas = {p: indicators(c.close, p, p, 2)[0] for p in set(fast) | set(slow)}
    rsis = {p: indicators(c.close, 2, 2, p)[2] for p in set(period)}
    entries = np.empty((n, len(sets)), dtype=bool, order="F")
    exits = np.empty((n, len(sets)), dtype=bool, order="F")
    for k, (f, s, p) in enumerate(sets):
        entries[:, k], exits[:, k] = signals(emas[f], emas[s], rsis[p], max(f, s, p))
    signal_seconds = time.perf_counter() - started
    column = lambda a: a[:, None]  # noqa: E731 - one price column broadcast to all sets
    started = time.perf_counter()
    given = vbt.Portfolio.from_signals(
        column(c.close), entries, exits, open=column(c.open), high=column(c.high),
        low=column(c.low), sl_stop=STOP_PERC / 100.0, tp_stop=TARGET_PERC / 100.0, fees=FEE,
        init_cash=BIG_CASH, max_orders=_max_orders(entries),
    )  # fmt: skip
    given_seconds = time.perf_counter() - started
    given_trades, _ = _vbt_result(given, len(sets))
    return {
        "candles": n,
        "data_source": source,
        "sets": len(sets),
        "seconds": seconds,
        "signals_given_seconds": given_seconds,
        "signal_building_seconds": signal_seconds,
        "trades": trades.tolist(),
        "final_equity": final.tolist(),
        "signals_given_trades": given_trades.tolist(),
        "rss_after_import_mb": base,
    }


# --- JIT compile time ------------------------------------------------------------------


def task_compile(_n: int) -> dict[str, Any]:
    """First calls in a fresh process: cold or warm depends on NUMBA_CACHE_DIR's content.
    Everything the benchmark and the port call is compiled: ema/rsi, the one-pass kernel
    (simulate_candles and simulate_core share one jitted loop) and a sweep's kernels."""
    started = time.perf_counter()
    from adapters.backtest.numba_kernel import run_batch
    from domain.trading.simulation import CandleSeries
    from domain.trading.strategies import StrategyParams

    import_seconds = time.perf_counter() - started
    c, _ = million(500)
    timings = {"import": import_seconds}
    started = time.perf_counter()
    runs = kernel_runs(c)  # ema + rsi
    timings["ema_rsi"] = time.perf_counter() - started
    started = time.perf_counter()
    runs["end_to_end"]()
    timings["simulate_candles"] = time.perf_counter() - started
    started = time.perf_counter()
    runs["passed_in"]()
    timings["simulate_core"] = time.perf_counter() - started
    series = CandleSeries(c.time, c.open, c.high, c.low, c.close)
    started = time.perf_counter()
    run_batch(series, "ema_rsi", [StrategyParams()], _risk(), 1e4)
    timings["sweep"] = time.perf_counter() - started
    timings["kernel_total"] = timings["ema_rsi"] + timings["simulate_candles"]
    # numba's own start-up lands in the first figure (ema_rsi); the import is apart.
    timings["all_total"] = (
        timings["ema_rsi"]
        + timings["simulate_candles"]
        + timings["simulate_core"]
        + timings["sweep"]
    )
    return {"seconds": timings, "cache_dir": os.environ.get("NUMBA_CACHE_DIR", "")}


# --- the real candles ------------------------------------------------------------------


def task_real(_n: int) -> dict[str, Any]:
    """Trade count and final equity of every engine, each run end to end the documented
    way, on the real series, from 10,000."""
    capital = 10_000.0
    rows = []
    rsi = wilder_rsi()
    for name, c in real_series():
        count, cash = kernel_runs(c, capital)["end_to_end"]()
        pf = vectorbt_portfolio(ohlc_frame(c), FAST, SLOW, RSI_PERIOD, rsi, init_cash=capital)
        vbt_trades, vbt_final = _vbt_result(pf)
        # backtesting.py trades whole units only: at 0.002 BTC a unit is fine, at
        # 17,000 USDT it would not be, so it gets the same capital in 1e9 x smaller units.
        bt = backtesting_run(c, "idiomatic", capital * 1e9)
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
