"""The EventBus for one process (the embedded default)."""

from __future__ import annotations

import itertools
from collections import defaultdict, deque
from collections.abc import AsyncIterator

from adapters.events.local_fanout import LocalFanOut
from domain.events import DeliveredEvent, DomainEvent
from domain.ports.clock import Clock
from domain.ports.event_bus import EventBus


class InProcessEventBus(EventBus):
    """Per-user ids and a bounded history for replays, delivered to this process only."""

    def __init__(self, clock: Clock, history: int = 500, buffer: int = 1000) -> None:
        self._clock = clock
        self._history: defaultdict[int, deque[DeliveredEvent]] = defaultdict(
            lambda: deque(maxlen=history)
        )
        self._ids: defaultdict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._fanout = LocalFanOut(buffer)

    async def publish(self, event: DomainEvent) -> None:
        delivered = DeliveredEvent(
            id=next(self._ids[event.user_id]),
            type=event.type,
            data=event.data,
            at=self._clock.now(),
        )
        self._history[event.user_id].append(delivered)
        self._fanout.deliver(event.user_id, delivered)

    def subscribe(self, user_id: int, after_id: int | None = None) -> AsyncIterator[DeliveredEvent]:
        backlog = deque(
            e for e in self._history[user_id] if after_id is not None and e.id > after_id
        )

        async def prepare() -> deque[DeliveredEvent]:
            return backlog

        return self._fanout.subscribe(user_id, prepare)

    async def close(self) -> None:
        return None
