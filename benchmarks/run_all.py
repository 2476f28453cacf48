"""`make bench`: run every benchmark, print its table, write benchmarks/results/<name>.json."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import auth_http, backtest_bench, http_load, live_eval_bench

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    for module in (auth_http, http_load, backtest_bench, live_eval_bench):
        result = module.main()
        path = RESULTS / f"{result['benchmark']}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
