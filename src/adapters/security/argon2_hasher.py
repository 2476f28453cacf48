from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher as Argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.ports.password_hasher import PasswordHasher

T = TypeVar("T")
# Hashing threads yield the CPU to the event loop: a login flood must not slow
# every other request of the process (argon2 runs its lanes in threads of its own,
# which inherit this niceness).
_HASHING_NICENESS = 10
_HASHING_THREADS = 2


def _lower_thread_priority() -> None:
    # Where that is not permitted, hashing still works, at normal priority.
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _HASHING_NICENESS)


class Argon2PasswordHasher(PasswordHasher):
    """argon2id (argon2-cffi's RFC 9106 defaults), run off the event loop in a small
    pool of low-priority threads, so that a login flood queues instead of starving
    the other requests."""

    def __init__(self, hasher: Argon2 | None = None) -> None:
        self._argon2 = hasher or Argon2()
        self._dummy_hash = self._argon2.hash("timing-equaliser")
        self._threads = ThreadPoolExecutor(
            max_workers=_HASHING_THREADS,
            thread_name_prefix="argon2",
            initializer=_lower_thread_priority,
        )

    async def hash(self, password: str) -> str:
        return await self._off_loop(self._argon2.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await self._off_loop(self._verify, password_hash, password)

    async def burn(self, password: str) -> None:
        await self._off_loop(self._verify, self._dummy_hash, password)

    async def _off_loop(self, work: Callable[..., T], *args: str) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, work, *args)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def fast_test_hasher() -> Argon2PasswordHasher:
    """argon2id with tiny costs, for tests only: same code path, milliseconds per hash."""
    return Argon2PasswordHasher(Argon2(time_cost=1, memory_cost=1024, parallelism=1))
