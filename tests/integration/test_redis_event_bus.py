"""The Redis event bus on a real Redis: two bus instances stand for two processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.events.redis_bus import RedisEventBus
from domain.events import DomainEvent, bot_state_changed
from tests.support.fakes import FakeClock
from tests.support.servers import RedisServer, free_port


async def take(iterator: Any, count: int, timeout: float = 3.0) -> list[Any]:
    return [await asyncio.wait_for(anext(iterator), timeout) for _ in range(count)]


@pytest.fixture
async def buses(redis_server: RedisServer) -> AsyncIterator[tuple[RedisEventBus, RedisEventBus]]:
    prefix = f"test:{free_port()}"
    api = RedisEventBus(redis_server.url, FakeClock(), history=5, prefix=prefix)
    worker = RedisEventBus(redis_server.url, FakeClock(), history=5, prefix=prefix)
    yield api, worker
    await api.close()
    await worker.close()


async def test_an_event_published_by_one_process_reaches_a_subscriber_of_another(
    buses: tuple[RedisEventBus, RedisEventBus],
) -> None:
    api, worker = buses
    alice = api.subscribe(1)
    first = asyncio.ensure_future(take(alice, 2))
    await asyncio.sleep(0.3)  # subscribed at Redis
    await worker.publish(bot_state_changed(1, 10, "running"))
    await api.publish(bot_state_changed(1, 10, "stopped"))
    events = await first
    assert [(e.id, e.data["status"]) for e in events] == [(1, "running"), (2, "stopped")]


async def test_each_user_gets_only_their_own_events_with_their_own_ids(
    buses: tuple[RedisEventBus, RedisEventBus],
) -> None:
    api, worker = buses
    bob = asyncio.ensure_future(take(api.subscribe(2), 1))
    alice = asyncio.ensure_future(take(api.subscribe(1), 1))
    await asyncio.sleep(0.3)
    await worker.publish(bot_state_changed(1, 10, "running"))
    await worker.publish(DomainEvent(2, "bot_error", {"message": "bob's"}))
    (only,) = await bob
    assert (only.id, only.type, only.data) == (1, "bot_error", {"message": "bob's"})
    (mine,) = await alice
    assert (mine.id, mine.type) == (1, "bot_state_changed")


async def test_a_reconnecting_client_gets_what_it_missed_from_the_bounded_history(
    buses: tuple[RedisEventBus, RedisEventBus],
) -> None:
    api, worker = buses
    for n in range(8):
        await worker.publish(DomainEvent(1, "tick", {"n": n}))
    resumed = api.subscribe(1, after_id=5)
    assert [e.id for e in await take(resumed, 3)] == [6, 7, 8]
    everything = api.subscribe(1, after_id=0)
    assert [e.id for e in await take(everything, 5)] == [4, 5, 6, 7, 8]  # history of 5
    live = asyncio.ensure_future(take(resumed, 1))
    await asyncio.sleep(0.3)
    await worker.publish(DomainEvent(1, "tick", {"n": 8}))
    assert [e.id for e in await live] == [9]


async def test_a_new_subscriber_starts_with_new_events_only(
    buses: tuple[RedisEventBus, RedisEventBus],
) -> None:
    api, worker = buses
    await worker.publish(DomainEvent(1, "tick", {"n": 0}))
    fresh = api.subscribe(1)
    waiting = asyncio.ensure_future(take(fresh, 1))
    await asyncio.sleep(0.3)
    await worker.publish(DomainEvent(1, "tick", {"n": 1}))
    assert [(e.id, e.data) for e in await waiting] == [(2, {"n": 1})]


async def test_a_slow_subscriber_is_dropped_and_publishing_never_blocks(
    redis_server: RedisServer,
) -> None:
    bus = RedisEventBus(redis_server.url, FakeClock(), buffer=3, prefix=f"test:{free_port()}")
    try:
        slow = bus.subscribe(1)
        started = asyncio.ensure_future(anext(slow))
        await asyncio.sleep(0.3)
        await bus.publish(DomainEvent(1, "tick", {"n": 0}))
        assert (await asyncio.wait_for(started, 3)).data == {"n": 0}
        for n in range(1, 12):
            await asyncio.wait_for(bus.publish(DomainEvent(1, "tick", {"n": n})), 1)
        await asyncio.sleep(0.3)  # delivered to the full queue: dropped
        remaining = [event async for event in slow]
        assert remaining == []
        assert not bus._fanout.has_subscribers(1)
    finally:
        await bus.close()


async def test_publishing_while_redis_is_unreachable_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = RedisEventBus(f"redis://127.0.0.1:{free_port()}/0", FakeClock())
    try:
        await asyncio.wait_for(bus.publish(DomainEvent(1, "tick", {})), 5)
    finally:
        await bus.close()
    assert "event not published (Redis unavailable)" in caplog.text
