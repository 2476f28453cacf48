from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, Protocol


class BackgroundTasks(Protocol):
    """Work that outlives the request that started it, in this process."""

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` concurrently; its failures are logged, never raised to the caller."""
        ...

    async def close(self) -> None:
        """Cancel the work still running and wait until it has finished (on shutdown)."""
        ...
