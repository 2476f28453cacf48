"""Backtest throughput: this project's numba kernel against vectorbt, backtesting.py and
the pure-Python reference, on the same million candles and the same strategy.

Strategy: ema_rsi (EMA 12/26 crossover, RSI 14 < 70 to enter), spot, all-in,
2 % stop loss, 4 % take profit, 0.1 % fee per side. Every engine runs in a
child process of its own (benchmarks/backtest_engines.py), so that timings and
peak memory (the child's ru_maxrss) are its alone. Trade counts are checked
equal across engines before speeds are compared; all ratios are within one run.

The targets compare end to end runs (OHLC candles in, trades out), each engine
used the way its documentation shows; the runs given precomputed indicators or
signals are reported beside them (MEASURES says what each figure times).

    .venv/bin/python -m benchmarks.backtest_bench     (or `make bench`)
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CANDLES = 1_000_000
REFERENCE_CANDLES = 50_000  # ~4 µs a candle in pure Python: a prefix, rate per candle
BACKTESTING_CANDLES = 1_000_000  # ~6-10 µs a candle: fast enough for the whole series
SWEEP_CANDLES = 100_000
ROOT = Path(__file__).resolve().parent.parent

MEASURES = {
    "kernel": "end to end: numba_core.simulate_candles from the candle arrays (time, "
    "OHLC) to trade rows, EMAs and RSI advanced inside the candle loop, trades buffer "
    "allocated in the timing",
    "kernel_indicators_passed_in": "numba_core.simulate_core given EMA 12, EMA 26 and "
    "RSI 14 series computed beforehand",
    "kernel_two_step": "the indicator passes (ema, ema, rsi) then simulate_core",
    "kernel_port_run": "NumbaBacktestKernel.run: simulate_candles plus the equity list "
    "and SimulatedTrade objects",
    "vectorbt": "end to end from an OHLC DataFrame: vbt.MA.run(ewm=True) x2, "
    "ma_crossed_above/below, Wilder RSI through IndicatorFactory.from_apply_func, "
    "Portfolio.from_signals with sl_stop/tp_stop/fees, pf.trades.count()",
    "vectorbt_signals_given": "Portfolio.from_signals given numpy entry/exit arrays",
    "backtesting_py": "end to end from an OHLC DataFrame: Backtest(...).run() of a "
    "Strategy with self.I(ema/rsi) indicators and crossover() in next()",
    "backtesting_py_signals_given": "Backtest(...).run() of a Strategy whose next() reads "
    "precomputed entry/exit arrays",
    "reference": "domain.trading.simulation.simulate on Python lists",
    "sweep kernel_batch": "run_batch from the candles: shared EMA/RSI tables, shared cross "
    "lists and exits, event-driven pass per set (numba_core.simulate_events), one thread "
    "per numba thread",
    "sweep kernel_candle_by_candle": "run_batch(event_pass=False): the same tables, then "
    "the one-pass kernel over them for every set, candle by candle",
    "sweep vectorbt": "end to end from the OHLC DataFrame, the same calls as 'vectorbt' "
    "with lists of windows (1,000 columns), max_orders sized to the signals",
    "sweep vectorbt_signals_given": "from_signals alone given (100,000 x 1,000) "
    "column-ordered entry/exit arrays",
}

TARGETS = {
    "kernel_vs_vectorbt": 30.0,
    "kernel_vs_backtesting_py": 1000.0,
    "sweep_vs_vectorbt": 500.0,
    "sweep_peak_memory_mb": 1024.0,
    "compile_cold_seconds": 5.0,
}


def child(task: str, n: int = 0, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one engine task in a fresh interpreter; its JSON plus its own rusage."""
    environment = {**os.environ, **(env or {}), "TQDM_DISABLE": "1"}
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), str(ROOT), environment.get("PYTHONPATH", "")) if p
    )
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "benchmarks.backtest_engines", task, str(n)],
            stdout=out,
            stderr=err,
            env=environment,
            cwd=ROOT,
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise RuntimeError(f"{task} failed:\n{err.read().decode()[-3000:]}")
        result = json.loads(out.read().decode().strip().splitlines()[-1])
    result["child_maxrss_mb"] = round(usage.ru_maxrss / 1024.0, 1)
    return result


def compile_times() -> dict[str, Any]:
    cache = tempfile.mkdtemp(prefix="tradebot-numba-cache-")
    try:
        cold = child("compile", env={"NUMBA_CACHE_DIR": cache})["seconds"]
        warm = child("compile", env={"NUMBA_CACHE_DIR": cache})["seconds"]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return {
        "cold": {k: round(v, 3) for k, v in cold.items()},
        "warm": {k: round(v, 3) for k, v in warm.items()},
    }


def run() -> dict[str, Any]:
    print("backtest benchmark: compile times ...", flush=True)
    compile_seconds = compile_times()
    print("  kernel (1M) ...", flush=True)
    kernel = child("kernel", CANDLES)
    print("  vectorbt (1M) ...", flush=True)
    vbt = child("vectorbt", CANDLES)
    print(f"  backtesting.py ({BACKTESTING_CANDLES:,}) ...", flush=True)
    btpy = child("backtesting", BACKTESTING_CANDLES)
    print(f"  pure-Python reference ({REFERENCE_CANDLES:,}) ...", flush=True)
    ref = child("reference", REFERENCE_CANDLES)
    print("  sweep, batch kernel (1,000 sets x 100k) ...", flush=True)
    sweep_kernel = child("sweep_kernel", SWEEP_CANDLES)
    print("  sweep, vectorbt (1,000 columns x 100k) ...", flush=True)
    sweep_vbt = child("sweep_vectorbt", SWEEP_CANDLES)
    print("  real candles ...", flush=True)
    real = child("real")

    # Same trades before comparing speed.
    checks = {
        "vectorbt_vs_kernel_1M": vbt["trades"] == kernel["trades"],
        "vectorbt_signals_given_vs_kernel_1M": vbt["signals_given_trades"] == kernel["trades"],
        "backtesting_py_vs_kernel": btpy["trades"] == btpy["kernel_trades_same_candles"],
        "backtesting_py_signals_given_vs_kernel": btpy["signals_given_trades"]
        == btpy["kernel_trades_same_candles"],
        "reference_vs_kernel": ref["trades"] == ref["kernel_trades_same_candles"],
        "sweep_per_set_vectorbt_vs_batch_kernel": sweep_vbt["trades"] == sweep_kernel["trades"],
        "sweep_per_set_vectorbt_signals_given_vs_batch_kernel": sweep_vbt["signals_given_trades"]
        == sweep_kernel["trades"],
        "real_candles_all_engines": all(
            len({row[e]["trades"] for e in ("kernel", "vectorbt", "backtesting_py", "reference")})
            == 1
            for row in real["series"]
        ),
    }
    comparable = all(checks.values())
    if not comparable:
        print(f"TRADE COUNTS DIFFER, speeds not comparable: {checks}", flush=True)
    sweep_mismatch = sum(
        a != b for a, b in zip(sweep_vbt["trades"], sweep_kernel["trades"], strict=True)
    )

    k = kernel["seconds"]
    cps = {
        "kernel": CANDLES / k["end_to_end"],
        "kernel_indicators_passed_in": CANDLES / k["passed_in"],
        "kernel_two_step": CANDLES / k["two_step"],
        "kernel_port_run": CANDLES / kernel["port_run_seconds"],
        "vectorbt": CANDLES / vbt["seconds"],
        "vectorbt_signals_given": CANDLES / vbt["signals_given_seconds"],
        "backtesting_py": BACKTESTING_CANDLES / btpy["seconds"],
        "backtesting_py_signals_given": BACKTESTING_CANDLES / btpy["signals_given_seconds"],
        "reference": REFERENCE_CANDLES / ref["seconds"],
    }
    sweep_sps = {
        "kernel_batch": sweep_kernel["sets"] / sweep_kernel["seconds"],
        "kernel_candle_by_candle": sweep_kernel["sets"] / sweep_kernel["candle_by_candle_seconds"],
        "vectorbt": sweep_vbt["sets"] / sweep_vbt["seconds"],
        "vectorbt_signals_given": sweep_vbt["sets"] / sweep_vbt["signals_given_seconds"],
    }
    ratio_vbt = cps["kernel"] / cps["vectorbt"]
    ratio_bt = cps["kernel"] / cps["backtesting_py"]
    sweep_ratio = sweep_sps["kernel_batch"] / sweep_sps["vectorbt"]
    peak = {
        "kernel": kernel["child_maxrss_mb"],
        "vectorbt": vbt["child_maxrss_mb"],
        "backtesting_py": btpy["child_maxrss_mb"],
        "reference": ref["child_maxrss_mb"],
        "sweep_kernel_batch": sweep_kernel["child_maxrss_mb"],
        "sweep_vectorbt": sweep_vbt["child_maxrss_mb"],
    }
    cold = compile_seconds["cold"]["all_total"]
    targets = {
        "kernel_vs_vectorbt": (ratio_vbt, TARGETS["kernel_vs_vectorbt"]),
        "kernel_vs_backtesting_py": (ratio_bt, TARGETS["kernel_vs_backtesting_py"]),
        "sweep_vs_vectorbt": (sweep_ratio, TARGETS["sweep_vs_vectorbt"]),
    }
    return {
        "benchmark": "backtest",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count()},
        "data_source": kernel["data_source"],
        "strategy": "ema_rsi 12/26/14 (RSI < 70 to enter), spot, all-in, 2 % stop, 4 % target, "
        "0.1 % fee, initial cash 1e50",
        "measures": MEASURES,
        "candles": {
            "kernel": CANDLES,
            "vectorbt": CANDLES,
            "backtesting_py": BACKTESTING_CANDLES,
            "reference": REFERENCE_CANDLES,
            "sweep": SWEEP_CANDLES,
        },
        "candles_per_second": {key: round(v) for key, v in cps.items()},
        "ratio_vs_vectorbt": round(ratio_vbt, 1),
        "ratio_vs_backtesting_py": round(ratio_bt, 1),
        "ratio_vs_reference": round(cps["kernel"] / cps["reference"], 1),
        "ratio_signals_given": {
            "vectorbt": round(
                cps["kernel_indicators_passed_in"] / cps["vectorbt_signals_given"], 1
            ),
            "backtesting_py": round(
                cps["kernel_indicators_passed_in"] / cps["backtesting_py_signals_given"], 1
            ),
        },
        "sweep_sets_per_second": {key: round(v, 1) for key, v in sweep_sps.items()},
        "sweep_ratio_vs_vectorbt": round(sweep_ratio, 1),
        "sweep_ratio_vs_vectorbt_signals_given": round(
            sweep_sps["kernel_batch"] / sweep_sps["vectorbt_signals_given"], 1
        ),
        "sweep_seconds": {
            "kernel_batch": round(sweep_kernel["seconds"], 4),
            "kernel_candle_by_candle": round(sweep_kernel["candle_by_candle_seconds"], 4),
            "vectorbt": round(sweep_vbt["seconds"], 3),
            "vectorbt_signals_given": round(sweep_vbt["signals_given_seconds"], 3),
            "vectorbt_signals_given_signal_building": round(
                sweep_vbt["signal_building_seconds"], 3
            ),
        },
        "sweep_threads": sweep_kernel["threads"],
        "compile_seconds": compile_seconds,
        "peak_memory_mb": peak,
        "seconds": {
            "kernel_end_to_end": round(k["end_to_end"], 5),
            "kernel_indicators_passed_in": round(k["passed_in"], 5),
            "kernel_two_step": round(k["two_step"], 5),
            "kernel_indicators_alone": round(kernel["indicator_seconds"], 5),
            "kernel_port_run": round(kernel["port_run_seconds"], 4),
            "vectorbt": round(vbt["seconds"], 4),
            "vectorbt_signals_given": round(vbt["signals_given_seconds"], 4),
            "vectorbt_signals_given_signal_building": round(vbt["signal_building_seconds"], 4),
            "backtesting_py": round(btpy["seconds"], 3),
            "backtesting_py_signals_given": round(btpy["signals_given_seconds"], 3),
            "reference": round(ref["seconds"], 3),
        },
        "trades": {
            "kernel": kernel["trades"],
            "vectorbt": vbt["trades"],
            "vectorbt_signals_given": vbt["signals_given_trades"],
            "backtesting_py": btpy["trades"],
            "backtesting_py_signals_given": btpy["signals_given_trades"],
            "backtesting_py_kernel_same_candles": btpy["kernel_trades_same_candles"],
            "reference": ref["trades"],
            "reference_kernel_same_candles": ref["kernel_trades_same_candles"],
            "sweep_sets_with_different_counts": sweep_mismatch,
            "sweep_total_kernel": sum(sweep_kernel["trades"]),
            "sweep_total_vectorbt": sum(sweep_vbt["trades"]),
        },
        "final_equity": {
            "kernel": kernel["final_equity"],
            "vectorbt": vbt["final_equity"],
            "vectorbt_signals_given": vbt["signals_given_final_equity"],
            "backtesting_py": btpy["final_equity"],
            "backtesting_py_signals_given": btpy["signals_given_final_equity"],
            "backtesting_py_kernel_same_candles": btpy["kernel_final_equity_same_candles"],
            "reference": ref["final_equity"],
            "reference_kernel_same_candles": ref["kernel_final_equity_same_candles"],
        },
        "same_trade_counts": checks,
        "real_candles": real,
        "targets": {
            **{
                name: {
                    "value": round(value, 2),
                    "target": target,
                    "met": comparable and value >= target,
                }
                for name, (value, target) in targets.items()
            },
            "sweep_peak_memory_mb": {
                "value": peak["sweep_kernel_batch"],
                "target": TARGETS["sweep_peak_memory_mb"],
                "met": peak["sweep_kernel_batch"] < TARGETS["sweep_peak_memory_mb"],
            },
            "compile_cold_seconds": {
                "value": round(cold, 2),
                "target": TARGETS["compile_cold_seconds"],
                "met": cold < TARGETS["compile_cold_seconds"],
            },
        },
        "versions": {"vectorbt": vbt["version"], "backtesting_py": btpy["version"]},
    }


def print_table(r: dict[str, Any]) -> None:
    cps = r["candles_per_second"]
    trades = r["trades"]
    print(f"\nbacktest — {r['strategy']}")
    print(f"candles: {r['data_source']}")
    print(f"{'engine':<58} {'candles':>10} {'candles/s':>14} {'kernel is':>10} {'trades':>7}")
    e2e = cps["kernel"]
    given = cps["kernel_indicators_passed_in"]
    rows = [
        ("END TO END, from OHLC candles to trades", None, 0.0, 0.0, ""),
        ("this kernel, simulate_candles (indicators in the loop)", "kernel", e2e, e2e, "kernel"),
        ("this kernel via the port (+ equity list, trade objects)", "kernel",
         cps["kernel_port_run"], e2e, "kernel"),
        ("this kernel, indicator passes then simulate_core", "kernel", cps["kernel_two_step"],
         e2e, "kernel"),
        ("vectorbt: MA.run, crossovers, RSI factory, from_signals", "vectorbt", cps["vectorbt"],
         e2e, "vectorbt"),
        ("backtesting.py: self.I indicators, crossover() in next()", "backtesting_py",
         cps["backtesting_py"], e2e, "backtesting_py"),
        ("pure-Python reference simulate (prefix)", "reference", cps["reference"], e2e,
         "reference"),
        ("GIVEN PRECOMPUTED INPUTS", None, 0.0, 0.0, ""),
        ("this kernel, simulate_core (indicator series in)", "kernel", given, given, "kernel"),
        ("vectorbt from_signals (entry/exit arrays in)", "vectorbt",
         cps["vectorbt_signals_given"], given, "vectorbt_signals_given"),
        ("backtesting.py next() reading entry/exit arrays", "backtesting_py",
         cps["backtesting_py_signals_given"], given, "backtesting_py_signals_given"),
    ]  # fmt: skip
    for label, size_key, rate, base, trades_key in rows:
        if size_key is None:
            print(label)
            continue
        print(
            f"  {label:<56} {r['candles'][size_key]:>10,} {rate:>14,.0f} "
            f"{base / rate:>9.1f}x {trades[trades_key]:>7}"
        )
    print(
        "(on the same candles the kernel makes "
        f"{trades['backtesting_py_kernel_same_candles']} trades for backtesting.py's run, "
        f"{trades['reference_kernel_same_candles']} for the reference's prefix)"
    )
    s = r["sweep_sets_per_second"]
    print(
        f"\nsweep, 1,000 sets x {r['candles']['sweep']:,} candles ({r['sweep_threads']} threads), "
        "sets/s: "
        f"batch kernel {s['kernel_batch']:,.0f}, kernel candle by candle "
        f"{s['kernel_candle_by_candle']:,.0f}, vectorbt end to end {s['vectorbt']:,.1f} "
        f"-> {r['sweep_ratio_vs_vectorbt']:.0f}x; vectorbt from_signals alone "
        f"{s['vectorbt_signals_given']:,.1f} -> {r['sweep_ratio_vs_vectorbt_signals_given']:.0f}x; "
        f"sets with different trade counts: {trades['sweep_sets_with_different_counts']}"
    )
    c = r["compile_seconds"]
    print(
        "JIT compile, empty cache: "
        + ", ".join(f"{key} {v:.2f} s" for key, v in c["cold"].items())
        + "; cache warm: "
        + ", ".join(f"{key} {v:.2f} s" for key, v in c["warm"].items())
    )
    print(
        "peak RSS per child (MB): "
        + ", ".join(f"{key} {v:,.0f}" for key, v in r["peak_memory_mb"].items())
    )
    print(f"same trade counts: {r['same_trade_counts']}")
    print(f"\nreal candles, from {r['real_candles']['initial_capital']:,.0f}:")
    for row in r["real_candles"]["series"]:
        cells = ", ".join(
            f"{e} {row[e]['trades']} trades / {row[e]['final_equity']:,.6f}"
            for e in ("kernel", "vectorbt", "backtesting_py", "reference")
        )
        print(f"  {row['series']} ({row['candles']:,}): {cells}")
    print("\ntargets:")
    for name, t in r["targets"].items():
        verdict = "met" if t["met"] else "MISSED"
        print(f"  {name:<26} {t['value']:>12,.2f}  target {t['target']:>8,.0f}  {verdict}")


def main() -> dict[str, Any]:
    result = run()
    print_table(result)
    return result


if __name__ == "__main__":
    out = ROOT / "benchmarks" / "results" / "backtest.json"
    out.write_text(json.dumps(main(), indent=2) + "\n")
    print(f"wrote {out}")
