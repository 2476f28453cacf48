from __future__ import annotations

import logging

from domain.ports.mailer import Mailer, MailMessage

logger = logging.getLogger("tradebot.mail")


class LoggingMailer(Mailer):
    """Used when no SMTP server is configured: the operator reads the mail in the log.

    This is the one place a reset token reaches the log, because with no SMTP
    the log *is* the delivery channel; configure SMTP to keep tokens out of it.
    """

    async def send(self, message: MailMessage) -> None:
        logger.warning(
            "SMTP is not configured; mail to %s not sent. Subject: %s\n%s",
            message.to,
            message.subject,
            message.body,
        )
