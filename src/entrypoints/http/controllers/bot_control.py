from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, SkipValidation

from application.bots.bot_control import ChangeBotStatus
from domain.users.user import User
from entrypoints.http.bot_state_schemas import BotStateResponse, bot_state_response
from entrypoints.http.dependencies import provide_current_user, user_use_case
from entrypoints.http.errors import error_responses


class BotControlController(Controller):
    """The bot state machine: stopped → pending → running ⇄ waiting,
    running | waiting → paused → pending, any → stopped. An illegal transition is a 409."""

    path = "/api/v1/bot-configs/{config_id:int}"
    tags = ["Bot configurations"]
    security = [{"BearerToken": []}]
    dependencies = {
        "current_user": Provide(provide_current_user),
        "change_bot_status": user_use_case("change_bot_status"),
    }

    @post(
        "/start",
        status_code=200,
        summary="Start a stopped or paused bot (→ pending)",
        description=(
            "Needs a valid API key of the user on the configuration, unless the server "
            "trades on the paper exchange (400 otherwise)."
        ),
        responses=error_responses(400, 401, 404, 409),
    )
    async def start(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        config_id: FromPath[int],
        change_bot_status: NamedDependency[SkipValidation[ChangeBotStatus]],
    ) -> BotStateResponse:
        assert current_user.id is not None
        return bot_state_response(await change_bot_status.start(current_user.id, config_id))

    @post(
        "/stop",
        status_code=200,
        summary="Stop a bot from any state (→ stopped)",
        responses=error_responses(401, 404),
    )
    async def stop(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        config_id: FromPath[int],
        change_bot_status: NamedDependency[SkipValidation[ChangeBotStatus]],
    ) -> BotStateResponse:
        assert current_user.id is not None
        return bot_state_response(await change_bot_status.stop(current_user.id, config_id))

    @post(
        "/pause",
        status_code=200,
        summary="Pause a running or waiting bot (→ paused)",
        responses=error_responses(401, 404, 409),
    )
    async def pause(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        config_id: FromPath[int],
        change_bot_status: NamedDependency[SkipValidation[ChangeBotStatus]],
    ) -> BotStateResponse:
        assert current_user.id is not None
        return bot_state_response(await change_bot_status.pause(current_user.id, config_id))
