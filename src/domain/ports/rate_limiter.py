from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `limit` hits per `period_seconds` for one key of the named rule.

    `exact` rules remember every hit (a moving window: right for small limits such
    as logins); the others weight the previous window's count (a sliding-window
    counter: constant memory and time, for high-volume limits on every request).
    """

    name: str
    limit: int
    period_seconds: int
    exact: bool = True

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
