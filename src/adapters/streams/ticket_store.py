"""Stream tickets in this process's memory (embedded default) or in Redis (shared by
every API process). Only a SHA-256 of each ticket is kept."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from redis.asyncio import Redis
from redis.exceptions import RedisError

from domain.errors import ServiceUnavailable
from domain.ports.clock import Clock
from domain.ports.stream_tickets import StreamTickets

TICKET_SECONDS = 30


def _new_ticket() -> tuple[str, str]:
    ticket = secrets.token_urlsafe(32)
    return ticket, hashlib.sha256(ticket.encode()).hexdigest()


@contextmanager
def _redis_needed() -> Iterator[None]:
    """Tickets live only in Redis: while it is unreachable they are a 503, not a 500."""
    try:
        yield
    except (RedisError, OSError):
        raise ServiceUnavailable("Stream tickets unavailable (Redis unreachable)") from None


def _digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


class MemoryStreamTickets(StreamTickets):
    def __init__(self, clock: Clock, seconds: int = TICKET_SECONDS) -> None:
        self._clock = clock
        self._seconds = seconds
        self._tickets: dict[str, tuple[int, float]] = {}

    async def issue(self, user_id: int) -> str:
        now = self._clock.now()
        # Expired tickets go when new ones are issued: memory stays bounded by the rate.
        self._tickets = {k: v for k, v in self._tickets.items() if v[1] > now.timestamp()}
        ticket, digest = _new_ticket()
        expires = now + timedelta(seconds=self._seconds)
        self._tickets[digest] = (user_id, expires.timestamp())
        return ticket

    async def redeem(self, ticket: str) -> int | None:
        found = self._tickets.pop(_digest(ticket), None)
        if found is None or found[1] <= self._clock.now().timestamp():
            return None
        return found[0]


class RedisStreamTickets(StreamTickets):
    def __init__(
        self, redis_url: str, seconds: int = TICKET_SECONDS, prefix: str = "tradebot:ticket"
    ) -> None:
        self._redis: Redis = Redis.from_url(redis_url)
        self._seconds = seconds
        self._prefix = prefix

    async def issue(self, user_id: int) -> str:
        ticket, digest = _new_ticket()
        with _redis_needed():
            await self._redis.set(f"{self._prefix}:{digest}", user_id, ex=self._seconds, nx=True)
        return ticket

    async def redeem(self, ticket: str) -> int | None:
        with _redis_needed():
            value = await self._redis.getdel(f"{self._prefix}:{_digest(ticket)}")
        return int(value) if value is not None else None

    async def close(self) -> None:
        await self._redis.aclose()
