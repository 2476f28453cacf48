"""argon2id password hashing off the event loop, in low-priority processes.

A hash costs ~200 ms of CPU and 64 MiB. In threads of the API process a login
flood starved every other request (`/health` p99 of 280-600 ms, even with the
threads at a lower priority; most likely a descheduled hashing thread holding the
GIL between C calls stalls the event loop). Separate processes at a low priority
have a GIL of their own: logins queue while the rest of the API keeps its latency
(p99 9 ms; README, HTTP load).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

from argon2 import PasswordHasher as Argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.ports.password_hasher import PasswordHasher

T = TypeVar("T")
# Hashing processes per API process: two keep both cores of a small host busy
# during a flood, at a low priority (the API first, but logins still progress).
_HASHING_PROCESSES = 2
_HASHING_NICENESS = 10


@dataclass(frozen=True, slots=True)
class Argon2Cost:
    time_cost: int = 3
    memory_cost: int = 65536
    parallelism: int = 4


class Argon2PasswordHasher(PasswordHasher):
    """argon2id (argon2-cffi's RFC 9106 low-memory profile by default).

    `in_process` hashes in the default thread pool instead of the hashing
    processes: for tests, whose tiny costs make a process hop the larger cost.
    """

    def __init__(self, cost: Argon2Cost | None = None, in_process: bool = False) -> None:
        self._cost = cost or Argon2Cost()
        self._in_process = in_process
        self._dummy_hash = _hash(self._cost, "timing-equaliser")

    async def hash(self, password: str) -> str:
        return await self._off_loop(_hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await self._off_loop(_verify, password_hash, password)

    async def burn(self, password: str) -> None:
        await self._off_loop(_verify, self._dummy_hash, password)

    async def _off_loop(self, work: Callable[..., T], *args: str) -> T:
        executor = None if self._in_process else _hashing_processes()
        return await asyncio.get_running_loop().run_in_executor(executor, work, self._cost, *args)


def fast_test_hasher() -> Argon2PasswordHasher:
    """argon2id with tiny costs, for tests only: same code, milliseconds per hash."""
    return Argon2PasswordHasher(Argon2Cost(time_cost=1, memory_cost=1024, parallelism=1), True)


_pool_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _hashing_processes() -> ProcessPoolExecutor:
    """One pool per process, started on first use (forkserver: no copy of the API)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=_HASHING_PROCESSES,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_lower_priority,
            )
        return _pool


def _lower_priority() -> None:
    # Where that is not permitted, hashing still works, at normal priority.
    with contextlib.suppress(OSError):
        os.nice(_HASHING_NICENESS)


@cache
def argon2_for(cost: Argon2Cost) -> Argon2:
    """argon2-cffi's hasher with these parameters (one per cost, per process)."""
    return Argon2(
        time_cost=cost.time_cost, memory_cost=cost.memory_cost, parallelism=cost.parallelism
    )


def _hash(cost: Argon2Cost, password: str) -> str:
    return argon2_for(cost).hash(password)


def _verify(cost: Argon2Cost, password_hash: str, password: str) -> bool:
    try:
        return argon2_for(cost).verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
