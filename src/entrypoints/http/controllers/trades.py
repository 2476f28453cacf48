from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter, SkipValidation

from application.pagination import DEFAULT_LIMIT, PageRequest
from application.trades.trades import GetTrade, ListTrades, ListTradesQuery, RecordTrade
from domain.bots.trade import Trade, TradeSide
from domain.ports.trade_repository import TradeFilter
from domain.users.user import User
from domain.values import Symbol
from entrypoints.http.dependencies import provide_current_user, user_use_case
from entrypoints.http.errors import error_responses
from entrypoints.http.json_response import DecimalNumberResponse
from entrypoints.http.pagination import TOTAL_COUNT, Limit, Offset, paginated
from entrypoints.http.request_fields import check_amounts, provided_fields
from entrypoints.http.trade_schemas import CreateTradeRequest, TradeResponse, trade_response

Instant = Annotated[
    datetime | None,
    QueryParameter(description="ISO 8601, inclusive; without an offset it is read as UTC"),
]


class TradeController(Controller):
    path = "/api/v1/trades"
    tags = ["Trades"]
    security = [{"BearerToken": []}]
    dependencies = {"current_user": Provide(provide_current_user)}

    @post(
        "/",
        status_code=201,
        summary="Record a trade of one of the user's bots",
        dependencies={"record_trade": user_use_case("record_trade")},
        responses=error_responses(400, 401, 404),
    )
    async def create(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        data: JSONBody[CreateTradeRequest],
        record_trade: NamedDependency[SkipValidation[RecordTrade]],
    ) -> TradeResponse:
        assert current_user.id is not None
        fields = provided_fields(data)
        check_amounts(fields)
        fields["symbol"] = Symbol(data.symbol).value
        trade = await record_trade.execute(Trade(user_id=current_user.id, **fields))
        return trade_response(trade)

    @get(
        "/",
        summary="The user's trades, newest first",
        dependencies={"list_trades": user_use_case("list_trades")},
        response_headers=[TOTAL_COUNT],
        responses=error_responses(400, 401),
    )
    async def list_trades(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        list_trades: NamedDependency[SkipValidation[ListTrades]],
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> DecimalNumberResponse[list[TradeResponse]]:
        assert current_user.id is not None
        return await _page(list_trades, current_user.id, TradeFilter(), limit, offset)

    @get(
        "/history",
        summary="The user's trades, filtered, newest first",
        dependencies={"list_trades": user_use_case("list_trades")},
        response_headers=[TOTAL_COUNT],
        responses=error_responses(400, 401),
    )
    async def history(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        list_trades: NamedDependency[SkipValidation[ListTrades]],
        bot_config_id: FromQuery[int | None] = None,
        symbol: FromQuery[str | None] = None,
        side: FromQuery[TradeSide | None] = None,
        start: Instant = None,
        end: Instant = None,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> DecimalNumberResponse[list[TradeResponse]]:
        assert current_user.id is not None
        trade_filter = TradeFilter(
            bot_config_id=bot_config_id,
            symbol=Symbol(symbol).value if symbol is not None else None,
            side=side,
            start=_utc(start),
            end=_utc(end),
        )
        return await _page(list_trades, current_user.id, trade_filter, limit, offset)

    @get(
        "/{trade_id:int}",
        summary="One trade",
        dependencies={"get_trade": user_use_case("get_trade")},
        responses=error_responses(401, 404),
    )
    async def get_trade(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        trade_id: FromPath[int],
        get_trade: NamedDependency[SkipValidation[GetTrade]],
    ) -> TradeResponse:
        assert current_user.id is not None
        return trade_response(await get_trade.execute(current_user.id, trade_id))


async def _page(
    list_trades: ListTrades, user_id: int, trade_filter: TradeFilter, limit: int, offset: int
) -> DecimalNumberResponse[list[TradeResponse]]:
    page = await list_trades.execute(
        ListTradesQuery(user_id=user_id, trade_filter=trade_filter, page=PageRequest(limit, offset))
    )
    return paginated([trade_response(t) for t in page.items], page.total)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
