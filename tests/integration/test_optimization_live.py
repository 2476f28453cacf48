"""A large optimisation job on a real `tradebot serve`: the batch kernel runs in worker
processes, so the API keeps answering `GET /health` within 50 ms all the while."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from entrypoints.migrations import upgrade
from tests.integration.backtest_candles import backtest_request, store_hourly_candles
from tests.integration.test_live_server import clean_env, running_server

PASSWORD = "Correct-Horse-9-Battery"
# 24,000 hourly candles from 2024-01-20: every set walks them all.
DAYS = 1000
LIMIT_SECONDS = 0.050
OFFLINE = {"TRADEBOT_EXCHANGE": "paper", "TRADEBOT_PAPER_FEED": "replay"}


def test_health_answers_within_50_ms_while_a_large_optimisation_runs(tmp_path: Path) -> None:
    database_url = clean_env(tmp_path)["TRADEBOT_DATABASE_URL"]
    upgrade(database_url)
    asyncio.run(store_hourly_candles(database_url, DAYS))
    # 20 x 50 x 5 x 2 = 10,000 sets, each candle by candle (a daily target is set).
    body = {
        **backtest_request(DAYS),
        "parameters": {"take_profit_perc": 4, "position_size_perc": 10},
        "ranges": {
            "ema_fast": {"min": 2, "max": 21, "step": 1},
            "ema_slow": {"min": 22, "max": 71, "step": 1},
            "stop_loss_perc": [1, 2, 3, 4, 5],
            "daily_target_perc": [3, 6],
        },
    }

    with (
        running_server(tmp_path, **OFFLINE) as server,
        httpx.Client(base_url=server.base_url, timeout=10.0) as http,
    ):
        http.post("/api/v1/auth/register", json={"email": "a@example.com", "password": PASSWORD})
        login = http.post(
            "/api/v1/auth/login", json={"email": "a@example.com", "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        accepted = http.post("/api/v1/backtest/optimize", json=body, headers=headers)
        assert accepted.status_code == 202, accepted.text
        job_url = f"/api/v1/backtest/optimize/{accepted.json()['job_id']}"

        latencies: list[float] = []
        progress: set[int] = set()
        deadline = time.monotonic() + 120
        job = http.get(job_url, headers=headers).json()
        while job["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, f"still {job['status']} after 120 s"
            for _ in range(10):
                started = time.perf_counter()
                health = http.get("/health")
                latencies.append(time.perf_counter() - started)
                assert health.status_code == 200
                time.sleep(0.01)
            job = http.get(job_url, headers=headers).json()
            progress.add(job["done_sets"])

    assert job["status"] == "completed", job["error"]
    assert job["total_sets"] == 10_000
    # The probes overlapped the kernel's work: chunk after chunk was done meanwhile.
    assert len({done for done in progress if 0 < done < 10_000}) >= 3, sorted(progress)
    assert len(latencies) >= 100
    slow = sorted(latency for latency in latencies if latency >= LIMIT_SECONDS)
    assert not slow, f"{len(slow)} of {len(latencies)} answers over 50 ms: {slow[-5:]}"
