from __future__ import annotations

from litestar import Controller, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, SkipValidation

from application.backtesting.manage_optimizations import GetOptimization
from application.backtesting.start_optimization import StartOptimization
from domain.users.user import User
from entrypoints.http.dependencies import provide_current_user, user_use_case
from entrypoints.http.errors import error_responses
from entrypoints.http.json_response import DecimalNumberResponse
from entrypoints.http.optimization_schemas import (
    OptimizationAccepted,
    OptimizationJobBody,
    OptimizeRequest,
    accepted_body,
    job_body,
)

OPTIMIZE = "/api/v1/backtest/optimize"
LOCATION = ResponseHeader(
    name="Location", documentation_only=True, description="The job: GET it for its progress"
)


class OptimizationController(Controller):
    path = OPTIMIZE
    tags = ["Backtests"]
    security = [{"BearerToken": []}]
    dependencies = {"current_user": Provide(provide_current_user)}

    @post(
        "/",
        status_code=202,
        summary="Start a parameter optimisation: a backtest per combination of the ranges",
        description=(
            "Checks the request as POST /run does, for every combination of `ranges` (400 "
            "naming `ranges.<name>`; 400 saying how many combinations a grid over the cap "
            "has), then answers 202 with the job's id at once. The job runs in the "
            "background: `optimization_progress` events on the user's event stream after "
            "each chunk of sets, `optimization_completed` at the end; GET /optimize/{job_id} "
            "has its progress and, once completed, the best `top_n` sets by `metric`. "
            "A user may have a few queued or running jobs at once (429 beyond, with "
            "Retry-After)."
        ),
        dependencies={"start_optimization": user_use_case("start_optimization")},
        response_headers=[LOCATION],
        responses=error_responses(400, 401, 429, 503),
    )
    async def start(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        data: JSONBody[OptimizeRequest],
        start_optimization: NamedDependency[SkipValidation[StartOptimization]],
    ) -> DecimalNumberResponse[OptimizationAccepted]:
        assert current_user.id is not None
        job = await start_optimization.execute(data.command(current_user.id))
        return DecimalNumberResponse(
            accepted_body(job), status_code=202, headers={"Location": f"{OPTIMIZE}/{job.id}"}
        )

    @get(
        "/{job_id:int}",
        summary="An optimisation job: its status, progress and, once completed, its results",
        dependencies={"get_optimization": user_use_case("get_optimization")},
        responses=error_responses(400, 401, 404),
    )
    async def job(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        job_id: FromPath[int],
        get_optimization: NamedDependency[SkipValidation[GetOptimization]],
    ) -> OptimizationJobBody:
        assert current_user.id is not None
        return job_body(await get_optimization.execute(current_user.id, job_id))
