"""Backtest throughput: this project's numba kernel against vectorbt, backtesting.py and
the pure-Python reference, on the same million candles and the same strategy.

Strategy: ema_rsi (EMA 12/26 crossover, RSI 14 < 70 to enter), spot, all-in,
2 % stop loss, 4 % take profit, 0.1 % fee per side. Every engine runs in a
child process of its own (benchmarks/backtest_engines.py), so that timings and
peak memory (the child's ru_maxrss) are its alone. Trade counts are checked
equal across engines before speeds are compared; all ratios are within one run.

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
BACKTESTING_CANDLES = 1_000_000  # ~6 µs a candle: fast enough for the whole series
SWEEP_CANDLES = 100_000
ROOT = Path(__file__).resolve().parent.parent

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
        "backtesting_py_vs_kernel": btpy["trades"] == btpy["kernel_trades_same_candles"],
        "reference_vs_kernel": ref["trades"] == ref["kernel_trades_same_candles"],
        "sweep_per_set_vectorbt_vs_batch_kernel": sweep_vbt["trades"] == sweep_kernel["trades"],
        "real_candles_all_engines": all(
            len({row[e]["trades"] for e in ("kernel", "vectorbt", "backtesting_py", "reference")})
            == 1
            for row in real["series"]
        ),
    }
    sweep_mismatch = sum(
        a != b for a, b in zip(sweep_vbt["trades"], sweep_kernel["trades"], strict=True)
    )

    cps = {
        "kernel": CANDLES / kernel["core_seconds"],
        "kernel_end_to_end": CANDLES / kernel["end_to_end_seconds"],
        "kernel_port_run": CANDLES / kernel["port_run_seconds"],
        "vectorbt": CANDLES / vbt["seconds"],
        "backtesting_py": BACKTESTING_CANDLES / btpy["seconds"],
        "reference": REFERENCE_CANDLES / ref["seconds"],
    }
    sweep_sps = {
        "kernel_batch": sweep_kernel["sets"] / sweep_kernel["seconds"],
        "vectorbt": sweep_vbt["sets"] / sweep_vbt["seconds"],
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
    targets = {
        "kernel_vs_vectorbt": (ratio_vbt, TARGETS["kernel_vs_vectorbt"], ratio_vbt >= 30),
        "kernel_vs_backtesting_py": (
            ratio_bt,
            TARGETS["kernel_vs_backtesting_py"],
            ratio_bt >= 1000,
        ),
        "sweep_vs_vectorbt": (sweep_ratio, TARGETS["sweep_vs_vectorbt"], sweep_ratio >= 500),
        "sweep_peak_memory_mb": (
            peak["sweep_kernel_batch"],
            TARGETS["sweep_peak_memory_mb"],
            peak["sweep_kernel_batch"] < 1024,
        ),
        "compile_cold_seconds": (
            compile_seconds["cold"]["all_total"],
            TARGETS["compile_cold_seconds"],
            compile_seconds["cold"]["all_total"] < 5.0,
        ),
    }
    return {
        "benchmark": "backtest",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count()},
        "data_source": kernel["data_source"],
        "strategy": "ema_rsi 12/26/14 (RSI < 70 to enter), spot, all-in, 2 % stop, 4 % target, "
        "0.1 % fee, initial cash 1e50",
        "candles": {
            "kernel": CANDLES,
            "vectorbt": CANDLES,
            "backtesting_py": BACKTESTING_CANDLES,
            "reference": REFERENCE_CANDLES,
            "sweep": SWEEP_CANDLES,
        },
        "candles_per_second": {k: round(v) for k, v in cps.items()},
        "ratio_vs_vectorbt": round(ratio_vbt, 1),
        "ratio_vs_backtesting_py": round(ratio_bt, 1),
        "ratio_vs_reference": round(cps["kernel"] / cps["reference"], 1),
        "ratio_end_to_end_vs_vectorbt": round(cps["kernel_end_to_end"] / cps["vectorbt"], 1),
        "sweep_sets_per_second": {k: round(v, 1) for k, v in sweep_sps.items()},
        "sweep_ratio_vs_vectorbt": round(sweep_ratio, 1),
        "sweep_seconds": {
            "kernel_batch": round(sweep_kernel["seconds"], 4),
            "vectorbt": round(sweep_vbt["seconds"], 3),
            "vectorbt_signal_building": round(sweep_vbt["signal_seconds"], 3),
        },
        "sweep_threads": sweep_kernel["threads"],
        "compile_seconds": compile_seconds,
        "peak_memory_mb": peak,
        "seconds": {
            "kernel_core": round(kernel["core_seconds"], 5),
            "kernel_indicators": round(kernel["indicator_seconds"], 5),
            "kernel_end_to_end": round(kernel["end_to_end_seconds"], 5),
            "kernel_port_run": round(kernel["port_run_seconds"], 4),
            "vectorbt": round(vbt["seconds"], 4),
            "vectorbt_signal_building": round(vbt["signal_seconds"], 4),
            "backtesting_py": round(btpy["seconds"], 3),
            "reference": round(ref["seconds"], 3),
        },
        "trades": {
            "kernel": kernel["trades"],
            "vectorbt": vbt["trades"],
            "backtesting_py": btpy["trades"],
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
            "backtesting_py": btpy["final_equity"],
            "backtesting_py_kernel_same_candles": btpy["kernel_final_equity_same_candles"],
            "reference": ref["final_equity"],
            "reference_kernel_same_candles": ref["kernel_final_equity_same_candles"],
        },
        "same_trade_counts": checks,
        "real_candles": real,
        "targets": {
            name: {"value": round(value, 2), "target": target, "met": met}
            for name, (value, target, met) in targets.items()
        },
        "versions": {"vectorbt": vbt["version"], "backtesting_py": btpy["version"]},
    }


def print_table(r: dict[str, Any]) -> None:
    cps = r["candles_per_second"]
    print(f"\nbacktest — {r['strategy']}")
    print(f"candles: {r['data_source']}")
    print(f"{'engine':<44} {'candles':>10} {'candles/s':>14} {'kernel is':>11} {'trades':>7}")
    rows = [
        ("this kernel (simulate_core, indicators in)", "kernel", cps["kernel"], "kernel"),
        ("this kernel end to end (+ EMA/RSI)", "kernel", cps["kernel_end_to_end"], "kernel"),
        ("this kernel via the port (+ result objects)", "kernel", cps["kernel_port_run"], "kernel"),
        ("vectorbt Portfolio.from_signals", "vectorbt", cps["vectorbt"], "vectorbt"),
        ("backtesting.py", "backtesting_py", cps["backtesting_py"], "backtesting_py"),
        ("pure-Python reference (prefix)", "reference", cps["reference"], "reference"),
    ]
    for label, size_key, rate, trades_key in rows:
        print(
            f"{label:<44} {r['candles'][size_key]:>10,} {rate:>14,.0f} "
            f"{cps['kernel'] / rate:>10.1f}x {r['trades'][trades_key]:>7}"
        )
    print(
        "(on the same candles the kernel makes "
        f"{r['trades']['backtesting_py_kernel_same_candles']} trades for backtesting.py's run, "
        f"{r['trades']['reference_kernel_same_candles']} for the reference's prefix)"
    )
    s = r["sweep_sets_per_second"]
    print(
        f"\nsweep, 1,000 sets x {r['candles']['sweep']:,} candles: batch kernel "
        f"{s['kernel_batch']:,.0f} sets/s ({r['sweep_threads']} threads), vectorbt "
        f"{s['vectorbt']:,.1f} sets/s -> {r['sweep_ratio_vs_vectorbt']:.0f}x; "
        f"sets with different trade counts: {r['trades']['sweep_sets_with_different_counts']}"
    )
    c = r["compile_seconds"]
    print(
        f"JIT compile, empty cache: kernel {c['cold']['kernel_total']:.2f} s, batch "
        f"{c['cold']['simulate_batch']:.2f} s; cache warm: kernel "
        f"{c['warm']['kernel_total']:.2f} s, batch {c['warm']['simulate_batch']:.2f} s"
    )
    print(
        "peak RSS per child (MB): "
        + ", ".join(f"{k} {v:,.0f}" for k, v in r["peak_memory_mb"].items())
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
