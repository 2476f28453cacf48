from __future__ import annotations

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, SkipValidation

from application.bots.bot_configs import (
    CreateBotConfig,
    CreateBotConfigCommand,
    DeleteBotConfig,
    GetBotConfig,
    ListBotConfigs,
    UpdateBotConfig,
    UpdateBotConfigCommand,
)
from application.pagination import DEFAULT_LIMIT, PageRequest
from domain.users.user import User
from entrypoints.http.bot_config_schemas import (
    BotConfigResponse,
    CreateBotConfigRequest,
    UpdateBotConfigRequest,
    bot_config_response,
)
from entrypoints.http.dependencies import provide_current_user, user_use_case
from entrypoints.http.errors import error_responses
from entrypoints.http.json_response import DecimalNumberResponse
from entrypoints.http.pagination import TOTAL_COUNT, Limit, Offset, paginated
from entrypoints.http.request_fields import check_amounts, provided_fields


class BotConfigController(Controller):
    path = "/api/v1/bot-configs"
    tags = ["Bot configurations"]
    security = [{"BearerToken": []}]
    dependencies = {"current_user": Provide(provide_current_user)}

    @post(
        "/",
        status_code=201,
        summary="Create a bot configuration (stopped)",
        description=(
            "`name` and `symbol` are required; every other field takes the domain's default "
            "when left out. The symbol must exist on the exchange for `position_type`, and "
            "`api_key_id` must be the user's own key. Ranges: GET /api/v1/config."
        ),
        dependencies={"create_bot_config": user_use_case("create_bot_config")},
        responses=error_responses(400, 401, 429, 503),
    )
    async def create(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        data: JSONBody[CreateBotConfigRequest],
        create_bot_config: NamedDependency[SkipValidation[CreateBotConfig]],
    ) -> BotConfigResponse:
        assert current_user.id is not None
        fields = provided_fields(data)
        check_amounts(fields)
        config = await create_bot_config.execute(
            CreateBotConfigCommand(user_id=current_user.id, fields=fields)
        )
        return bot_config_response(config)

    @get(
        "/",
        summary="The user's bot configurations, oldest first",
        dependencies={"list_bot_configs": user_use_case("list_bot_configs")},
        response_headers=[TOTAL_COUNT],
        responses=error_responses(400, 401),
    )
    async def list_configs(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        list_bot_configs: NamedDependency[SkipValidation[ListBotConfigs]],
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> DecimalNumberResponse[list[BotConfigResponse]]:
        assert current_user.id is not None
        page = await list_bot_configs.execute(current_user.id, PageRequest(limit, offset))
        return paginated([bot_config_response(c) for c in page.items], page.total)

    @get(
        "/{config_id:int}",
        summary="One bot configuration",
        dependencies={"get_bot_config": user_use_case("get_bot_config")},
        responses=error_responses(401, 404),
    )
    async def get_config(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        config_id: FromPath[int],
        get_bot_config: NamedDependency[SkipValidation[GetBotConfig]],
    ) -> BotConfigResponse:
        assert current_user.id is not None
        return bot_config_response(await get_bot_config.execute(current_user.id, config_id))

    @put(
        "/{config_id:int}",
        summary="Change some fields of a bot configuration",
        description=(
            "Only the fields in the body change. While the bot is pending, running or "
            "waiting, fields that would change a live position's market or rules (symbol, "
            "timeframe, strategy and its parameters, leverage, ...) answer 409 with "
            "`details.fields`; risk limits and sizing may change."
        ),
        dependencies={"update_bot_config": user_use_case("update_bot_config")},
        responses=error_responses(400, 401, 404, 409, 429, 503),
    )
    async def update_config(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        config_id: FromPath[int],
        data: JSONBody[UpdateBotConfigRequest],
        update_bot_config: NamedDependency[SkipValidation[UpdateBotConfig]],
    ) -> BotConfigResponse:
        assert current_user.id is not None
        changes = provided_fields(data)
        check_amounts(changes)
        config = await update_bot_config.execute(
            UpdateBotConfigCommand(user_id=current_user.id, config_id=config_id, changes=changes)
        )
        return bot_config_response(config)

    @delete(
        "/{config_id:int}",
        status_code=204,
        summary="Delete a stopped bot with its state and trades",
        dependencies={"delete_bot_config": user_use_case("delete_bot_config")},
        responses=error_responses(401, 404, 409),
    )
    async def delete_config(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        config_id: FromPath[int],
        delete_bot_config: NamedDependency[SkipValidation[DeleteBotConfig]],
    ) -> None:
        assert current_user.id is not None
        await delete_bot_config.execute(current_user.id, config_id)
