"""The worker and the API both write a bot's state; a write from a stale copy is
refused (optimistic concurrency), and the API simply reads again and retries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from domain.bots.errors import StaleBotState

ATTEMPTS = 5
T = TypeVar("T")


async def retry_on_stale(operation: Callable[[], Awaitable[T]]) -> T:
    for _ in range(ATTEMPTS - 1):
        try:
            return await operation()
        except StaleBotState:
            continue
    return await operation()
