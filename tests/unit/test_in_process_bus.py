"""The in-process event bus: per-user ids, replays, and slow subscribers dropped."""

from __future__ import annotations

import asyncio

from adapters.events.in_process_bus import InProcessEventBus
from domain.events import DomainEvent, bot_state_changed
from tests.support.fakes import FakeClock


async def take(iterator, count: int) -> list:
    return [await asyncio.wait_for(anext(iterator), 1) for _ in range(count)]


async def test_a_subscriber_gets_only_its_users_events_with_increasing_ids() -> None:
    bus = InProcessEventBus(FakeClock())
    alice = bus.subscribe(1)
    bob = bus.subscribe(2)
    first = asyncio.ensure_future(take(alice, 2))
    await asyncio.sleep(0)
    await bus.publish(bot_state_changed(1, 10, "pending"))
    await bus.publish(DomainEvent(2, "bot_error", {"message": "bob only"}))
    await bus.publish(bot_state_changed(1, 10, "running"))
    events = await first
    assert [(e.id, e.type, e.data["status"]) for e in events] == [
        (1, "bot_state_changed", "pending"),
        (2, "bot_state_changed", "running"),
    ]
    (only,) = await take(bob, 1)
    assert (only.id, only.data) == (1, {"message": "bob only"})


async def test_a_reconnecting_subscriber_gets_what_it_missed_then_live_events() -> None:
    bus = InProcessEventBus(FakeClock())
    for status in ("pending", "running", "waiting"):
        await bus.publish(bot_state_changed(1, 10, status))
    resumed = bus.subscribe(1, after_id=1)
    missed = await take(resumed, 2)
    assert [e.id for e in missed] == [2, 3]
    later = asyncio.ensure_future(take(resumed, 1))
    await asyncio.sleep(0)
    await bus.publish(bot_state_changed(1, 10, "stopped"))
    assert [e.id for e in await later] == [4]


async def test_the_history_is_bounded() -> None:
    bus = InProcessEventBus(FakeClock(), history=5)
    for n in range(12):
        await bus.publish(DomainEvent(1, "tick", {"n": n}))
    replay = bus.subscribe(1, after_id=0)
    assert [e.id for e in await take(replay, 5)] == [8, 9, 10, 11, 12]


async def test_a_slow_subscriber_is_dropped_and_publishing_never_blocks() -> None:
    bus = InProcessEventBus(FakeClock(), buffer=3)
    slow = bus.subscribe(1)
    started = asyncio.ensure_future(anext(slow))
    await asyncio.sleep(0)
    await bus.publish(DomainEvent(1, "tick", {"n": 0}))
    assert (await started).data == {"n": 0}
    for n in range(1, 10):
        await asyncio.wait_for(bus.publish(DomainEvent(1, "tick", {"n": n})), 0.5)
    remaining = [event async for event in slow]
    assert remaining == []
    assert not bus._fanout.has_subscribers(1)
