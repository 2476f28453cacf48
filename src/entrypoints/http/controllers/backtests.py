from __future__ import annotations

import asyncio
from collections.abc import Callable

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, SkipValidation

from adapters.reports.backtest_chart import render_backtest_chart
from adapters.reports.backtest_csv import daily_csv, monthly_csv, trades_csv
from application.backtesting.manage_backtests import DeleteBacktest, GetBacktest, ListBacktests
from application.backtesting.run_backtest import RunBacktest, RunBacktestCommand
from application.market_data.list_symbols import ListSymbols
from application.pagination import DEFAULT_LIMIT, PageRequest
from domain.backtesting.backtest import Backtest
from domain.users.user import User
from entrypoints.http.backtest_schemas import (
    BacktestDeletedBody,
    BacktestEnvelope,
    BacktestListEnvelope,
    RunBacktestRequest,
    SymbolsBody,
    SymbolsEnvelope,
    backtest_body,
    list_item,
)
from entrypoints.http.dependencies import provide_current_user, user_use_case
from entrypoints.http.errors import error_responses
from entrypoints.http.json_response import DecimalNumberResponse
from entrypoints.http.pagination import TOTAL_COUNT, TOTAL_COUNT_HEADER, Limit, Offset

CSV = "text/csv"
PNG = "image/png"


class BacktestController(Controller):
    path = "/api/v1/backtest"
    tags = ["Backtests"]
    security = [{"BearerToken": []}]
    dependencies = {"current_user": Provide(provide_current_user)}

    @post(
        "/run",
        status_code=200,
        summary="Run a backtest over stored (or first downloaded) candles and keep the result",
        description=(
            "Covers the candles opening from `start_date` 00:00 UTC through `end_date` "
            "23:59:59 UTC; candles not stored yet are downloaded first (once). Answers 200 "
            "with the seed's `{status, data}` body once the run is stored; `data` is the "
            "same as GET /detail/{id}. At most five years of 1m candles per run."
        ),
        dependencies={"run_backtest": user_use_case("run_backtest")},
        responses=error_responses(400, 401, 429, 503),
    )
    async def run(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        data: JSONBody[RunBacktestRequest],
        run_backtest: NamedDependency[SkipValidation[RunBacktest]],
    ) -> BacktestEnvelope:
        assert current_user.id is not None
        backtest = await run_backtest.execute(
            RunBacktestCommand(
                user_id=current_user.id,
                symbol=data.symbol,
                interval=data.interval,
                start_date=data.start_date,
                end_date=data.end_date,
                market_type=data.market_type,
                strategy=data.strategy,
                initial_capital=data.initial_capital,
                parameters=data.parameters,
            )
        )
        return BacktestEnvelope(data=backtest_body(backtest))

    @get(
        "/list",
        summary="The user's backtests, newest first",
        dependencies={"list_backtests": user_use_case("list_backtests")},
        response_headers=[TOTAL_COUNT],
        responses=error_responses(400, 401),
    )
    async def list_backtests(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        list_backtests: NamedDependency[SkipValidation[ListBacktests]],
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> DecimalNumberResponse[BacktestListEnvelope]:
        assert current_user.id is not None
        page = await list_backtests.execute(current_user.id, PageRequest(limit, offset))
        return DecimalNumberResponse(
            BacktestListEnvelope(data=[list_item(s) for s in page.items]),
            headers={TOTAL_COUNT_HEADER: str(page.total)},
        )

    @get(
        "/detail/{backtest_id:int}",
        summary="One backtest with its metrics, periods, equity curve and trades",
        dependencies={"get_backtest": user_use_case("get_backtest")},
        responses=error_responses(400, 401, 404),
    )
    async def detail(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        backtest_id: FromPath[int],
        get_backtest: NamedDependency[SkipValidation[GetBacktest]],
    ) -> BacktestEnvelope:
        backtest = await _owned(current_user, backtest_id, get_backtest)
        return BacktestEnvelope(data=backtest_body(backtest))

    @get(
        "/detail/{backtest_id:int}/chart.png",
        summary="The equity curve with trade markers, and the drawdown, as a PNG",
        media_type=PNG,
        dependencies={"get_backtest": user_use_case("get_backtest")},
        responses=error_responses(400, 401, 404),
    )
    async def chart(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        backtest_id: FromPath[int],
        get_backtest: NamedDependency[SkipValidation[GetBacktest]],
    ) -> Response[bytes]:
        backtest = await _owned(current_user, backtest_id, get_backtest)
        # Rendering takes a CPU-bound moment: keep it off the event loop.
        png = await asyncio.to_thread(render_backtest_chart, backtest)
        return Response(png, media_type=PNG)

    @delete(
        "/delete/{backtest_id:int}",
        status_code=200,
        summary="Delete a backtest",
        description="Answers 200 with the seed's body (not 204 like other deletions).",
        dependencies={"delete_backtest": user_use_case("delete_backtest")},
        responses=error_responses(400, 401, 404),
    )
    async def delete_backtest(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        backtest_id: FromPath[int],
        delete_backtest: NamedDependency[SkipValidation[DeleteBacktest]],
    ) -> BacktestDeletedBody:
        assert current_user.id is not None
        await delete_backtest.execute(current_user.id, backtest_id)
        return BacktestDeletedBody()

    @get(
        "/symbols/{market_type:str}",
        summary="The symbols a backtest can use on a market type (spot or futures)",
        dependencies={"list_symbols": user_use_case("list_symbols")},
        responses=error_responses(400, 401, 429, 503),
    )
    async def symbols(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        market_type: FromPath[str],
        list_symbols: NamedDependency[SkipValidation[ListSymbols]],
    ) -> SymbolsEnvelope:
        symbols = await list_symbols.execute(market_type)
        return SymbolsEnvelope(data=SymbolsBody(market_type, symbols, len(symbols)))

    @get(
        "/download/{backtest_id:int}/daily.csv",
        summary="Daily results as CSV",
        media_type=CSV,
        dependencies={"get_backtest": user_use_case("get_backtest")},
        responses=error_responses(400, 401, 404),
    )
    async def daily(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        backtest_id: FromPath[int],
        get_backtest: NamedDependency[SkipValidation[GetBacktest]],
    ) -> Response[str]:
        return await _csv(current_user, backtest_id, get_backtest, daily_csv, "daily")

    @get(
        "/download/{backtest_id:int}/monthly.csv",
        summary="Monthly results as CSV",
        media_type=CSV,
        dependencies={"get_backtest": user_use_case("get_backtest")},
        responses=error_responses(400, 401, 404),
    )
    async def monthly(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        backtest_id: FromPath[int],
        get_backtest: NamedDependency[SkipValidation[GetBacktest]],
    ) -> Response[str]:
        return await _csv(current_user, backtest_id, get_backtest, monthly_csv, "monthly")

    @get(
        "/download/{backtest_id:int}/trades.csv",
        summary="Trade-by-trade details as CSV",
        media_type=CSV,
        dependencies={"get_backtest": user_use_case("get_backtest")},
        responses=error_responses(400, 401, 404),
    )
    async def trades(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        backtest_id: FromPath[int],
        get_backtest: NamedDependency[SkipValidation[GetBacktest]],
    ) -> Response[str]:
        return await _csv(current_user, backtest_id, get_backtest, trades_csv, "trades")


async def _owned(user: User, backtest_id: int, get_backtest: GetBacktest) -> Backtest:
    """The user's backtest; another user's id is not found, like a missing one."""
    assert user.id is not None
    return await get_backtest.execute(user.id, backtest_id)


async def _csv(
    user: User,
    backtest_id: int,
    get_backtest: GetBacktest,
    render: Callable[[Backtest], str],
    name: str,
) -> Response[str]:
    backtest = await _owned(user, backtest_id, get_backtest)
    return Response(
        render(backtest),
        media_type=CSV,
        headers={
            "Content-Disposition": f'attachment; filename="backtest-{backtest_id}-{name}.csv"'
        },
    )
