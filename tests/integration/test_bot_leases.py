"""Bot leases on SQLite and PostgreSQL: one holder per bot, expiry, due times, and
concurrent claimers that never get the same bot; optimistic versions of bot states."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from adapters.persistence.bot_lease_store import SqlBotLeases
from domain.bots.errors import StaleBotState
from entrypoints.container import Container
from tests.integration.bots_api import add_api_key, create_bot, sign_up
from tests.support.fakes import FakeExchange

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
LEASE = 30.0


async def started_bots(client: httpx.AsyncClient, exchange: FakeExchange, n: int) -> list[int]:
    headers = await sign_up(client, "leases@example.com")
    key_id = await add_api_key(client, exchange, headers)
    ids = []
    for i in range(n):
        bot = await create_bot(client, headers, name=f"bot {i}", api_key_id=key_id)
        response = await client.post(f"/api/v1/bot-configs/{bot['id']}/start", headers=headers)
        assert response.status_code == 200, response.text
        ids.append(bot["id"])
    return ids


async def test_a_leased_bot_is_nobody_elses_until_released_or_expired(
    client: httpx.AsyncClient, container: Container, exchange: FakeExchange
) -> None:
    [bot_id] = await started_bots(client, exchange, 1)
    leases = SqlBotLeases(container.session_factory())
    [held] = await leases.claim_due("a", 0, NOW, LEASE, 10)
    assert held.bot_config_id == bot_id
    assert await leases.claim_due("b", 0, NOW, LEASE, 10) == []
    assert await leases.claim_due("b", 0, NOW + timedelta(seconds=LEASE - 1), LEASE, 10) == []
    expired = NOW + timedelta(seconds=LEASE + 1)
    assert await leases.claim_due("b", 0, expired, LEASE, 10) == [held]


async def test_a_renewed_lease_outlives_its_first_term(
    client: httpx.AsyncClient, container: Container, exchange: FakeExchange
) -> None:
    await started_bots(client, exchange, 1)
    leases = SqlBotLeases(container.session_factory())
    [held] = await leases.claim_due("a", 0, NOW, LEASE, 10)
    await leases.renew("a", [held], NOW + timedelta(seconds=LEASE - 1), LEASE)
    later = NOW + timedelta(seconds=LEASE + 1)
    assert await leases.claim_due("b", 0, later, LEASE, 10) == []


async def test_a_released_bot_is_due_again_at_its_next_due_time_only(
    client: httpx.AsyncClient, container: Container, exchange: FakeExchange
) -> None:
    await started_bots(client, exchange, 1)
    leases = SqlBotLeases(container.session_factory())
    [held] = await leases.claim_due("a", 1_000, NOW, LEASE, 10)
    await leases.release("a", held, next_due_ms=5_000)
    # Running now (not pending): due only from 5,000 ms of market time on.
    async with container.uow() as uow:
        state = await uow.bot_states.get(held.user_id, held.bot_config_id)
        assert state is not None
        state.status = state.status.RUNNING
        await uow.bot_states.update(state)
        await uow.commit()
    assert await leases.claim_due("b", 4_999, NOW, LEASE, 10) == []
    assert await leases.claim_due("b", 5_000, NOW, LEASE, 10) == [held]


async def test_stopped_bots_are_never_claimed_and_release_all_frees_a_workers_bots(
    client: httpx.AsyncClient, container: Container, exchange: FakeExchange
) -> None:
    ids = await started_bots(client, exchange, 3)
    headers = await sign_up(client, "leases@example.com")
    await client.post(f"/api/v1/bot-configs/{ids[0]}/stop", headers=headers)
    leases = SqlBotLeases(container.session_factory())
    claimed = await leases.claim_due("a", 0, NOW, LEASE, 10)
    assert sorted(b.bot_config_id for b in claimed) == ids[1:]
    await leases.release_all("a")
    assert len(await leases.claim_due("b", 0, NOW, LEASE, 10)) == 2


async def test_concurrent_claimers_split_the_bots_without_sharing_one(
    client: httpx.AsyncClient, container: Container, exchange: FakeExchange
) -> None:
    ids = await started_bots(client, exchange, 40)
    leases = SqlBotLeases(container.session_factory())
    claimed: list[int] = []
    for round_ in range(10):
        batches = await asyncio.gather(
            *(leases.claim_due(f"worker-{n}", 0, NOW, LEASE, 7) for n in range(8))
        )
        claimed += [bot.bot_config_id for batch in batches for bot in batch]
        if round_ == 0 and container.settings().database_url.startswith("postgresql"):
            # SKIP LOCKED: each claimer passes over the rows another holds and takes the
            # next ones, so 8 claimers x 7 lease all 40 bots at once.
            assert len(claimed) == 40
    assert len(claimed) == len(set(claimed)), "a bot was leased twice"
    assert sorted(claimed) == sorted(ids)


async def test_a_state_written_from_a_stale_copy_is_refused(
    client: httpx.AsyncClient, container: Container, exchange: FakeExchange
) -> None:
    [bot_id] = await started_bots(client, exchange, 1)
    headers = await sign_up(client, "leases@example.com")
    user = (await client.get("/api/v1/auth/me", headers=headers)).json()
    async with container.uow() as uow:
        worker_copy = await uow.bot_states.get(user["id"], bot_id)
    stopped = await client.post(f"/api/v1/bot-configs/{bot_id}/stop", headers=headers)
    assert stopped.json()["status"] == "stopped"
    assert worker_copy is not None
    worker_copy.last_error_message = "a decision from before the stop"

    async def store_worker_copy() -> None:
        async with container.uow() as uow:
            await uow.bot_states.update(worker_copy)
            await uow.commit()

    with pytest.raises(StaleBotState):
        await store_worker_copy()
    shown = (await client.get(f"/api/v1/bot-states/{bot_id}", headers=headers)).json()
    assert (shown["status"], shown["last_error_message"]) == ("stopped", None)
