from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import SkipValidation

from application.health.check_readiness import CheckReadiness
from entrypoints.http.dependencies import use_case
from entrypoints.http.errors import ErrorBody, envelope, error_responses
from entrypoints.http.request_limits import RATE_LIMIT_EXEMPT
from entrypoints.http.schemas import HealthResponse, ReadinessResponse


class HealthController(Controller):
    path = "/health"
    tags = ["Health"]
    # Monitoring is never refused by the general request limits.
    opt = {RATE_LIMIT_EXEMPT: True}

    @get("/", summary="Liveness: the process answers")
    async def health(self) -> HealthResponse:
        return HealthResponse(status="healthy", service="tradebot-backend")

    @get(
        "/ready",
        summary="Readiness: the database (and Redis, when configured) answer",
        dependencies={"check_readiness": use_case("check_readiness")},
        responses=error_responses(503, rate_limited=False),
    )
    async def ready(
        self, check_readiness: NamedDependency[SkipValidation[CheckReadiness]]
    ) -> Response[ReadinessResponse | ErrorBody]:
        readiness = await check_readiness.execute()
        if not readiness.ready:
            return envelope(503, "Service not ready", readiness.checks)  # type: ignore[return-value]
        return Response(ReadinessResponse(status="ready", checks=readiness.checks))
