from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `limit` hits per `period_seconds` for one key of the named rule."""

    name: str
    limit: int
    period_seconds: int

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period_seconds < 1:
            raise ValueError("a rate limit needs a positive limit and period")


class RateLimiter(Protocol):
    async def hit(self, rule: RateLimit, key: str) -> None:
        """Count one hit; RateLimited when the rule's limit is exceeded for the key.

        When the backing store is unavailable the hit is allowed (and logged):
        rate limiting must never turn into an outage.
        """
        ...
