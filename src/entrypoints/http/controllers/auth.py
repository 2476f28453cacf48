from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, SkipValidation

from application.auth.login import Login, LoginCommand
from application.auth.register_user import RegisterUser, RegisterUserCommand
from application.auth.request_password_reset import (
    RequestPasswordReset,
    RequestPasswordResetCommand,
)
from application.auth.reset_password import ResetPassword, ResetPasswordCommand
from domain.users.user import User
from entrypoints.http.dependencies import client_ip, provide_current_user, use_case
from entrypoints.http.errors import error_responses
from entrypoints.http.schemas import (
    ForgotPasswordRequest,
    LoginRequest,
    MessageResponse,
    RegisterRequest,
    ResetPasswordRequest,
    TokenResponse,
    UserResponse,
)

RESET_MAIL_NOTICE = "If that email is registered, a password reset link has been sent to it."


def user_response(user: User) -> UserResponse:
    assert user.id is not None
    return UserResponse(id=user.id, email=user.email.value, is_active=user.is_active)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["Authentication"]

    @post(
        "/register",
        status_code=201,
        summary="Register a new account",
        dependencies={"register_user": use_case("register_user")},
        responses=error_responses(400, 409),
    )
    async def register(
        self,
        data: JSONBody[RegisterRequest],
        register_user: NamedDependency[SkipValidation[RegisterUser]],
    ) -> UserResponse:
        user = await register_user.execute(
            RegisterUserCommand(email=data.email, password=data.password)
        )
        return user_response(user)

    @post(
        "/login",
        status_code=200,
        summary="Log in and receive a bearer token",
        description="The token lasts 30 days with `remember_me`, else 7 days.",
        dependencies={"login": use_case("login")},
        responses=error_responses(400, 401, 429),
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginRequest],
        login: NamedDependency[SkipValidation[Login]],
    ) -> TokenResponse:
        result = await login.execute(
            LoginCommand(
                email=data.email,
                password=data.password,
                remember_me=data.remember_me,
                client_ip=client_ip(request),
            )
        )
        return TokenResponse(
            access_token=result.access_token,
            token_type="bearer",  # noqa: S106 - the OAuth token type, not a secret
            expires_at=result.expires_at,
            user=user_response(result.user),
        )

    @get(
        "/me",
        summary="The current user's profile",
        dependencies={"current_user": Provide(provide_current_user)},
        responses=error_responses(401),
        security=[{"BearerToken": []}],
    )
    async def me(self, current_user: NamedDependency[SkipValidation[User]]) -> UserResponse:
        return user_response(current_user)

    @post(
        "/forgot-password",
        status_code=200,
        summary="Mail a password reset link",
        description=(
            "Answers the same way, in about the same time, whether or not the email is registered."
        ),
        dependencies={"request_password_reset": use_case("request_password_reset")},
        responses=error_responses(400, 429),
    )
    async def forgot_password(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ForgotPasswordRequest],
        request_password_reset: NamedDependency[SkipValidation[RequestPasswordReset]],
    ) -> MessageResponse:
        await request_password_reset.execute(
            RequestPasswordResetCommand(email=data.email, client_ip=client_ip(request))
        )
        return MessageResponse(message=RESET_MAIL_NOTICE)

    @post(
        "/reset-password",
        status_code=200,
        summary="Set a new password with a reset token",
        description=(
            "The token is single use and expires after one hour. "
            "Every access token issued before the reset stops working."
        ),
        dependencies={"reset_password": use_case("reset_password")},
        responses=error_responses(400, 429),
    )
    async def reset_password(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ResetPasswordRequest],
        reset_password: NamedDependency[SkipValidation[ResetPassword]],
    ) -> MessageResponse:
        await reset_password.execute(
            ResetPasswordCommand(
                token=data.token, new_password=data.new_password, client_ip=client_ip(request)
            )
        )
        return MessageResponse(message="Password has been reset.")
