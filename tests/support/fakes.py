"""In-memory fakes of the ports, for use-case tests (and the mail outbox for HTTP tests)."""

from __future__ import annotations

import copy
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

from domain.errors import RateLimited
from domain.ports.clock import Clock
from domain.ports.mailer import Mailer, MailMessage
from domain.ports.password_hasher import PasswordHasher
from domain.ports.password_reset_repository import PasswordResetRepository
from domain.ports.rate_limiter import RateLimit, RateLimiter
from domain.ports.unit_of_work import UnitOfWork
from domain.ports.user_repository import UserRepository
from domain.users.email import Email
from domain.users.errors import EmailAlreadyRegistered
from domain.users.password_reset import PasswordResetRequest
from domain.users.user import User


class FakeClock(Clock):
    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


class InMemoryUserRepository(UserRepository):
    def __init__(self, rows: dict[int, User]) -> None:
        self._rows = rows

    async def add(self, user: User) -> User:
        if any(row.email == user.email for row in self._rows.values()):
            raise EmailAlreadyRegistered()
        user.id = max(self._rows, default=0) + 1
        self._rows[user.id] = copy.deepcopy(user)
        return user

    async def get(self, user_id: int) -> User | None:
        row = self._rows.get(user_id)
        return copy.deepcopy(row) if row else None

    async def get_by_email(self, email: Email) -> User | None:
        row = next((u for u in self._rows.values() if u.email == email), None)
        return copy.deepcopy(row) if row else None

    async def update(self, user: User) -> None:
        assert user.id in self._rows
        self._rows[user.id] = copy.deepcopy(user)

    async def list(self, limit: int, offset: int) -> list[User]:
        return [copy.deepcopy(u) for _, u in sorted(self._rows.items())][offset : offset + limit]


class InMemoryPasswordResetRepository(PasswordResetRepository):
    def __init__(self, rows: dict[int, PasswordResetRequest]) -> None:
        self._rows = rows

    async def add(self, request: PasswordResetRequest) -> PasswordResetRequest:
        request.id = max(self._rows, default=0) + 1
        self._rows[request.id] = copy.deepcopy(request)
        return request

    async def get_by_token_hash(self, token_hash: str) -> PasswordResetRequest | None:
        row = next((r for r in self._rows.values() if r.token_hash == token_hash), None)
        return copy.deepcopy(row) if row else None

    async def save_redemption(self, request: PasswordResetRequest) -> bool:
        assert request.id in self._rows
        if self._rows[request.id].used_at is not None:
            return False
        self._rows[request.id] = copy.deepcopy(request)
        return True

    async def invalidate_for_user(self, user_id: int) -> None:
        for key in [k for k, r in self._rows.items() if r.user_id == user_id and r.used_at is None]:
            del self._rows[key]


class FakeUnitOfWork(UnitOfWork):
    """Transactions over dicts: work is staged on copies and published on commit only."""

    def __init__(self) -> None:
        self.committed_users: dict[int, User] = {}
        self.committed_resets: dict[int, PasswordResetRequest] = {}
        self.commits = 0

    async def __aenter__(self) -> Self:
        self._users = copy.deepcopy(self.committed_users)
        self._resets = copy.deepcopy(self.committed_resets)
        self.users = InMemoryUserRepository(self._users)
        self.password_resets = InMemoryPasswordResetRepository(self._resets)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def commit(self) -> None:
        self.committed_users = copy.deepcopy(self._users)
        self.committed_resets = copy.deepcopy(self._resets)
        self.commits += 1

    async def rollback(self) -> None:
        self._users = copy.deepcopy(self.committed_users)
        self._resets = copy.deepcopy(self.committed_resets)


class FakePasswordHasher(PasswordHasher):
    """Reversible "hash" that still never equals the password; counts the work done."""

    def __init__(self) -> None:
        self.verifications = 0
        self.burns = 0

    async def hash(self, password: str) -> str:
        return "fake$" + password[::-1]

    async def verify(self, password_hash: str, password: str) -> bool:
        self.verifications += 1
        return password_hash == "fake$" + password[::-1]

    async def burn(self, password: str) -> None:
        self.burns += 1


class OutboxMailer(Mailer):
    def __init__(self) -> None:
        self.outbox: list[MailMessage] = []

    async def send(self, message: MailMessage) -> None:
        self.outbox.append(message)

    async def drain(self, timeout_seconds: float = 0) -> None:
        return None


class CountingRateLimiter(RateLimiter):
    """Counts hits per (rule, key) with no clock: the limit applies for the fake's lifetime."""

    def __init__(self) -> None:
        self.hits: dict[tuple[str, str], int] = defaultdict(int)

    async def hit(self, rule: RateLimit, key: str) -> None:
        self.hits[(rule.name, key)] += 1
        if self.hits[(rule.name, key)] > rule.limit:
            raise RateLimited(retry_after_seconds=rule.period_seconds)
