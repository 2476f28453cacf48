"""The auth and user-management use cases, wired by hand to the in-memory fakes."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from adapters.security.jwt_codec import JwtAccessTokenCodec
from application.auth.authenticate import Authenticate
from application.auth.login import Login, LoginCommand, LoginResult
from application.auth.register_user import RegisterUser, RegisterUserCommand
from application.auth.request_password_reset import (
    RequestPasswordReset,
    RequestPasswordResetCommand,
)
from application.auth.reset_password import ResetPassword, ResetPasswordCommand
from application.users.manage_users import ListUsers, SetUserActive, SetUserActiveCommand
from domain.errors import RateLimited
from domain.users.email import Email
from domain.users.errors import (
    EmailAlreadyRegistered,
    InactiveUser,
    IncorrectCredentials,
    InvalidEmail,
    InvalidResetToken,
    InvalidToken,
    UserNotFound,
    WeakPassword,
)
from domain.users.user import User
from tests.support.fakes import (
    CountingRateLimiter,
    FakeClock,
    FakePasswordHasher,
    FakeUnitOfWork,
    OutboxMailer,
)

SECRET = "use-case-test-secret-" + "x" * 43
PUBLIC_URL = "https://bot.example.test"
PASSWORD = "Correct-Horse-9"
NEW_PASSWORD = "Brand-New-Pass-42"
ALICE = "alice@example.com"
IP = "203.0.113.7"
TOKEN_IN_LINK = re.compile(r"/reset-password\?token=([A-Za-z0-9_-]+)")


@dataclass
class World:
    """One set of fakes shared by every use case of a test."""

    clock: FakeClock = field(default_factory=lambda: FakeClock(datetime.now(UTC)))
    uow: FakeUnitOfWork = field(default_factory=FakeUnitOfWork)
    hasher: FakePasswordHasher = field(default_factory=FakePasswordHasher)
    limiter: CountingRateLimiter = field(default_factory=CountingRateLimiter)
    mailer: OutboxMailer = field(default_factory=OutboxMailer)

    def __post_init__(self) -> None:
        # A real codec: pyjwt checks exp against the real time, hence the clock at real now.
        self.tokens = JwtAccessTokenCodec(SECRET, self.clock)

    def register(self) -> RegisterUser:
        return RegisterUser(self.uow, self.hasher, self.clock)

    def login(self) -> Login:
        return Login(self.uow, self.hasher, self.tokens, self.limiter, self.clock)

    def authenticate(self) -> Authenticate:
        return Authenticate(self.uow, self.tokens)

    def request_reset(self, min_duration: float = 0) -> RequestPasswordReset:
        return RequestPasswordReset(
            self.uow, self.mailer, self.limiter, self.clock, PUBLIC_URL, min_duration
        )

    def reset(self) -> ResetPassword:
        return ResetPassword(self.uow, self.hasher, self.limiter, self.clock)

    async def add_user(self, email: str = ALICE, password: str = PASSWORD) -> User:
        return await self.register().execute(RegisterUserCommand(email, password))

    async def log_in(
        self, email: str = ALICE, password: str = PASSWORD, *, remember_me: bool = False
    ) -> LoginResult:
        return await self.login().execute(LoginCommand(email, password, IP, remember_me))

    async def mailed_reset_token(self, email: str = ALICE) -> str:
        before = len(self.mailer.outbox)
        await self.request_reset().execute(RequestPasswordResetCommand(email, IP))
        assert len(self.mailer.outbox) == before + 1
        match = TOKEN_IN_LINK.search(self.mailer.outbox[-1].body)
        assert match is not None
        return match.group(1)

    async def reset_password(self, token: str, new_password: str = NEW_PASSWORD) -> None:
        await self.reset().execute(ResetPasswordCommand(token, new_password, IP))

    async def set_active(self, email: str, active: bool) -> User:
        return await SetUserActive(self.uow).execute(SetUserActiveCommand(email, active))


@pytest.fixture
def world() -> World:
    return World()


# RegisterUser


async def test_registering_returns_a_stored_user_with_an_id_and_a_lowercased_email(
    world: World,
) -> None:
    user = await world.register().execute(RegisterUserCommand("  Alice@Example.COM ", PASSWORD))

    assert user.id is not None
    assert user.email == Email(ALICE)
    assert user.email.value == ALICE
    assert user.is_active
    assert user.token_version == 0
    assert user.created_at == world.clock.now()
    stored = world.uow.committed_users[user.id]
    assert stored.email.value == ALICE
    assert stored.password_hash != PASSWORD
    assert await world.hasher.verify(stored.password_hash, PASSWORD)


async def test_registering_an_email_again_in_another_case_is_a_conflict(world: World) -> None:
    await world.add_user(ALICE)

    with pytest.raises(EmailAlreadyRegistered):
        await world.add_user("ALICE@Example.Com")

    assert len(world.uow.committed_users) == 1


async def test_registering_with_a_weak_password_stores_nothing(world: World) -> None:
    with pytest.raises(WeakPassword) as caught:
        await world.add_user(ALICE, "weak")

    assert "password" in caught.value.details
    assert world.uow.committed_users == {}
    assert world.uow.commits == 0


@pytest.mark.parametrize("email", ["not-an-email", "", "a@b", "two@@example.com"])
async def test_registering_with_a_bad_email_is_refused_and_stores_nothing(
    world: World, email: str
) -> None:
    with pytest.raises(InvalidEmail):
        await world.add_user(email)

    assert world.uow.committed_users == {}


async def test_registered_users_get_distinct_ids(world: World) -> None:
    first = await world.add_user("one@example.com")
    second = await world.add_user("two@example.com")

    assert first.id != second.id


# Login


async def test_login_returns_a_token_that_verifies_to_the_user(world: World) -> None:
    user = await world.add_user()

    result = await world.log_in()

    claims = world.tokens.verify(result.access_token)
    assert claims.user_id == user.id
    assert claims.token_version == user.token_version
    assert result.user == user


async def test_login_is_case_insensitive_on_the_email(world: World) -> None:
    user = await world.add_user()

    result = await world.log_in(" ALICE@example.com ")

    assert result.user == user


@pytest.mark.parametrize(
    ("remember_me", "lifetime"), [(True, timedelta(days=30)), (False, timedelta(days=7))]
)
async def test_login_token_lasts_thirty_days_with_remember_me_and_seven_without(
    world: World, remember_me: bool, lifetime: timedelta
) -> None:
    await world.add_user()

    result = await world.log_in(remember_me=remember_me)

    assert result.expires_at == world.clock.now() + lifetime
    claims = world.tokens.verify(result.access_token)
    assert claims.expires_at - claims.issued_at == lifetime


async def test_login_with_a_wrong_password_is_refused_without_burning(world: World) -> None:
    await world.add_user()

    with pytest.raises(IncorrectCredentials):
        await world.log_in(password="Wrong-Password-1")

    assert world.hasher.verifications == 1
    assert world.hasher.burns == 0


async def test_login_with_unknown_email_spends_a_hash_verification(world: World) -> None:
    await world.add_user()

    with pytest.raises(IncorrectCredentials):
        await world.log_in("nobody@example.com")

    assert world.hasher.burns == 1


async def test_login_with_a_malformed_email_is_incorrect_credentials_and_spends_a_hash(
    world: World,
) -> None:
    with pytest.raises(IncorrectCredentials):
        await world.log_in("not-an-email")

    assert world.hasher.burns == 1


async def test_login_of_an_inactive_user_with_the_right_password_says_inactive(
    world: World,
) -> None:
    await world.add_user()
    await world.set_active(ALICE, False)

    with pytest.raises(InactiveUser):
        await world.log_in()


async def test_login_of_an_inactive_user_with_a_wrong_password_does_not_reveal_the_status(
    world: World,
) -> None:
    await world.add_user()
    await world.set_active(ALICE, False)

    with pytest.raises(IncorrectCredentials):
        await world.log_in(password="Wrong-Password-1")


async def test_the_sixth_login_attempt_from_one_ip_within_a_minute_is_rate_limited(
    world: World,
) -> None:
    await world.add_user()
    for _ in range(5):
        with pytest.raises(IncorrectCredentials):
            await world.log_in(password="Wrong-Password-1")

    with pytest.raises(RateLimited) as caught:
        await world.log_in()

    assert caught.value.retry_after_seconds >= 1
    other_ip = await world.login().execute(LoginCommand(ALICE, PASSWORD, "198.51.100.1"))
    assert other_ip.user.email.value == ALICE


async def test_the_eleventh_login_attempt_for_one_email_is_rate_limited_across_ips(
    world: World,
) -> None:
    await world.add_user()
    for attempt in range(10):
        with pytest.raises(IncorrectCredentials):
            await world.login().execute(
                LoginCommand(ALICE.upper(), "Wrong-Password-1", f"10.0.0.{attempt}")
            )

    with pytest.raises(RateLimited):
        await world.login().execute(LoginCommand(ALICE, PASSWORD, "10.0.1.1"))


# Authenticate


async def test_authenticating_a_login_token_returns_the_user(world: World) -> None:
    user = await world.add_user()
    token = (await world.log_in()).access_token

    assert await world.authenticate().execute(token) == user


async def test_a_token_issued_before_a_password_reset_is_refused(world: World) -> None:
    await world.add_user()
    old_token = (await world.log_in()).access_token
    await world.reset_password(await world.mailed_reset_token())

    with pytest.raises(InvalidToken):
        await world.authenticate().execute(old_token)

    new_token = (await world.log_in(password=NEW_PASSWORD)).access_token
    assert (await world.authenticate().execute(new_token)).email.value == ALICE


async def test_the_token_of_a_deactivated_user_is_refused(world: World) -> None:
    await world.add_user()
    token = (await world.log_in()).access_token
    await world.set_active(ALICE, False)

    with pytest.raises(InvalidToken):
        await world.authenticate().execute(token)


async def test_the_token_of_a_deleted_user_is_refused(world: World) -> None:
    user = await world.add_user()
    token = (await world.log_in()).access_token
    assert user.id is not None
    del world.uow.committed_users[user.id]

    with pytest.raises(InvalidToken):
        await world.authenticate().execute(token)


async def test_a_garbage_token_is_refused(world: World) -> None:
    with pytest.raises(InvalidToken):
        await world.authenticate().execute("not.a.token")


# RequestPasswordReset


async def test_a_reset_request_mails_a_link_and_the_token_to_the_account(world: World) -> None:
    await world.add_user()

    result = await world.request_reset().execute(
        RequestPasswordResetCommand("Alice@Example.com", IP)
    )

    assert result is None
    assert len(world.mailer.outbox) == 1
    mail = world.mailer.outbox[0]
    assert mail.to == ALICE
    match = TOKEN_IN_LINK.search(mail.body)
    assert match is not None
    token = match.group(1)
    assert f"{PUBLIC_URL}/reset-password?token={token}" in mail.body
    assert f"reset token: {token}" in mail.body


async def test_a_reset_request_stores_only_the_sha256_of_the_token(world: World) -> None:
    user = await world.add_user()

    token = await world.mailed_reset_token()

    rows = list(world.uow.committed_resets.values())
    assert len(rows) == 1
    row = rows[0]
    assert row.user_id == user.id
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.token_hash != token
    assert token not in repr(row)
    assert row.used_at is None
    assert row.expires_at == world.clock.now() + timedelta(hours=1)


async def test_a_trailing_slash_in_the_public_url_does_not_double_up(world: World) -> None:
    await world.add_user()
    use_case = RequestPasswordReset(
        world.uow, world.mailer, world.limiter, world.clock, PUBLIC_URL + "/", 0
    )

    await use_case.execute(RequestPasswordResetCommand(ALICE, IP))

    assert f"{PUBLIC_URL}/reset-password?token=" in world.mailer.outbox[0].body


async def test_a_reset_request_for_an_unknown_email_sends_nothing_and_answers_the_same(
    world: World,
) -> None:
    await world.add_user()

    result = await world.request_reset().execute(
        RequestPasswordResetCommand("nobody@example.com", IP)
    )

    assert result is None
    assert world.mailer.outbox == []
    assert world.uow.committed_resets == {}


async def test_a_reset_request_for_an_inactive_user_sends_nothing(world: World) -> None:
    await world.add_user()
    await world.set_active(ALICE, False)

    await world.request_reset().execute(RequestPasswordResetCommand(ALICE, IP))

    assert world.mailer.outbox == []
    assert world.uow.committed_resets == {}


async def test_a_reset_request_for_an_unknown_email_still_takes_the_minimum_duration(
    world: World,
) -> None:
    started = time.monotonic()

    await world.request_reset(min_duration=0.05).execute(
        RequestPasswordResetCommand("nobody@example.com", IP)
    )

    assert time.monotonic() - started >= 0.05


async def test_the_fourth_reset_request_for_one_email_is_rate_limited(world: World) -> None:
    await world.add_user()
    for attempt, spelling in enumerate([ALICE, ALICE.upper(), "Alice@example.com"]):
        await world.request_reset().execute(
            RequestPasswordResetCommand(spelling, f"10.0.0.{attempt}")
        )

    with pytest.raises(RateLimited):
        await world.request_reset().execute(RequestPasswordResetCommand(ALICE, "10.0.0.99"))

    assert len(world.mailer.outbox) == 3


async def test_the_sixth_reset_request_from_one_ip_is_rate_limited(world: World) -> None:
    for n in range(5):
        await world.request_reset().execute(RequestPasswordResetCommand(f"u{n}@example.com", IP))

    with pytest.raises(RateLimited):
        await world.request_reset().execute(RequestPasswordResetCommand("u9@example.com", IP))


# ResetPassword


async def test_a_reset_token_works_once(world: World) -> None:
    await world.add_user()
    token = await world.mailed_reset_token()

    await world.reset_password(token)

    with pytest.raises(InvalidResetToken):
        await world.reset_password(token, "Yet-Another-Pass-7")


async def test_a_reset_token_expires_after_one_hour(world: World) -> None:
    await world.add_user()
    token = await world.mailed_reset_token()
    world.clock.advance(timedelta(hours=1, seconds=1))

    with pytest.raises(InvalidResetToken):
        await world.reset_password(token)

    with pytest.raises(IncorrectCredentials):
        await world.log_in(password=NEW_PASSWORD)


async def test_a_reset_token_still_works_just_before_the_hour_is_up(world: World) -> None:
    await world.add_user()
    token = await world.mailed_reset_token()
    world.clock.advance(timedelta(minutes=59, seconds=59))

    await world.reset_password(token)


async def test_a_weak_new_password_is_refused_and_leaves_the_token_usable(world: World) -> None:
    await world.add_user()
    token = await world.mailed_reset_token()

    with pytest.raises(WeakPassword):
        await world.reset_password(token, "weak")

    await world.reset_password(token)
    assert (await world.log_in(password=NEW_PASSWORD)).user.email.value == ALICE


async def test_after_a_reset_the_new_password_logs_in_and_the_old_one_does_not(
    world: World,
) -> None:
    await world.add_user()
    await world.reset_password(await world.mailed_reset_token())

    result = await world.log_in(password=NEW_PASSWORD)
    assert result.user.token_version == 1

    with pytest.raises(IncorrectCredentials):
        await world.log_in(password=PASSWORD)


async def test_a_reset_invalidates_the_other_pending_tokens_of_the_user(world: World) -> None:
    await world.add_user()
    first = await world.mailed_reset_token()
    second = await world.mailed_reset_token()
    assert first != second

    await world.reset_password(second)

    with pytest.raises(InvalidResetToken):
        await world.reset_password(first, "Yet-Another-Pass-7")


async def test_a_reset_leaves_the_pending_tokens_of_other_users_alone(world: World) -> None:
    await world.add_user(ALICE)
    await world.add_user("bob@example.com")
    alice_token = await world.mailed_reset_token(ALICE)
    bob_token = await world.mailed_reset_token("bob@example.com")

    await world.reset_password(alice_token)
    await world.reset_password(bob_token)

    assert (await world.log_in("bob@example.com", NEW_PASSWORD)).user.email.value == (
        "bob@example.com"
    )


@pytest.mark.parametrize("token", ["", "made-up-token", "x" * 43])
async def test_an_unknown_reset_token_is_refused(world: World, token: str) -> None:
    await world.add_user()

    with pytest.raises(InvalidResetToken):
        await world.reset_password(token)


async def test_the_stored_hash_does_not_work_as_a_reset_token(world: World) -> None:
    await world.add_user()
    await world.mailed_reset_token()
    (row,) = world.uow.committed_resets.values()

    with pytest.raises(InvalidResetToken):
        await world.reset_password(row.token_hash)


# SetUserActive / ListUsers


async def test_deactivating_and_reactivating_a_user_by_email(world: World) -> None:
    user = await world.add_user()
    assert user.id is not None

    deactivated = await world.set_active("ALICE@example.com", False)
    assert not deactivated.is_active
    assert not world.uow.committed_users[user.id].is_active

    reactivated = await world.set_active(ALICE, True)
    assert reactivated.is_active
    assert world.uow.committed_users[user.id].is_active
    assert (await world.log_in()).user == user


async def test_setting_the_status_of_an_unknown_email_is_not_found(world: World) -> None:
    with pytest.raises(UserNotFound) as caught:
        await world.set_active("Nobody@Example.com", False)

    assert caught.value.details == {"email": "nobody@example.com"}


async def test_setting_the_status_of_a_malformed_email_is_invalid(world: World) -> None:
    with pytest.raises(InvalidEmail):
        await world.set_active("nobody", False)


async def test_listing_users_returns_them_oldest_first_with_paging(world: World) -> None:
    emails = [f"user{n}@example.com" for n in range(5)]
    for email in emails:
        await world.add_user(email)
    await world.set_active("user2@example.com", False)

    listed = await ListUsers(world.uow).execute()
    page = await ListUsers(world.uow).execute(limit=2, offset=1)

    assert [u.email.value for u in listed] == emails
    assert [u.is_active for u in listed] == [True, True, False, True, True]
    assert [u.email.value for u in page] == emails[1:3]


async def test_listing_users_when_there_are_none_is_empty(world: World) -> None:
    assert await ListUsers(world.uow).execute() == []
