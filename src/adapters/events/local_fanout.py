"""Delivering a user's events to this process's subscribers: one bounded queue per
subscriber, and a subscriber that fills its queue (a slow client) is dropped instead
of growing memory; its iterator ends and it may resubscribe with its last id."""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable

from domain.events import DeliveredEvent

_CLOSED = object()
# Run on a subscription's first read: returns the backlog to replay before live events.
Prepare = Callable[[], Awaitable[deque[DeliveredEvent]]]


class LocalFanOut:
    def __init__(self, buffer: int, on_idle: Callable[[int], None] | None = None) -> None:
        self._buffer = buffer
        self._subscribers: defaultdict[int, set[asyncio.Queue[object]]] = defaultdict(set)
        self._on_idle = on_idle  # called when a user's last subscriber leaves

    def has_subscribers(self, user_id: int) -> bool:
        return bool(self._subscribers.get(user_id))

    def deliver(self, user_id: int, event: DeliveredEvent) -> None:
        for queue in list(self._subscribers.get(user_id, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._drop(user_id, queue)

    def subscribe(self, user_id: int, prepare: Prepare) -> Subscription:
        """Registered at once, so nothing delivered after this call is missed."""
        queue: asyncio.Queue[object] = asyncio.Queue(maxsize=self._buffer)
        self._subscribers[user_id].add(queue)
        return Subscription(self, user_id, queue, prepare)

    def _drop(self, user_id: int, queue: asyncio.Queue[object]) -> None:
        self._remove(user_id, queue)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(_CLOSED)

    def _remove(self, user_id: int, queue: asyncio.Queue[object]) -> None:
        subscribers = self._subscribers.get(user_id)
        if subscribers is None or queue not in subscribers:
            return
        subscribers.discard(queue)
        if not subscribers:
            del self._subscribers[user_id]
            if self._on_idle is not None:
                self._on_idle(user_id)


class Subscription:
    def __init__(
        self, fanout: LocalFanOut, user_id: int, queue: asyncio.Queue[object], prepare: Prepare
    ) -> None:
        self._fanout = fanout
        self._user_id = user_id
        self._queue = queue
        self._prepare: Prepare | None = prepare
        self._backlog: deque[DeliveredEvent] = deque()
        self._last_id = 0

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> DeliveredEvent:
        if self._prepare is not None:
            prepare, self._prepare = self._prepare, None
            self._backlog = await prepare()
        if self._backlog:
            event = self._backlog.popleft()
            self._last_id = event.id
            return event
        while True:
            item = await self._queue.get()
            if item is _CLOSED:
                await self.aclose()
                raise StopAsyncIteration
            assert isinstance(item, DeliveredEvent)
            if item.id > self._last_id:  # not one the backlog already replayed
                self._last_id = item.id
                return item

    async def aclose(self) -> None:
        self._fanout._remove(self._user_id, self._queue)
