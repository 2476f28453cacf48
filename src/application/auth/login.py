from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from application.auth.rate_limits import LOGIN_PER_EMAIL, LOGIN_PER_IP
from domain.ports.access_tokens import AccessTokenCodec
from domain.ports.clock import Clock
from domain.ports.password_hasher import PasswordHasher
from domain.ports.rate_limiter import RateLimiter
from domain.ports.unit_of_work import UnitOfWork
from domain.users.email import Email
from domain.users.errors import IncorrectCredentials, InvalidEmail
from domain.users.user import User

REMEMBER_ME_LIFETIME = timedelta(days=30)
DEFAULT_LIFETIME = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class LoginCommand:
    email: str
    password: str
    client_ip: str
    remember_me: bool = False


@dataclass(frozen=True, slots=True)
class LoginResult:
    access_token: str
    expires_at: datetime
    user: User


class Login:
    """Exchange email and password for a bearer token (30 days with remember_me, else 7)."""

    def __init__(
        self,
        uow: UnitOfWork,
        hasher: PasswordHasher,
        tokens: AccessTokenCodec,
        limiter: RateLimiter,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._tokens = tokens
        self._limiter = limiter
        self._clock = clock

    async def execute(self, command: LoginCommand) -> LoginResult:
        await self._limiter.hit(LOGIN_PER_IP, command.client_ip)
        await self._limiter.hit(LOGIN_PER_EMAIL, command.email.strip().lower())
        try:
            email = Email(command.email)
        except InvalidEmail:
            await self._hasher.burn(command.password)
            raise IncorrectCredentials() from None
        async with self._uow:
            user = await self._uow.users.get_by_email(email)
        if user is None:
            await self._hasher.burn(command.password)
            raise IncorrectCredentials()
        if not await self._hasher.verify(user.password_hash, command.password):
            raise IncorrectCredentials()
        # Checked after the password so an inactive account is not revealed to a guesser.
        user.ensure_can_log_in()
        assert user.id is not None
        lifetime = REMEMBER_ME_LIFETIME if command.remember_me else DEFAULT_LIFETIME
        token = self._tokens.issue(user.id, user.token_version, lifetime)
        return LoginResult(access_token=token, expires_at=self._clock.now() + lifetime, user=user)
