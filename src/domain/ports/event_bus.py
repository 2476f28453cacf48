from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from domain.events import DeliveredEvent, DomainEvent


class EventBus(Protocol):
    """Publishes events to the subscribers of their user, in every process that listens."""

    async def publish(self, event: DomainEvent) -> None:
        """Never blocks on slow subscribers and never raises for them."""
        ...

    def subscribe(self, user_id: int, after_id: int | None = None) -> AsyncIterator[DeliveredEvent]:
        """The user's events from the first read of the iterator on (from the call, in
        one process), first replaying those after `after_id` still in the bounded
        history. A subscriber that falls too far behind is dropped: its iterator ends,
        and it may resubscribe with the last id it saw."""
        ...

    async def close(self) -> None:
        """Release connections (on shutdown)."""
        ...
