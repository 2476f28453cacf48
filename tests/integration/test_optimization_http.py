"""Optimisation jobs over HTTP, on SQLite and PostgreSQL: 202 and a job that runs in the
background through the process pool to its top-N sets (each what POST /run gives for
its parameters), progress on the event bus, the grid cap, the per-user limit, owners
only, and a restart that fails what it interrupted."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from domain.events import DeliveredEvent
from domain.ports.parameter_sweep import ParameterSweep, SweepOutcome
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries
from domain.trading.strategies import StrategyParams
from entrypoints.container import Container, build_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration.backtest_candles import DAYS, backtest_request, store_hourly_candles
from tests.integration.bots_api import assert_envelope, sign_up
from tests.support.fakes import FakeExchange

OPTIMIZE = "/api/v1/backtest/optimize"
BASE = {"take_profit_perc": 4, "position_size_perc": 10}
NOBODYS_ID = 1_999_999_999


class HeldSweep(ParameterSweep):
    """Holds every chunk until released: its jobs stay running meanwhile."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def run(
        self,
        candles: CandleSeries,
        strategy: str,
        param_sets: Sequence[StrategyParams],
        risks: Sequence[RiskParams],
        initial_capital: float,
    ) -> SweepOutcome:
        await self.release.wait()
        n = len(param_sets)
        return SweepOutcome([initial_capital] * n, [0] * n, [0] * n)

    async def close(self) -> None:
        return None


@pytest.fixture
async def candles(settings: Settings) -> None:
    await store_hourly_candles(settings.database_url, DAYS)


def optimize_body(ranges: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**backtest_request(DAYS), "parameters": dict(BASE), "ranges": ranges, **fields}


async def start(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(OPTIMIZE, json=body, headers=headers)
    assert response.status_code == 202, response.text
    accepted: dict[str, Any] = response.json()
    assert response.headers["location"] == f"{OPTIMIZE}/{accepted['job_id']}"
    return accepted


async def wait_for(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    job_id: int,
    statuses: set[str],
    timeout: float = 30.0,
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await client.get(f"{OPTIMIZE}/{job_id}", headers=headers)
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        if job["status"] in statuses:
            return job
        assert asyncio.get_running_loop().time() < deadline, f"job still {job['status']}"
        await asyncio.sleep(0.05)


async def user_id(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    me = await client.get("/api/v1/auth/me", headers=headers)
    value: int = me.json()["id"]
    return value


def grid_position(parameters: dict[str, Any], ranges: dict[str, list[Any]]) -> int:
    """Where a set lies in the grid: a product over the sorted names, the last fastest."""
    names = sorted(ranges)
    combos = list(itertools.product(*(ranges[name] for name in names)))
    return combos.index(tuple(parameters[name] for name in names))


async def test_a_job_runs_to_its_top_sets_each_as_post_run_gives_with_progress_events(
    client: httpx.AsyncClient, container: Container, candles: None
) -> None:
    headers = await sign_up(client, "alice@example.com")
    subscription = container.event_bus().subscribe(await user_id(client, headers))
    ranges = {
        "ema_fast": {"min": 2, "max": 21, "step": 1},
        "ema_slow": {"min": 22, "max": 71, "step": 1},
        "stop_loss_perc": [1, 1.5, 2, 2.5, 3, 4],
    }

    accepted = await start(client, headers, optimize_body(ranges, top_n=5))

    assert accepted == {"job_id": accepted["job_id"], "status": "queued", "total_sets": 6000}
    job = await wait_for(client, headers, accepted["job_id"], {"completed", "failed"})
    assert job["status"] == "completed", job["error"]
    assert (job["done_sets"], job["progress"], job["error"]) == (6000, 1.0, None)
    assert job["created_at"] <= job["started_at"] <= job["finished_at"]
    assert job["request"]["ranges"] == {
        "ema_fast": {"min": 2, "max": 21, "step": 1},
        "ema_slow": {"min": 22, "max": 71, "step": 1},
        "stop_loss_perc": [1, 1.5, 2, 2.5, 3, 4],
    }
    results = job["results"]
    assert [r["rank"] for r in results] == [1, 2, 3, 4, 5]
    returns = [r["total_return"] for r in results]
    assert returns == sorted(returns, reverse=True)
    for ranked in (results[0], results[-1]):
        assert set(ranked["parameters"]) == {*BASE, "ema_fast", "ema_slow", "stop_loss_perc"}
        single = await client.post(
            "/api/v1/backtest/run",
            json={**backtest_request(DAYS), "parameters": ranked["parameters"]},
            headers=headers,
        )
        assert single.status_code == 200, single.text
        data = single.json()["data"]
        assert ranked["final_capital"] == data["final_capital"]
        for name in ("total_trades", "winning_trades", "losing_trades"):
            assert ranked[name] == data[name], name
        for name in ("total_return", "win_rate"):
            assert ranked[name] == pytest.approx(data[name], rel=1e-12), name

    events: list[DeliveredEvent] = []
    async with asyncio.timeout(10):
        async for event in subscription:
            events.append(event)
            if event.type == "optimization_completed":
                break
    job_id = accepted["job_id"]
    assert [(e.type, e.data) for e in events] == [
        ("optimization_progress", {"job_id": job_id, "done": 0, "total": 6000}),
        ("optimization_progress", {"job_id": job_id, "done": 5000, "total": 6000}),
        ("optimization_progress", {"job_id": job_id, "done": 6000, "total": 6000}),
        ("optimization_completed", {"job_id": job_id, "status": "completed"}),
    ]


async def test_the_top_sets_are_the_best_of_the_whole_grid_ties_in_grid_order(
    client: httpx.AsyncClient, candles: None
) -> None:
    headers = await sign_up(client, "alice@example.com")
    ranges: dict[str, list[Any]] = {
        "ema_fast": [5, 8],
        "ema_slow": [30, 40],
        "stop_loss_perc": [1.0, 2.0, 3.0, 4.0, 5.0],
        "max_daily_trades": [1, 2, 5],
    }
    for metric in ("total_trades", "win_rate"):
        every = await start(client, headers, optimize_body(ranges, metric=metric, top_n=100))
        top = await start(client, headers, optimize_body(ranges, metric=metric, top_n=7))
        all_sets = (await wait_for(client, headers, every["job_id"], {"completed"}))["results"]
        best = (await wait_for(client, headers, top["job_id"], {"completed"}))["results"]

        assert len(all_sets) == 60
        keys = [(-s[metric], grid_position(s["parameters"], ranges)) for s in all_sets]
        assert keys == sorted(keys), metric
        assert len({s[metric] for s in all_sets}) < 60, "the grid must have ties to test"
        assert best == all_sets[:7]


async def test_a_grid_over_the_cap_or_an_invalid_combination_is_refused_with_details(
    client: httpx.AsyncClient, candles: None
) -> None:
    headers = await sign_up(client, "alice@example.com")
    too_large = optimize_body(
        {
            "ema_fast": {"min": 2, "max": 500, "step": 1},
            "ema_slow": {"min": 2, "max": 500, "step": 1},
        }
    )
    overlapping = optimize_body({"ema_fast": [10, 20], "ema_slow": [15, 30]})
    not_a_parameter = optimize_body({"symbol": [1, 2]})

    big = assert_envelope(await client.post(OPTIMIZE, json=too_large, headers=headers), 400)
    bad = assert_envelope(await client.post(OPTIMIZE, json=overlapping, headers=headers), 400)
    odd = assert_envelope(await client.post(OPTIMIZE, json=not_a_parameter, headers=headers), 400)

    assert big["error"] == "Too many combinations"
    assert big["details"] == {
        "ranges": ["249,001 combinations; at most 100,000: use fewer values or larger steps"]
    }
    assert bad["details"] == {
        "ranges.ema_fast": ["must be below ema_slow (with ema_fast=20, ema_slow=15)"]
    }
    assert odd["details"] == {"ranges.symbol": ["not a numeric backtest parameter"]}


async def test_a_user_gets_429_beyond_their_unfinished_jobs_until_one_finishes(
    client: httpx.AsyncClient, container: Container, candles: None
) -> None:
    held = HeldSweep()
    container.parameter_sweep.override(held)
    alice = await sign_up(client, "alice@example.com")
    bob = await sign_up(client, "bob@example.com")
    body = optimize_body({"ema_fast": [5, 8]})

    # Six at once: they race for the two free slots, and only two may win.
    answers = await asyncio.gather(
        *(client.post(OPTIMIZE, json=body, headers=alice) for _ in range(6))
    )

    assert sorted(a.status_code for a in answers) == [202, 202, 429, 429, 429, 429]
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.headers["retry-after"] == "10"
    assert assert_envelope(refused, 429)["details"] == {
        "limit": "at most 2 queued or running jobs per user"
    }
    jobs = [a.json()["job_id"] for a in answers if a.status_code == 202]
    running = await wait_for(client, alice, jobs[0], {"running"})
    assert (running["done_sets"], running["progress"], running["results"]) == (0, 0.0, None)
    assert (await client.post(OPTIMIZE, json=body, headers=bob)).status_code == 202

    held.release.set()
    for job_id in jobs:
        await wait_for(client, alice, job_id, {"completed"})
    assert (await client.post(OPTIMIZE, json=body, headers=alice)).status_code == 202


async def test_another_users_job_is_answered_exactly_like_a_missing_one(
    client: httpx.AsyncClient, candles: None
) -> None:
    alice = await sign_up(client, "alice@example.com")
    bob = await sign_up(client, "bob@example.com")
    job_id = (await start(client, alice, optimize_body({"ema_fast": [5, 8]})))["job_id"]

    theirs = await client.get(f"{OPTIMIZE}/{job_id}", headers=bob)
    nobodys = await client.get(f"{OPTIMIZE}/{NOBODYS_ID}", headers=bob)

    assert (theirs.status_code, theirs.content) == (nobodys.status_code, nobodys.content)
    assert assert_envelope(theirs, 404)["error"] == "Optimisation job not found"
    assert (await wait_for(client, alice, job_id, {"completed"}))["total_sets"] == 2


async def test_a_restart_fails_a_job_it_interrupted_and_never_leaves_it_running(
    client: httpx.AsyncClient,
    container: Container,
    settings: Settings,
    exchange: FakeExchange,
    candles: None,
) -> None:
    container.parameter_sweep.override(HeldSweep())
    headers = await sign_up(client, "alice@example.com")
    job_id = (await start(client, headers, optimize_body({"ema_fast": [5, 8]})))["job_id"]
    await wait_for(client, headers, job_id, {"running"})

    # Another API process starts on the same database (this one's job is still held).
    restarted = build_container(settings)
    restarted.exchange.override(exchange)
    app = create_app(restarted)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://restarted") as http:
            job = (await http.get(f"{OPTIMIZE}/{job_id}", headers=headers)).json()

    assert (job["status"], job["error"], job["results"]) == ("failed", "interrupted", None)
    assert job["finished_at"] is not None
    # The first process's run, cancelled at its shutdown, finds its job no longer running
    # and leaves the stored failure as it is.
    await container.optimization_tasks().close()
    assert (await client.get(f"{OPTIMIZE}/{job_id}", headers=headers)).json() == job
