from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation

from application.trading_config import TradingConfig, get_trading_config
from domain.users.user import User
from entrypoints.http.dependencies import provide_current_user
from entrypoints.http.errors import error_responses


class TradingConfigController(Controller):
    path = "/api/v1/config"
    tags = ["Configuration"]
    security = [{"BearerToken": []}]
    dependencies = {"current_user": Provide(provide_current_user)}

    @get(
        "/",
        summary="What a client needs to build its forms",
        description=(
            "Strategies with the parameters they read and their ranges, risk parameters, "
            "timeframes, market types, leverage limits and default fee rates."
        ),
        responses=error_responses(401),
    )
    async def trading_config(
        self, current_user: NamedDependency[SkipValidation[User]]
    ) -> TradingConfig:
        return get_trading_config()
