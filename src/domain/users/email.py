from __future__ import annotations

import re
from dataclasses import dataclass

from domain.users.errors import InvalidEmail

# Deliberately pragmatic: one "@", a dotted domain, no spaces or control
# characters. Deliverability is proven by the reset mail, not by a regex.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL_RE = re.compile(rf"^{_LOCAL}@{_LABEL}(?:\.{_LABEL})+$")
MAX_EMAIL_LENGTH = 254


@dataclass(frozen=True, slots=True)
class Email:
    """An email address, normalised so that addresses differing only in case are equal."""

    value: str

    def __post_init__(self) -> None:
        normalised = self.value.strip().lower()
        if len(normalised) > MAX_EMAIL_LENGTH or not _EMAIL_RE.match(normalised):
            raise InvalidEmail(details={"email": "not a valid email address"})
        local = normalised.split("@", 1)[0]
        if local.startswith(".") or local.endswith(".") or ".." in local:
            raise InvalidEmail(details={"email": "not a valid email address"})
        object.__setattr__(self, "value", normalised)

    def __str__(self) -> str:
        return self.value
