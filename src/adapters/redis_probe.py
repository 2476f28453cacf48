from __future__ import annotations

from redis.asyncio import Redis

from domain.ports.readiness_probe import ReadinessProbe


class RedisProbe(ReadinessProbe):
    name = "redis"

    def __init__(self, redis_url: str) -> None:
        self._url = redis_url

    async def check(self) -> None:
        client = Redis.from_url(self._url, socket_timeout=1.0, socket_connect_timeout=1.0)
        try:
            await client.ping()
        finally:
            await client.aclose()
