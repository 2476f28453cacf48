"""The local account that owns command-line backtests."""

from __future__ import annotations

from application.users.local_account import CLI_ACCOUNT_EMAIL, EnsureLocalAccount
from domain.users.email import Email
from tests.support.fakes import FakeClock, FakePasswordHasher, FakeUnitOfWork


async def test_the_local_account_is_created_once_inactive_and_then_reused() -> None:
    uow = FakeUnitOfWork()
    hasher = FakePasswordHasher()
    ensure = EnsureLocalAccount(uow, hasher, FakeClock())

    first = await ensure.execute()
    again = await ensure.execute()

    assert first == again
    assert len(uow.committed_users) == 1
    user = uow.committed_users[first]
    assert user.email == Email(CLI_ACCOUNT_EMAIL)
    assert not user.is_active


async def test_the_local_accounts_password_is_random_and_never_a_known_one() -> None:
    one, other = FakeUnitOfWork(), FakeUnitOfWork()
    hasher = FakePasswordHasher()

    a = await EnsureLocalAccount(one, hasher, FakeClock()).execute()
    b = await EnsureLocalAccount(other, hasher, FakeClock()).execute()

    first, second = one.committed_users[a].password_hash, other.committed_users[b].password_hash
    assert first != second
    assert not await hasher.verify(first, "")
