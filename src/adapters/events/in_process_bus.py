"""The EventBus for one process (the embedded default)."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict, deque
from collections.abc import AsyncIterator

from domain.events import DeliveredEvent, DomainEvent
from domain.ports.clock import Clock
from domain.ports.event_bus import EventBus

_CLOSED = object()


class InProcessEventBus(EventBus):
    """Per-user ids and a bounded history for replays; each subscriber has a bounded
    queue, and one that fills it (a slow client) is dropped instead of growing memory."""

    def __init__(self, clock: Clock, history: int = 500, buffer: int = 1000) -> None:
        self._clock = clock
        self._history: defaultdict[int, deque[DeliveredEvent]] = defaultdict(
            lambda: deque(maxlen=history)
        )
        self._ids: defaultdict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._subscribers: defaultdict[int, set[asyncio.Queue[object]]] = defaultdict(set)
        self._buffer = buffer

    async def publish(self, event: DomainEvent) -> None:
        delivered = DeliveredEvent(
            id=next(self._ids[event.user_id]),
            type=event.type,
            data=event.data,
            at=self._clock.now(),
        )
        self._history[event.user_id].append(delivered)
        for queue in list(self._subscribers[event.user_id]):
            try:
                queue.put_nowait(delivered)
            except asyncio.QueueFull:
                self._drop(event.user_id, queue)

    def _drop(self, user_id: int, queue: asyncio.Queue[object]) -> None:
        self._subscribers[user_id].discard(queue)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(_CLOSED)

    def subscribe(self, user_id: int, after_id: int | None = None) -> AsyncIterator[DeliveredEvent]:
        """Registered at once, so nothing published after this call is missed."""
        queue: asyncio.Queue[object] = asyncio.Queue(maxsize=self._buffer)
        self._subscribers[user_id].add(queue)
        backlog = deque(
            e for e in self._history[user_id] if after_id is not None and e.id > after_id
        )
        return _Subscription(self, user_id, queue, backlog)


class _Subscription:
    def __init__(
        self,
        bus: InProcessEventBus,
        user_id: int,
        queue: asyncio.Queue[object],
        backlog: deque[DeliveredEvent],
    ) -> None:
        self._bus = bus
        self._user_id = user_id
        self._queue = queue
        self._backlog = backlog
        self._last_replayed = backlog[-1].id if backlog else 0

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> DeliveredEvent:
        if self._backlog:
            return self._backlog.popleft()
        while True:
            item = await self._queue.get()
            if item is _CLOSED:
                await self.aclose()
                raise StopAsyncIteration
            assert isinstance(item, DeliveredEvent)
            if item.id > self._last_replayed:
                return item

    async def aclose(self) -> None:
        self._bus._subscribers[self._user_id].discard(self._queue)
