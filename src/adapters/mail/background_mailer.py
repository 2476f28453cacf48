from __future__ import annotations

import asyncio
import logging

from domain.ports.mailer import Mailer, MailMessage

logger = logging.getLogger("tradebot.mail")


class BackgroundMailer(Mailer):
    """Hands mail to another mailer in a background task, with a few retries.

    Requests that send mail then answer in the same time whether or not a
    mail went out, and a slow SMTP server never holds a request open.
    """

    def __init__(self, inner: Mailer, attempts: int = 3, backoff_seconds: float = 1.0) -> None:
        self._inner = inner
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._tasks: set[asyncio.Task[None]] = set()

    async def send(self, message: MailMessage) -> None:
        task = asyncio.create_task(self._deliver(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout_seconds: float = 10.0) -> None:
        """Wait for mail still being sent (on shutdown, and in tests)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_seconds)

    async def _deliver(self, message: MailMessage) -> None:
        for attempt in range(1, self._attempts + 1):
            try:
                await self._inner.send(message)
                return
            except Exception as exc:
                if attempt == self._attempts:
                    logger.error(
                        "mail to %s failed after %d attempts: %s",
                        message.to,
                        attempt,
                        type(exc).__name__,
                    )
                    return
                await asyncio.sleep(self._backoff * attempt)
