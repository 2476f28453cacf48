from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from application.auth.rate_limits import FORGOT_PASSWORD_PER_EMAIL, FORGOT_PASSWORD_PER_IP
from application.auth.reset_tokens import hash_reset_token, new_reset_token
from domain.ports.clock import Clock
from domain.ports.mailer import Mailer, MailMessage
from domain.ports.rate_limiter import RateLimiter
from domain.ports.unit_of_work import UnitOfWork
from domain.users.email import Email
from domain.users.password_reset import RESET_TOKEN_LIFETIME, PasswordResetRequest


@dataclass(frozen=True, slots=True)
class RequestPasswordResetCommand:
    email: str
    client_ip: str


class RequestPasswordReset:
    """Mail a reset link to a known, active account.

    The caller learns nothing: known and unknown emails get the same answer,
    and the call takes at least `min_duration` seconds either way so timing
    does not tell them apart (the mailer is expected to send in the background).
    """

    def __init__(
        self,
        uow: UnitOfWork,
        mailer: Mailer,
        limiter: RateLimiter,
        clock: Clock,
        public_url: str,
        min_duration: float = 0.2,
    ) -> None:
        self._uow = uow
        self._mailer = mailer
        self._limiter = limiter
        self._clock = clock
        self._public_url = public_url.rstrip("/")
        self._min_duration = min_duration

    async def execute(self, command: RequestPasswordResetCommand) -> None:
        started = time.monotonic()
        email = Email(command.email)
        await self._limiter.hit(FORGOT_PASSWORD_PER_IP, command.client_ip)
        await self._limiter.hit(FORGOT_PASSWORD_PER_EMAIL, email.value)
        token = new_reset_token()
        async with self._uow:
            user = await self._uow.users.get_by_email(email)
            if user is not None and user.is_active and user.id is not None:
                await self._uow.password_resets.add(
                    PasswordResetRequest.issue(user.id, hash_reset_token(token), self._clock.now())
                )
                await self._uow.commit()
                await self._mailer.send(self._reset_mail(email, token))
        remaining = self._min_duration - (time.monotonic() - started)
        if remaining > 0:
            await asyncio.sleep(remaining)

    def _reset_mail(self, email: Email, token: str) -> MailMessage:
        link = f"{self._public_url}/reset-password?{urlencode({'token': token})}"
        minutes = int(RESET_TOKEN_LIFETIME.total_seconds() // 60)
        body = (
            "Someone asked to reset the password of your TradeBot account.\n\n"
            f"Open this link to choose a new password (valid for {minutes} minutes):\n"
            f"{link}\n\n"
            f"Or use this reset token: {token}\n\n"
            "If you did not ask for this, ignore this mail; your password stays as it is.\n"
        )
        return MailMessage(to=email.value, subject="Reset your TradeBot password", body=body)
