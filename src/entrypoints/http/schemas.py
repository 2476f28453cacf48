"""Request and response bodies of the auth and health routes (seed field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

Email = Annotated[str, msgspec.Meta(max_length=320, examples=["trader@example.com"])]
Password = Annotated[str, msgspec.Meta(max_length=1024, examples=["Correct-Horse-9-Battery"])]


class RegisterRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    remember_me: bool = False


class ForgotPasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email


class ResetPasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
    new_password: Password


class UserResponse(msgspec.Struct):
    id: int
    email: str
    is_active: bool


class TokenResponse(msgspec.Struct):
    access_token: str
    token_type: str
    expires_at: datetime
    user: UserResponse


class MessageResponse(msgspec.Struct):
    message: str


class HealthResponse(msgspec.Struct):
    status: str
    service: str


class ReadinessResponse(msgspec.Struct):
    status: str
    checks: dict[str, str]
