from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation

from application.portfolio.get_portfolio import GetPortfolio
from domain.users.user import User
from entrypoints.http.dependencies import provide_current_user, user_use_case
from entrypoints.http.errors import error_responses
from entrypoints.http.portfolio_schemas import PortfolioResponse, portfolio_response


class PortfolioController(Controller):
    path = "/api/v1/portfolio"
    tags = ["Portfolio"]
    security = [{"BearerToken": []}]
    dependencies = {"current_user": Provide(provide_current_user)}

    @get(
        "/",
        summary="Balances, the bots' open positions with unrealised PnL, realised PnL",
        description=(
            "Balances in USDT through the user's API key (on the paper exchange, the paper "
            "account when the user has no key); each open bot position priced at its "
            "market's latest price; realised PnL today (since 00:00 UTC), over the last 7 "
            "and 30 days, and over all time. 404 when a real exchange is used and the user "
            "has no key; 503 when the exchange cannot be reached."
        ),
        dependencies={"get_portfolio": user_use_case("get_portfolio")},
        responses=error_responses(401, 404, 429, 503),
    )
    async def portfolio(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        get_portfolio: NamedDependency[SkipValidation[GetPortfolio]],
    ) -> PortfolioResponse:
        assert current_user.id is not None
        return portfolio_response(await get_portfolio.execute(current_user.id))
