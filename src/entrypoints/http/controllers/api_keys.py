from __future__ import annotations

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, SkipValidation

from application.api_keys.create_api_key import CreateApiKey, CreateApiKeyCommand
from application.api_keys.manage_api_key import DeleteApiKey, GetApiKey, GetBalance
from domain.api_keys.api_key import ApiKey
from domain.users.user import User
from entrypoints.http.api_key_schemas import ApiKeyResponse, BalanceResponse, CreateApiKeyRequest
from entrypoints.http.dependencies import provide_current_user, user_use_case
from entrypoints.http.errors import error_responses


def api_key_response(api_key: ApiKey) -> ApiKeyResponse:
    assert api_key.id is not None
    return ApiKeyResponse(
        id=api_key.id,
        label=api_key.label,
        api_key_masked=api_key.api_key_masked,
        is_valid=api_key.is_valid,
        created_at=api_key.created_at,
        updated_at=api_key.updated_at,
    )


class ApiKeyController(Controller):
    path = "/api/v1/api-keys"
    tags = ["API keys"]
    security = [{"BearerToken": []}]
    dependencies = {"current_user": Provide(provide_current_user)}

    @post(
        "/",
        status_code=201,
        summary="Store exchange credentials (validated with the exchange first)",
        description=(
            "One key per user. The key and secret are encrypted at rest and never returned; "
            "the response shows the key masked (first 4 and last 4 characters)."
        ),
        dependencies={"create_api_key": user_use_case("create_api_key")},
        responses=error_responses(400, 401, 429, 503),
    )
    async def create(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        data: JSONBody[CreateApiKeyRequest],
        create_api_key: NamedDependency[SkipValidation[CreateApiKey]],
    ) -> ApiKeyResponse:
        assert current_user.id is not None
        api_key = await create_api_key.execute(
            CreateApiKeyCommand(
                user_id=current_user.id,
                api_key=data.api_key,
                api_secret=data.secret_key,
                label=data.label,
            )
        )
        return api_key_response(api_key)

    @get(
        "/me",
        summary="The user's API key, masked",
        dependencies={"get_api_key": user_use_case("get_api_key")},
        responses=error_responses(401, 404),
    )
    async def me(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        get_api_key: NamedDependency[SkipValidation[GetApiKey]],
    ) -> ApiKeyResponse:
        assert current_user.id is not None
        return api_key_response(await get_api_key.execute(current_user.id))

    @delete(
        "/me",
        status_code=204,
        summary="Delete the user's API key and the bot configurations that use it",
        dependencies={"delete_api_key": user_use_case("delete_api_key")},
        responses=error_responses(401, 404),
    )
    async def remove(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        delete_api_key: NamedDependency[SkipValidation[DeleteApiKey]],
    ) -> None:
        assert current_user.id is not None
        await delete_api_key.execute(current_user.id)

    @get(
        "/balance",
        summary="Spot and USD-M futures balances in USDT",
        dependencies={"get_balance": user_use_case("get_balance")},
        responses=error_responses(401, 404, 429, 503),
    )
    async def balance(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        get_balance: NamedDependency[SkipValidation[GetBalance]],
    ) -> BalanceResponse:
        assert current_user.id is not None
        balance = await get_balance.execute(current_user.id)
        return BalanceResponse(
            spot_balance=balance.spot,
            futures_balance=balance.futures,
            total_balance=balance.total,
            currency=balance.currency,
        )
