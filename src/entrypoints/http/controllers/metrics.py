from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import SkipValidation

from adapters.metrics.exposition import METRICS_CONTENT_TYPE, render_metrics
from application.health.count_bots import CountBotsByStatus
from entrypoints.http.dependencies import use_case
from entrypoints.http.request_limits import RATE_LIMIT_EXEMPT


class MetricsController(Controller):
    path = "/metrics"
    tags = ["Health"]
    opt = {RATE_LIMIT_EXEMPT: True}

    @get(
        "/",
        summary="Prometheus metrics: requests by route and status, bots by status, "
        "orders sent, exchange errors, backtests run",
        media_type=METRICS_CONTENT_TYPE,
        dependencies={"count_bots_by_status": use_case("count_bots_by_status")},
        responses={
            200: ResponseSpec(
                data_container=str,
                media_type=METRICS_CONTENT_TYPE,
                description="Prometheus text exposition format",
            )
        },
    )
    async def metrics(
        self, count_bots_by_status: NamedDependency[SkipValidation[CountBotsByStatus]]
    ) -> Response[bytes]:
        counts = await count_bots_by_status.execute()
        return Response(render_metrics(counts), media_type=METRICS_CONTENT_TYPE)
