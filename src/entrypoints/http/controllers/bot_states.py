from __future__ import annotations

from litestar import Controller, get, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, SkipValidation

from application.bots.bot_control import GetBotState, UpdateBotState, UpdateBotStateCommand
from domain.users.user import User
from entrypoints.http.bot_state_schemas import (
    BotStateResponse,
    UpdateBotStateRequest,
    bot_state_response,
)
from entrypoints.http.dependencies import provide_current_user, user_use_case
from entrypoints.http.errors import error_responses
from entrypoints.http.request_fields import check_amounts, provided_fields


class BotStateController(Controller):
    path = "/api/v1/bot-states"
    tags = ["Bot states"]
    security = [{"BearerToken": []}]
    dependencies = {"current_user": Provide(provide_current_user)}

    @get(
        "/{bot_config_id:int}",
        summary="The runtime state of a bot",
        dependencies={"get_bot_state": user_use_case("get_bot_state")},
        responses=error_responses(401, 404),
    )
    async def get_state(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        bot_config_id: FromPath[int],
        get_bot_state: NamedDependency[SkipValidation[GetBotState]],
    ) -> BotStateResponse:
        assert current_user.id is not None
        return bot_state_response(await get_bot_state.execute(current_user.id, bot_config_id))

    @put(
        "/{bot_config_id:int}",
        summary="Change a bot's status or correct its runtime state",
        description=(
            "`status` goes through the state machine (409 when the move is illegal, 400 when "
            "starting without a valid API key). Runtime fields may be corrected only while "
            "the bot is stopped or paused (409 otherwise)."
        ),
        dependencies={"update_bot_state": user_use_case("update_bot_state")},
        responses=error_responses(400, 401, 404, 409),
    )
    async def update_state(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        bot_config_id: FromPath[int],
        data: JSONBody[UpdateBotStateRequest],
        update_bot_state: NamedDependency[SkipValidation[UpdateBotState]],
    ) -> BotStateResponse:
        assert current_user.id is not None
        changes = provided_fields(data)
        check_amounts(changes)
        state = await update_bot_state.execute(
            UpdateBotStateCommand(
                user_id=current_user.id, bot_config_id=bot_config_id, changes=changes
            )
        )
        return bot_state_response(state)
