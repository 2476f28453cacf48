from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from adapters.metrics.exposition import METRICS_CONTENT_TYPE, render_metrics
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
        responses={
            200: ResponseSpec(
                data_container=str,
                media_type=METRICS_CONTENT_TYPE,
                description="Prometheus text exposition format",
            )
        },
    )
    async def metrics(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        counts = await request.app.state.container.bot_status_counts().counts()
        return Response(render_metrics(counts), media_type=METRICS_CONTENT_TYPE)
