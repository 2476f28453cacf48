from __future__ import annotations

from domain.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound


class EmailAlreadyRegistered(Conflict):
    message = "Email already registered"


class InvalidEmail(InvalidInput):
    message = "Invalid email"


class WeakPassword(InvalidInput):
    message = "Password does not meet the policy"


class IncorrectCredentials(AuthenticationFailed):
    message = "Incorrect email or password"


class InvalidToken(AuthenticationFailed):
    message = "Invalid or expired token"


class InactiveUser(InvalidInput):
    message = "Inactive user"


class UserNotFound(NotFound):
    message = "User not found"


class InvalidResetToken(InvalidInput):
    message = "Invalid or expired reset token"
