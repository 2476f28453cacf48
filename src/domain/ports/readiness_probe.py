from __future__ import annotations

from typing import Protocol


class ReadinessProbe(Protocol):
    """One dependency the service needs to answer requests (database, Redis, ...)."""

    name: str

    async def check(self) -> None:
        """Return when the dependency answers; raise anything when it does not."""
        ...
