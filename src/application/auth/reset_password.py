from __future__ import annotations

from dataclasses import dataclass

from application.auth.rate_limits import RESET_PASSWORD_PER_EMAIL, RESET_PASSWORD_PER_IP
from application.auth.reset_tokens import hash_reset_token
from domain.ports.clock import Clock
from domain.ports.password_hasher import PasswordHasher
from domain.ports.rate_limiter import RateLimiter
from domain.ports.unit_of_work import UnitOfWork
from domain.users.errors import InvalidResetToken
from domain.users.password_policy import ensure_strong_password


@dataclass(frozen=True, slots=True)
class ResetPasswordCommand:
    token: str
    new_password: str
    client_ip: str


class ResetPassword:
    """Set a new password with a mailed token: single use, one hour, and every
    token issued before the reset stops working."""

    def __init__(
        self, uow: UnitOfWork, hasher: PasswordHasher, limiter: RateLimiter, clock: Clock
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._limiter = limiter
        self._clock = clock

    async def execute(self, command: ResetPasswordCommand) -> None:
        await self._limiter.hit(RESET_PASSWORD_PER_IP, command.client_ip)
        ensure_strong_password(command.new_password)
        token_hash = hash_reset_token(command.token)
        async with self._uow:
            request = await self._uow.password_resets.get_by_token_hash(token_hash)
            user = await self._uow.users.get(request.user_id) if request is not None else None
        if request is None or user is None:
            raise InvalidResetToken()
        await self._limiter.hit(RESET_PASSWORD_PER_EMAIL, user.email.value)
        new_hash = await self._hasher.hash(command.new_password)
        async with self._uow:
            request = await self._uow.password_resets.get_by_token_hash(token_hash)
            user = await self._uow.users.get(request.user_id) if request is not None else None
            if request is None or user is None:
                raise InvalidResetToken()
            request.redeem(self._clock.now())
            if not await self._uow.password_resets.save_redemption(request):
                raise InvalidResetToken()
            user.change_password(new_hash)
            await self._uow.users.update(user)
            assert user.id is not None
            await self._uow.password_resets.invalidate_for_user(user.id)
            await self._uow.commit()
