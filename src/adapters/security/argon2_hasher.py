from __future__ import annotations

import asyncio

from argon2 import PasswordHasher as Argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.ports.password_hasher import PasswordHasher


class Argon2PasswordHasher(PasswordHasher):
    """argon2id (argon2-cffi's RFC 9106 defaults), run in worker threads off the event loop."""

    def __init__(self, hasher: Argon2 | None = None) -> None:
        self._argon2 = hasher or Argon2()
        self._dummy_hash = self._argon2.hash("timing-equaliser")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._argon2.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await asyncio.to_thread(self._verify, password_hash, password)

    async def burn(self, password: str) -> None:
        await asyncio.to_thread(self._verify, self._dummy_hash, password)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def fast_test_hasher() -> Argon2PasswordHasher:
    """argon2id with tiny costs, for tests only: same code path, milliseconds per hash."""
    return Argon2PasswordHasher(Argon2(time_cost=1, memory_cost=1024, parallelism=1))
