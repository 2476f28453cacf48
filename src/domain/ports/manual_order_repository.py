from __future__ import annotations

from datetime import datetime
from typing import Protocol

from domain.orders.manual_order import ManualOrder


class ManualOrderRepository(Protocol):
    """Manual orders, always scoped to their owner; at most one per (user, idempotency key).

    The conditional writes (`take_lease`, `complete`, `reject`) are compare-and-set, so
    two requests racing on one order cannot both act on it.
    """

    async def add(self, order: ManualOrder) -> ManualOrder | None:
        """Persist; None when the user's idempotency key is taken already."""
        ...

    async def get(self, user_id: int, order_id: int) -> ManualOrder | None: ...

    async def get_by_key(self, user_id: int, key: str) -> ManualOrder | None: ...

    async def expire_keys(self, user_id: int, requested_before: datetime) -> None:
        """Free the user's keys first used before that time (the orders stay)."""
        ...

    async def take_lease(self, order_id: int, now: datetime, until: datetime) -> bool:
        """Lease a pending order whose lease has run out; False when another request did."""
        ...

    async def release_lease(self, order_id: int) -> None:
        """A pending order's outcome is unknown: the next request with its key resumes it."""
        ...

    async def complete(self, order: ManualOrder) -> bool:
        """Store the exchange's answer over a pending, rejected or open record; False when
        another request (or follower) stored a final answer first."""
        ...

    async def unsettled(self, now: datetime, limit: int) -> list[ManualOrder]:
        """Every user's orders still open on the exchange, and pending ones whose request
        lease ran out (a crash between send and store), oldest first."""
        ...

    async def reject(self, order: ManualOrder) -> None:
        """Mark a pending order rejected and free its key."""
        ...
