"""`create_app(container)`: the Litestar application, built from a container, nothing at import."""

from __future__ import annotations

import asyncio

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig

from entrypoints.container import Container, close_container
from entrypoints.http.access_log import AccessLogMiddleware
from entrypoints.http.controllers.api_keys import ApiKeyController
from entrypoints.http.controllers.auth import AuthController
from entrypoints.http.controllers.backtests import BacktestController
from entrypoints.http.controllers.bot_configs import BotConfigController
from entrypoints.http.controllers.bot_control import BotControlController
from entrypoints.http.controllers.bot_states import BotStateController
from entrypoints.http.controllers.health import HealthController
from entrypoints.http.controllers.metrics import MetricsController
from entrypoints.http.controllers.optimizations import OptimizationController
from entrypoints.http.controllers.orders import OrderController
from entrypoints.http.controllers.portfolio import PortfolioController
from entrypoints.http.controllers.streams import StreamController
from entrypoints.http.controllers.trades import TradeController
from entrypoints.http.controllers.trading_config import TradingConfigController
from entrypoints.http.errors import EXCEPTION_HANDLERS
from entrypoints.http.json_response import DecimalAsNumberSchema, DecimalNumberResponse
from entrypoints.http.pagination import TOTAL_COUNT_HEADER
from entrypoints.http.request_limits import limit_anonymous_requests

MAX_BODY_BYTES = 1024 * 1024
# Request count and latency per route template (`/api/v1/bot-configs/{config_id}`)
# and status, for `GET /metrics`.
HTTP_METRICS = PrometheusConfig(
    app_name="tradebot",
    prefix="tradebot_http",
    group_path=True,
    scopes={ScopeType.HTTP},
    buckets=[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
)


def create_app(container: Container, with_worker: bool = False) -> Litestar:
    """The API; `with_worker` also runs the bot worker in this process
    (the embedded SQLite default)."""
    settings = container.settings()
    stop_worker = asyncio.Event()
    background: list[asyncio.Task[None]] = []

    async def on_startup() -> None:
        # Optimisation jobs run inside the API process: none survives a restart.
        await container.fail_interrupted_optimizations().execute()
        if with_worker:
            background.append(asyncio.create_task(container.bot_worker().run(stop_worker)))

    async def on_shutdown() -> None:
        stop_worker.set()
        if background:
            await asyncio.gather(*background, return_exceptions=True)
        await close_container(container)

    app = Litestar(
        route_handlers=[
            HealthController,
            MetricsController,
            AuthController,
            ApiKeyController,
            BotConfigController,
            BotControlController,
            BotStateController,
            TradeController,
            OrderController,
            PortfolioController,
            TradingConfigController,
            BacktestController,
            OptimizationController,
            StreamController,
        ],
        response_class=DecimalNumberResponse,
        plugins=[DecimalAsNumberSchema()],
        state=State({"container": container}),
        exception_handlers=EXCEPTION_HANDLERS,
        guards=[limit_anonymous_requests],
        middleware=[HTTP_METRICS.middleware],
        cors_config=CORSConfig(
            allow_origins=list(settings.cors_origins),
            allow_credentials=False,
            # Browsers hide response headers from cross-origin scripts unless exposed.
            expose_headers=[TOTAL_COUNT_HEADER],
        )
        if settings.cors_origins
        else None,
        openapi_config=OpenAPIConfig(
            title="TradeBot API",
            version="1.0.0",
            description="Self-hosted multi-user backend for automated crypto trading bots.",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        bearer_format="JWT",
                        description="`Authorization: Bearer <token>` from /api/v1/auth/login",
                    )
                }
            ),
        ),
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        request_max_body_size=MAX_BODY_BYTES,
        debug=False,
        # Logging is configured once by the entry point (configure_logging), not by Litestar.
        logging_config=None,
    )
    # Wrap the outermost handler (not route middleware) so unmatched routes get
    # a request id and an audit line too.
    app.asgi_handler = AccessLogMiddleware(app.asgi_handler)
    return app
