"""The password rules of the API reference: 12+ characters with upper, lower, digit, special."""

from __future__ import annotations

from domain.users.errors import WeakPassword

MIN_LENGTH = 12
# argon2 accepts any length; the cap keeps one request from costing seconds of CPU.
MAX_LENGTH = 256

RULES: tuple[tuple[str, str], ...] = (
    ("min_length", f"must be at least {MIN_LENGTH} characters"),
    ("max_length", f"must be at most {MAX_LENGTH} characters"),
    ("uppercase", "must contain an uppercase letter"),
    ("lowercase", "must contain a lowercase letter"),
    ("digit", "must contain a digit"),
    ("special", "must contain a special character"),
)


def password_violations(password: str) -> list[str]:
    """The names of every rule the password breaks, in the order of RULES."""
    broken: list[str] = []
    if len(password) < MIN_LENGTH:
        broken.append("min_length")
    if len(password) > MAX_LENGTH:
        broken.append("max_length")
    if not any(c.isupper() for c in password):
        broken.append("uppercase")
    if not any(c.islower() for c in password):
        broken.append("lowercase")
    if not any(c.isdigit() for c in password):
        broken.append("digit")
    if not any(not c.isalnum() and not c.isspace() for c in password):
        broken.append("special")
    return broken


def ensure_strong_password(password: str) -> None:
    broken = password_violations(password)
    if broken:
        messages = dict(RULES)
        raise WeakPassword(details={"password": [messages[rule] for rule in broken]})
