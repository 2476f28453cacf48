"""The EventBus shared by every process through Redis (TRADEBOT_REDIS_URL).

Publishing is one Lua script, so it is atomic and ordered per user: the next id from
a per-user counter, the event pushed onto the user's bounded history list, and
published on the user's channel. Each process listens through Litestar's channels
backend (Redis pub/sub) and hands events to its local subscribers; a reconnecting
client's missed events come from the history list.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import msgspec
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis
from redis.exceptions import RedisError

from adapters.events.local_fanout import LocalFanOut
from domain.events import DeliveredEvent, DomainEvent
from domain.ports.clock import Clock
from domain.ports.event_bus import EventBus

log = logging.getLogger(__name__)

_PUBLISH = """
local id = redis.call('INCR', KEYS[1])
local payload = '{"id":' .. id .. ',' .. string.sub(ARGV[1], 2)
redis.call('LPUSH', KEYS[2], payload)
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
redis.call('PUBLISH', ARGV[4], payload)
return id
"""
HISTORY_TTL_SECONDS = 7 * 86_400


class _Wire(msgspec.Struct, frozen=True):
    id: int
    type: str
    data: dict[str, Any]
    at: datetime


class RedisEventBus(EventBus):
    def __init__(
        self,
        redis_url: str,
        clock: Clock,
        history: int = 500,
        buffer: int = 1000,
        prefix: str = "tradebot:events",
    ) -> None:
        self._redis: Redis = Redis.from_url(redis_url)
        self._clock = clock
        self._history = history
        self._prefix = prefix
        self._publish_script = self._redis.register_script(_PUBLISH)
        # Blocks up to a second for a message, instead of polling every millisecond.
        self._backend = RedisChannelsPubSubBackend(
            redis=self._redis, stream_sleep_no_subscriptions=1000
        )
        self._fanout = LocalFanOut(buffer, on_idle=self._idle)
        self._listener: asyncio.Task[None] | None = None

    def _channel(self, user_id: int) -> str:
        return f"{self._prefix}:user:{user_id}"

    def _keys(self, user_id: int) -> tuple[str, str]:
        return f"{self._prefix}:seq:{user_id}", f"{self._prefix}:history:{user_id}"

    async def publish(self, event: DomainEvent) -> None:
        body = msgspec.json.encode(
            {"type": event.type, "data": event.data, "at": self._clock.now()}
        )
        try:
            await self._publish_script(
                keys=list(self._keys(event.user_id)),
                args=[body, self._history, HISTORY_TTL_SECONDS, self._channel(event.user_id)],
            )
        except (RedisError, OSError) as exc:
            log.warning("event not published (Redis unavailable): %s", type(exc).__name__)

    def subscribe(self, user_id: int, after_id: int | None = None) -> AsyncIterator[DeliveredEvent]:
        async def prepare() -> deque[DeliveredEvent]:
            seq_key, history_key = self._keys(user_id)
            start = after_id
            if start is None:
                start = int(await self._redis.get(seq_key) or 0)
            await self._backend.subscribe([self._channel(user_id)])
            self._ensure_listener()
            newest_first = await self._redis.lrange(history_key, 0, -1)
            events = (_decode(raw) for raw in reversed(newest_first))
            return deque(e for e in events if e.id > start)

        return self._fanout.subscribe(user_id, prepare)

    def _ensure_listener(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        while True:
            try:
                async for channel, raw in self._backend.stream_events():
                    user_id = int(channel.rsplit(":", 1)[1])
                    self._fanout.deliver(user_id, _decode(raw))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a lost connection: listen again shortly
                log.warning("event listener interrupted: %s", type(exc).__name__)
                await asyncio.sleep(1.0)

    def _idle(self, user_id: int) -> None:
        """The last local subscriber of a user left: stop listening to their channel."""
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().create_task(
                self._backend.unsubscribe([self._channel(user_id)])
            )

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        with contextlib.suppress(Exception):
            await self._backend.on_shutdown()
        await self._redis.aclose()


def _decode(raw: bytes | str) -> DeliveredEvent:
    wire = msgspec.json.decode(raw, type=_Wire)
    return DeliveredEvent(wire.id, wire.type, wire.data, wire.at)
