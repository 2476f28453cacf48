"""The composition root: one dependency-injector container builds every adapter and use case."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from dependency_injector import containers, providers

from adapters.backtest.numba_kernel import NumbaBacktestKernel
from adapters.backtest_jobs.background_tasks import AsyncioBackgroundTasks
from adapters.backtest_jobs.process_pool_sweep import ProcessPoolSweep
from adapters.events.in_process_bus import InProcessEventBus
from adapters.events.redis_bus import RedisEventBus
from adapters.exchange.ccxt_gateway import CcxtExchangeGateway, CcxtSettings
from adapters.exchange.exchange_probe import ExchangeProbe
from adapters.exchange.paper.paper_exchange import PaperExchange, PaperSettings
from adapters.exchange.replay.replay_clock import ReplayAnchor, ReplayClock
from adapters.exchange.replay.replay_market_data import ReplayMarketData
from adapters.mail.background_mailer import BackgroundMailer
from adapters.mail.logging_mailer import LoggingMailer
from adapters.mail.smtp_mailer import SmtpMailer, SmtpSettings
from adapters.persistence.bot_lease_store import SqlBotLeases
from adapters.persistence.bot_status_counts import SqlBotStatusCounts
from adapters.persistence.database_probe import DatabaseProbe
from adapters.persistence.engine import (
    create_engine,
    create_read_session_factory,
    create_session_factory,
)
from adapters.persistence.replay_anchor_store import ReplayAnchorStore
from adapters.persistence.sql_candle_store import SqlCandleStore
from adapters.persistence.unit_of_work import SqlUnitOfWork
from adapters.rate_limit.limits_rate_limiter import (
    DisabledRateLimiter,
    LimitsRateLimiter,
    memory_storage,
    redis_storage,
)
from adapters.redis_probe import RedisProbe
from adapters.security.argon2_hasher import Argon2PasswordHasher
from adapters.security.jwt_codec import JwtAccessTokenCodec
from adapters.streams.ticket_store import MemoryStreamTickets, RedisStreamTickets
from adapters.system_clock import SystemClock
from adapters.vault.fernet_vault import FernetVault
from application.api_keys.create_api_key import CreateApiKey
from application.api_keys.manage_api_key import DeleteApiKey, GetApiKey, GetBalance
from application.api_keys.rotate_vault_keys import RotateVaultKeys
from application.auth.authenticate import Authenticate
from application.auth.login import Login
from application.auth.register_user import RegisterUser
from application.auth.request_password_reset import RequestPasswordReset
from application.auth.reset_password import ResetPassword
from application.auth.stream_access import AuthenticateStream
from application.backtesting.manage_backtests import DeleteBacktest, GetBacktest, ListBacktests
from application.backtesting.manage_optimizations import (
    FailInterruptedOptimizations,
    GetOptimization,
)
from application.backtesting.run_backtest import RunBacktest
from application.backtesting.run_optimization import RunOptimization
from application.backtesting.start_optimization import StartOptimization
from application.bots.bot_configs import (
    CreateBotConfig,
    DeleteBotConfig,
    GetBotConfig,
    ListBotConfigs,
    UpdateBotConfig,
)
from application.bots.bot_control import ChangeBotStatus, GetBotState, UpdateBotState
from application.health.check_readiness import CheckReadiness
from application.health.count_bots import CountBotsByStatus
from application.live.bot_worker import BotWorker, WorkerSettings
from application.live.evaluate_bot import EvaluateBot
from application.live.exchange_time import ExchangeTime
from application.market_data.ensure_candles import EnsureCandles
from application.market_data.import_candles import ImportCandles
from application.market_data.list_symbols import ListSymbols
from application.market_data.price_feed import PriceFeed
from application.orders.follow_manual_orders import FollowManualOrders
from application.orders.place_manual_order import PlaceManualOrder
from application.portfolio.get_portfolio import GetPortfolio
from application.trades.trades import GetTrade, ListTrades, RecordTrade
from application.users.local_account import EnsureLocalAccount
from application.users.manage_users import ListUsers, SetUserActive
from domain.ports.clock import Clock
from domain.ports.event_bus import EventBus
from domain.ports.exchange_gateway import ExchangeGateway
from domain.ports.mailer import Mailer
from domain.ports.rate_limiter import RateLimiter
from domain.ports.readiness_probe import ReadinessProbe
from domain.ports.stream_tickets import StreamTickets
from entrypoints.failpoints import failpoints
from entrypoints.http.request_limits import RequestLimits
from entrypoints.settings import Settings


def _delivery_mailer(settings: Settings) -> Mailer:
    if not settings.smtp_host:
        return LoggingMailer()
    return SmtpMailer(
        SmtpSettings(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_tls,
        )
    )


def _rate_limiter(settings: Settings) -> LimitsRateLimiter:
    storage = redis_storage(settings.redis_url) if settings.redis_url else memory_storage()
    return LimitsRateLimiter(storage)


def _auth_rate_limiter(settings: Settings, limiter: RateLimiter) -> RateLimiter:
    return limiter if settings.auth_rate_limits else DisabledRateLimiter()


def _event_bus(settings: Settings, clock: Clock) -> EventBus:
    """Redis when configured, so that every process's events reach every client."""
    if settings.redis_url:
        return RedisEventBus(settings.redis_url, clock)
    return InProcessEventBus(clock)


def _stream_tickets(settings: Settings, clock: Clock) -> StreamTickets:
    """Redis when configured, so that a ticket works on every API process."""
    if settings.redis_url:
        return RedisStreamTickets(settings.redis_url)
    return MemoryStreamTickets(clock)


def _readiness_probes(
    settings: Settings, database: DatabaseProbe, exchange: ExchangeGateway
) -> list[ReadinessProbe]:
    probes: list[ReadinessProbe] = [database]
    if settings.redis_url:
        probes.append(RedisProbe(settings.redis_url))
    probes.append(ExchangeProbe(exchange))
    return probes


def _market_clock(settings: Settings, clock: Clock, anchors: ReplayAnchorStore) -> Clock:
    """The clock of market time: the wall's, except under the paper replay."""
    if settings.exchange != "paper" or settings.paper_feed != "replay":
        return clock

    async def anchor(wall_now: datetime) -> ReplayAnchor | None:
        return await anchors.load_or_create(
            settings.paper_replay_speed, settings.paper_replay_start, wall_now
        )

    return ReplayClock(clock, anchor)


def _anchoring(clock: Clock) -> Callable[[], Awaitable[None]] | None:
    """What a worker does before each tick: anchor the paper replay until it is."""
    return clock.ensure_anchored if isinstance(clock, ReplayClock) else None


def _exchange(
    settings: Settings,
    session_factory: Any,
    clock: Clock,
    candles: SqlCandleStore,
    exchange_id: str,
) -> ExchangeGateway:
    """The ccxt gateway, or the paper exchange priced by the ccxt gateway's public data
    (or, under TRADEBOT_PAPER_FEED=replay, by the stored candles as of replay time)."""
    if settings.exchange == "paper" and isinstance(clock, ReplayClock):
        return PaperExchange(
            market_data=ReplayMarketData(candles, clock, exchange_id),
            session_factory=session_factory,
            clock=clock,
            settings=_paper_settings(settings),
        )
    ccxt_gateway = CcxtExchangeGateway(
        CcxtSettings(
            base_url=settings.binance_base_url,
            sandbox=settings.validate_api_on_testnet,
            timeout_seconds=settings.exchange_timeout_seconds,
            markets_ttl_seconds=settings.markets_ttl_seconds,
        )
    )
    if settings.exchange != "paper":
        return ccxt_gateway
    return PaperExchange(
        market_data=ccxt_gateway,
        session_factory=session_factory,
        clock=clock,
        settings=_paper_settings(settings),
    )


def _paper_settings(settings: Settings) -> PaperSettings:
    return PaperSettings(
        spot_fee_rate=settings.paper_spot_fee,
        futures_fee_rate=settings.paper_futures_fee,
        slippage_rate=settings.paper_slippage,
        starting_spot=settings.paper_spot_balance,
        starting_futures=settings.paper_futures_balance,
    )


def _worker_settings(settings: Settings) -> WorkerSettings:
    owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
    poll = settings.worker_poll_seconds
    if settings.exchange == "paper" and settings.paper_feed == "replay":
        # Only the newest closed candle decides: a fast replay is looked at every 30
        # replayed seconds, so that no candle's decision is skipped between two looks.
        poll = min(poll, max(0.02, 30.0 / settings.paper_replay_speed))
    return WorkerSettings(
        owner=owner[:64],
        lease_seconds=settings.worker_lease_seconds,
        poll_seconds=poll,
        concurrency=settings.worker_concurrency,
    )


def _fernet_keys(settings: Settings) -> tuple[str, ...]:
    if not settings.fernet_keys:
        raise RuntimeError("no Fernet keys: build settings with with_generated_secrets()")
    return settings.fernet_keys


def _jwt_secret(settings: Settings) -> str:
    if not settings.jwt_secret:
        raise RuntimeError("no JWT secret: build settings with with_generated_secrets()")
    return settings.jwt_secret


def _candle_exchange_id(settings: Settings) -> str:
    """The exchange named in stored candles' keys: the paper exchange's prices are
    Binance's, so its candles are Binance's too and both share one store."""
    return "binance" if settings.exchange == "paper" else settings.exchange


def _requires_api_key(settings: Settings) -> bool:
    """Bots trade through the user's own key, except on the paper exchange."""
    return settings.exchange != "paper"


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    clock = providers.Singleton(SystemClock)
    engine = providers.Singleton(create_engine, database_url=settings.provided.database_url)
    session_factory = providers.Singleton(create_session_factory, engine)
    uow = providers.Factory(SqlUnitOfWork, session_factory)
    # For use cases that only read: no BEGIN/ROLLBACK round trips.
    read_uow = providers.Factory(
        SqlUnitOfWork, providers.Singleton(create_read_session_factory, engine), read_only=True
    )

    password_hasher = providers.Singleton(Argon2PasswordHasher)
    access_tokens = providers.Singleton(
        JwtAccessTokenCodec, secret=providers.Callable(_jwt_secret, settings), clock=clock
    )
    rate_limiter = providers.Singleton(_rate_limiter, settings)
    auth_rate_limiter = providers.Callable(_auth_rate_limiter, settings, rate_limiter)
    request_limits = providers.Singleton(RequestLimits.from_settings, settings)
    mailer = providers.Singleton(
        BackgroundMailer, inner=providers.Singleton(_delivery_mailer, settings)
    )
    vault = providers.Singleton(FernetVault, providers.Callable(_fernet_keys, settings))
    candle_exchange_id = providers.Callable(_candle_exchange_id, settings)
    candle_store = providers.Singleton(SqlCandleStore, session_factory)
    replay_anchors = providers.Singleton(
        ReplayAnchorStore, session_factory, candle_store, candle_exchange_id
    )
    market_clock = providers.Singleton(_market_clock, settings, clock, replay_anchors)
    exchange = providers.Singleton(
        _exchange, settings, session_factory, market_clock, candle_store, candle_exchange_id
    )
    readiness_probes = providers.Singleton(
        _readiness_probes, settings, providers.Singleton(DatabaseProbe, engine), exchange
    )

    register_user = providers.Factory(RegisterUser, uow=uow, hasher=password_hasher, clock=clock)
    login = providers.Factory(
        Login,
        uow=uow,
        hasher=password_hasher,
        tokens=access_tokens,
        limiter=auth_rate_limiter,
        clock=clock,
    )
    authenticate = providers.Factory(Authenticate, uow=read_uow, tokens=access_tokens)
    request_password_reset = providers.Factory(
        RequestPasswordReset,
        uow=uow,
        mailer=mailer,
        limiter=auth_rate_limiter,
        clock=clock,
        public_url=settings.provided.public_url,
    )
    reset_password = providers.Factory(
        ResetPassword, uow=uow, hasher=password_hasher, limiter=auth_rate_limiter, clock=clock
    )
    list_users = providers.Factory(ListUsers, uow=read_uow)
    set_user_active = providers.Factory(SetUserActive, uow=uow)
    check_readiness = providers.Factory(CheckReadiness, probes=readiness_probes)
    count_bots_by_status = providers.Factory(
        CountBotsByStatus, counts=providers.Singleton(SqlBotStatusCounts, engine)
    )

    create_api_key = providers.Factory(
        CreateApiKey, uow=uow, vault=vault, exchange=exchange, clock=clock
    )
    get_api_key = providers.Factory(GetApiKey, uow=read_uow)
    delete_api_key = providers.Factory(DeleteApiKey, uow=uow)
    get_balance = providers.Factory(GetBalance, uow=uow, vault=vault, exchange=exchange)
    rotate_vault_keys = providers.Factory(RotateVaultKeys, uow=uow, vault=vault, clock=clock)

    requires_api_key = providers.Callable(_requires_api_key, settings)
    event_bus = providers.Singleton(_event_bus, settings, clock)
    create_bot_config = providers.Factory(CreateBotConfig, uow=uow, exchange=exchange, clock=clock)
    get_bot_config = providers.Factory(GetBotConfig, uow=read_uow)
    list_bot_configs = providers.Factory(ListBotConfigs, uow=read_uow)
    update_bot_config = providers.Factory(UpdateBotConfig, uow=uow, exchange=exchange, clock=clock)
    delete_bot_config = providers.Factory(DeleteBotConfig, uow=uow)
    get_bot_state = providers.Factory(GetBotState, uow=read_uow)
    change_bot_status = providers.Factory(
        ChangeBotStatus,
        uow=uow,
        clock=clock,
        requires_api_key=requires_api_key,
        events=event_bus,
    )
    update_bot_state = providers.Factory(
        UpdateBotState,
        uow=uow,
        clock=clock,
        requires_api_key=requires_api_key,
        events=event_bus,
    )
    record_trade = providers.Factory(RecordTrade, uow=uow)
    get_trade = providers.Factory(GetTrade, uow=read_uow)
    list_trades = providers.Factory(ListTrades, uow=read_uow)
    # manual orders
    place_manual_order = providers.Factory(
        PlaceManualOrder,
        uow=uow,
        exchange=exchange,
        vault=vault,
        events=event_bus,
        clock=clock,
        requires_api_key=requires_api_key,
    )
    # portfolio: "today" in market time, the time trades are stamped with (paper replay)
    get_portfolio = providers.Factory(
        GetPortfolio,
        uow=uow,
        vault=vault,
        exchange=exchange,
        clock=market_clock,
        requires_api_key=requires_api_key,
    )

    ensure_candles = providers.Factory(
        EnsureCandles, exchange=exchange, store=candle_store, clock=clock
    )
    import_candles = providers.Factory(ImportCandles, store=candle_store)
    stream_tickets = providers.Singleton(_stream_tickets, settings, clock)
    authenticate_stream = providers.Factory(
        AuthenticateStream, uow=uow, authenticate=authenticate, tickets=stream_tickets
    )
    exchange_time = providers.Singleton(ExchangeTime, exchange=exchange, clock=market_clock)
    evaluate_bot = providers.Factory(
        EvaluateBot,
        uow=uow,
        exchange=exchange,
        vault=vault,
        candles=candle_store,
        ensure_candles=providers.Factory(
            EnsureCandles, exchange=exchange, store=candle_store, clock=market_clock
        ),
        events=event_bus,
        clock=market_clock,
        exchange_id=candle_exchange_id,
        requires_api_key=requires_api_key,
        checkpoint=providers.Singleton(failpoints),
        exchange_time=exchange_time,
    )
    follow_manual_orders = providers.Factory(
        FollowManualOrders,
        uow=uow,
        exchange=exchange,
        vault=vault,
        events=event_bus,
        clock=clock,
        requires_api_key=requires_api_key,
    )
    bot_leases = providers.Singleton(SqlBotLeases, session_factory)
    bot_worker = providers.Factory(
        BotWorker,
        leases=bot_leases,
        evaluate_bot=evaluate_bot.provider,
        market_clock=market_clock,
        wall_clock=clock,
        settings=providers.Callable(_worker_settings, settings),
        before_tick=providers.Callable(_anchoring, market_clock),
        follow_orders=follow_manual_orders.provider,
    )
    list_symbols = providers.Factory(ListSymbols, exchange=exchange)
    price_feed = providers.Singleton(
        PriceFeed, exchange=exchange, poll_seconds=settings.provided.price_poll_seconds
    )

    # Compiled once per process (numba caches the machine code on disk as well).
    backtest_kernel = providers.Singleton(NumbaBacktestKernel)
    run_backtest = providers.Factory(
        RunBacktest,
        uow=uow,
        exchange=exchange,
        candles=candle_store,
        ensure_candles=ensure_candles,
        kernel=backtest_kernel,
        clock=clock,
        exchange_id=candle_exchange_id,
    )
    get_backtest = providers.Factory(GetBacktest, uow=read_uow)
    list_backtests = providers.Factory(ListBacktests, uow=read_uow)
    delete_backtest = providers.Factory(DeleteBacktest, uow=uow)
    # optimisation jobs: run in this process's background, the kernel in worker processes
    optimization_tasks = providers.Singleton(AsyncioBackgroundTasks)
    parameter_sweep = providers.Singleton(ProcessPoolSweep)
    run_optimization = providers.Factory(
        RunOptimization,
        uow=uow,
        candles=candle_store,
        ensure_candles=ensure_candles,
        sweep=parameter_sweep,
        events=event_bus,
        clock=clock,
    )
    start_optimization = providers.Factory(
        StartOptimization,
        uow=uow,
        exchange=exchange,
        clock=clock,
        tasks=optimization_tasks,
        run_optimization=run_optimization.provider,
        exchange_id=candle_exchange_id,
        max_jobs_per_user=settings.provided.optimize_max_jobs_per_user,
    )
    get_optimization = providers.Factory(GetOptimization, uow=read_uow)
    fail_interrupted_optimizations = providers.Factory(
        FailInterruptedOptimizations, uow=uow, events=event_bus, clock=clock
    )
    ensure_local_account = providers.Factory(
        EnsureLocalAccount, uow=uow, hasher=password_hasher, clock=clock
    )


def build_container(settings: Settings) -> Container:
    return Container(settings=settings)


async def close_container(container: Container) -> None:
    """Release what the container opened: pending mail, database connections."""
    # First: a cancelled optimisation job still records itself as interrupted.
    await container.optimization_tasks().close()
    await container.parameter_sweep().close()
    mailer = container.mailer()
    await mailer.drain()
    await container.exchange().close()
    await container.event_bus().close()
    await container.engine().dispose()
