"""In-memory fakes of the ports, for use-case tests (and the mail outbox for HTTP tests)."""

from __future__ import annotations

import copy
import itertools
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from types import TracebackType
from typing import Any, Self

import numpy as np

from domain.api_keys.api_key import ApiKey
from domain.api_keys.errors import ApiKeyAlreadyExists
from domain.backtesting.backtest import Backtest, BacktestSummary
from domain.backtesting.optimization import OptimizationJob
from domain.bots.bot_config import BotConfig
from domain.bots.bot_state import BotState
from domain.bots.errors import BotConfigNotFound, StaleBotState
from domain.bots.order_intent import IntentStatus, OrderIntent
from domain.bots.trade import Trade
from domain.errors import RateLimited
from domain.events import DeliveredEvent, DomainEvent
from domain.exchange.account import ExchangeAccount
from domain.exchange.balance import AccountBalance
from domain.exchange.errors import (
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidCredentials,
    UnknownSymbol,
)
from domain.exchange.fill import OrderFill
from domain.exchange.market import Market, MarketType
from domain.exchange.order import Order, OrderRequest, OrderSide, OrderStatus
from domain.exchange.position import ExchangePosition
from domain.exchange.ticker import Ticker
from domain.market_data.candle import Candle
from domain.orders.manual_order import ManualOrder, ManualOrderStatus
from domain.ports.api_key_repository import ApiKeyRepository
from domain.ports.backtest_repository import BacktestRepository
from domain.ports.bot_config_repository import BotConfigRepository
from domain.ports.bot_state_repository import BotStateRepository
from domain.ports.candle_store import CandleKey, CandleStore, StoredSeries
from domain.ports.clock import Clock
from domain.ports.event_bus import EventBus
from domain.ports.exchange_gateway import ExchangeGateway
from domain.ports.mailer import Mailer, MailMessage
from domain.ports.manual_order_repository import ManualOrderRepository
from domain.ports.optimization_job_repository import OptimizationJobRepository
from domain.ports.order_intent_repository import OrderIntentRepository
from domain.ports.password_hasher import PasswordHasher
from domain.ports.password_reset_repository import PasswordResetRepository
from domain.ports.rate_limiter import RateLimit, RateLimiter
from domain.ports.trade_repository import TradeFilter, TradeRepository
from domain.ports.unit_of_work import UnitOfWork
from domain.ports.user_repository import UserRepository
from domain.trading.simulation import CandleSeries
from domain.users.email import Email
from domain.users.errors import EmailAlreadyRegistered
from domain.users.password_reset import PasswordResetRequest
from domain.users.user import User


class FakeClock(Clock):
    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


class InMemoryUserRepository(UserRepository):
    def __init__(self, rows: dict[int, User]) -> None:
        self._rows = rows

    async def add(self, user: User) -> User:
        if any(row.email == user.email for row in self._rows.values()):
            raise EmailAlreadyRegistered()
        user.id = max(self._rows, default=0) + 1
        self._rows[user.id] = copy.deepcopy(user)
        return user

    async def get(self, user_id: int) -> User | None:
        row = self._rows.get(user_id)
        return copy.deepcopy(row) if row else None

    async def get_by_email(self, email: Email) -> User | None:
        row = next((u for u in self._rows.values() if u.email == email), None)
        return copy.deepcopy(row) if row else None

    async def update(self, user: User) -> None:
        assert user.id in self._rows
        self._rows[user.id] = copy.deepcopy(user)

    async def list(self, limit: int, offset: int) -> list[User]:
        return [copy.deepcopy(u) for _, u in sorted(self._rows.items())][offset : offset + limit]


class InMemoryPasswordResetRepository(PasswordResetRepository):
    def __init__(self, rows: dict[int, PasswordResetRequest]) -> None:
        self._rows = rows

    async def add(self, request: PasswordResetRequest) -> PasswordResetRequest:
        request.id = max(self._rows, default=0) + 1
        self._rows[request.id] = copy.deepcopy(request)
        return request

    async def get_by_token_hash(self, token_hash: str) -> PasswordResetRequest | None:
        row = next((r for r in self._rows.values() if r.token_hash == token_hash), None)
        return copy.deepcopy(row) if row else None

    async def save_redemption(self, request: PasswordResetRequest) -> bool:
        assert request.id in self._rows
        if self._rows[request.id].used_at is not None:
            return False
        self._rows[request.id] = copy.deepcopy(request)
        return True

    async def invalidate_for_user(self, user_id: int) -> None:
        for key in [k for k, r in self._rows.items() if r.user_id == user_id and r.used_at is None]:
            del self._rows[key]


class InMemoryApiKeyRepository(ApiKeyRepository):
    def __init__(self, rows: dict[int, ApiKey]) -> None:
        self._rows = rows

    async def add(self, api_key: ApiKey) -> ApiKey:
        if any(row.user_id == api_key.user_id for row in self._rows.values()):
            raise ApiKeyAlreadyExists()
        api_key.id = max(self._rows, default=0) + 1
        self._rows[api_key.id] = copy.deepcopy(api_key)
        return api_key

    async def get_for_user(self, user_id: int) -> ApiKey | None:
        row = next((k for k in self._rows.values() if k.user_id == user_id), None)
        return copy.deepcopy(row) if row else None

    async def get(self, user_id: int, api_key_id: int) -> ApiKey | None:
        row = self._rows.get(api_key_id)
        return copy.deepcopy(row) if row and row.user_id == user_id else None

    async def delete_for_user(self, user_id: int) -> bool:
        keys = [key for key, row in self._rows.items() if row.user_id == user_id]
        for key in keys:
            del self._rows[key]
        return bool(keys)

    async def list_after(self, after_id: int, limit: int) -> list[ApiKey]:
        return [copy.deepcopy(r) for k, r in sorted(self._rows.items()) if k > after_id][:limit]

    async def update_ciphertexts(self, api_key: ApiKey) -> None:
        assert api_key.id in self._rows
        self._rows[api_key.id] = copy.deepcopy(api_key)


class InMemoryBotConfigRepository(BotConfigRepository):
    def __init__(
        self, rows: dict[int, BotConfig], states: dict[int, BotState], trades: dict[int, Trade]
    ) -> None:
        self._rows = rows
        self._states = states
        self._trades = trades

    async def add(self, config: BotConfig) -> BotConfig:
        config.id = max(self._rows, default=0) + 1
        self._rows[config.id] = copy.deepcopy(config)
        return config

    async def get(self, user_id: int, config_id: int) -> BotConfig | None:
        row = self._rows.get(config_id)
        return copy.deepcopy(row) if row and row.user_id == user_id else None

    async def list(self, user_id: int, limit: int, offset: int) -> list[BotConfig]:
        mine = [copy.deepcopy(r) for _, r in sorted(self._rows.items()) if r.user_id == user_id]
        return mine[offset : offset + limit]

    async def count(self, user_id: int) -> int:
        return sum(1 for row in self._rows.values() if row.user_id == user_id)

    async def update(self, config: BotConfig) -> None:
        assert config.id in self._rows
        assert self._rows[config.id].user_id == config.user_id
        self._rows[config.id] = copy.deepcopy(config)

    async def delete(self, user_id: int, config_id: int) -> bool:
        row = self._rows.get(config_id)
        if row is None or row.user_id != user_id:
            return False
        del self._rows[config_id]
        # What ON DELETE CASCADE does in the database.
        for rows in (self._states, self._trades):
            for key in [k for k, r in rows.items() if r.bot_config_id == config_id]:
                del rows[key]
        return True


class InMemoryBotStateRepository(BotStateRepository):
    def __init__(self, rows: dict[int, BotState]) -> None:
        self._rows = rows

    async def add(self, state: BotState) -> BotState:
        assert all(r.bot_config_id != state.bot_config_id for r in self._rows.values())
        state.id = max(self._rows, default=0) + 1
        self._rows[state.id] = copy.deepcopy(state)
        return state

    async def get(self, user_id: int, bot_config_id: int) -> BotState | None:
        row = next(
            (
                r
                for r in self._rows.values()
                if r.bot_config_id == bot_config_id and r.user_id == user_id
            ),
            None,
        )
        return copy.deepcopy(row) if row else None

    async def list_in_position(self, user_id: int) -> list[BotState]:
        mine = [r for r in self._rows.values() if r.user_id == user_id and r.in_position]
        return [copy.deepcopy(r) for r in sorted(mine, key=lambda r: r.bot_config_id)]

    async def update(self, state: BotState) -> None:
        assert state.id in self._rows
        if self._rows[state.id].version != state.version:
            raise StaleBotState()
        state.version += 1
        self._rows[state.id] = copy.deepcopy(state)


class InMemoryTradeRepository(TradeRepository):
    def __init__(self, rows: dict[int, Trade], bot_configs: dict[int, BotConfig]) -> None:
        self._rows = rows
        self._bot_configs = bot_configs

    async def add(self, trade: Trade) -> Trade:
        if trade.bot_config_id is not None:
            config = self._bot_configs.get(trade.bot_config_id)
            if config is None or config.user_id != trade.user_id:
                raise BotConfigNotFound()
        trade.id = max(self._rows, default=0) + 1
        self._rows[trade.id] = copy.deepcopy(trade)
        return trade

    async def get(self, user_id: int, trade_id: int) -> Trade | None:
        row = self._rows.get(trade_id)
        return copy.deepcopy(row) if row and row.user_id == user_id else None

    async def list(
        self, user_id: int, trade_filter: TradeFilter, limit: int, offset: int
    ) -> list[Trade]:
        matching = self._matching(user_id, trade_filter)
        matching.sort(key=lambda t: (t.timestamp, t.id or 0), reverse=True)
        return [copy.deepcopy(t) for t in matching[offset : offset + limit]]

    async def count(self, user_id: int, trade_filter: TradeFilter) -> int:
        return len(self._matching(user_id, trade_filter))

    async def realized_pnl_since(self, user_id: int, since: datetime | None = None) -> Decimal:
        amounts = (
            t.realized_pnl if t.realized_pnl is not None else t.pnl
            for t in self._rows.values()
            if t.user_id == user_id and (since is None or t.timestamp >= since)
        )
        return sum((a for a in amounts if a is not None), Decimal(0))

    def _matching(self, user_id: int, f: TradeFilter) -> list[Trade]:
        return [
            t
            for t in self._rows.values()
            if t.user_id == user_id
            and (f.bot_config_id is None or t.bot_config_id == f.bot_config_id)
            and (f.symbol is None or t.symbol == f.symbol)
            and (f.side is None or t.side is f.side)
            and (f.start is None or t.timestamp >= f.start)
            and (f.end is None or t.timestamp <= f.end)
        ]


class InMemoryBacktestRepository(BacktestRepository):
    def __init__(self, rows: dict[int, Backtest]) -> None:
        self._rows = rows

    async def add(self, backtest: Backtest) -> Backtest:
        backtest.id = max(self._rows, default=0) + 1
        self._rows[backtest.id] = copy.deepcopy(backtest)
        return backtest

    async def get(self, user_id: int, backtest_id: int) -> Backtest | None:
        row = self._rows.get(backtest_id)
        return copy.deepcopy(row) if row and row.user_id == user_id else None

    async def list(self, user_id: int, limit: int, offset: int) -> list[BacktestSummary]:
        mine = [r for r in self._rows.values() if r.user_id == user_id]
        mine.sort(key=lambda r: (r.created_at, r.id or 0), reverse=True)
        return [r.summary() for r in mine[offset : offset + limit]]

    async def count(self, user_id: int) -> int:
        return sum(1 for row in self._rows.values() if row.user_id == user_id)

    async def delete(self, user_id: int, backtest_id: int) -> bool:
        row = self._rows.get(backtest_id)
        if row is None or row.user_id != user_id:
            return False
        del self._rows[backtest_id]
        return True


class InMemoryOrderIntentRepository(OrderIntentRepository):
    def __init__(self, rows: dict[int, OrderIntent]) -> None:
        self._rows = rows

    async def add(self, intent: OrderIntent) -> OrderIntent:
        existing = next(
            (r for r in self._rows.values() if r.client_order_id == intent.client_order_id), None
        )
        if existing is not None:
            return copy.deepcopy(existing)
        intent.id = max(self._rows, default=0) + 1
        self._rows[intent.id] = copy.deepcopy(intent)
        return intent

    async def pending(self, bot_config_id: int | None = None) -> list[OrderIntent]:
        return [
            copy.deepcopy(r)
            for _, r in sorted(self._rows.items())
            if r.status is IntentStatus.PENDING
            and (bot_config_id is None or r.bot_config_id == bot_config_id)
        ]

    async def update(self, intent: OrderIntent) -> None:
        assert intent.id in self._rows
        self._rows[intent.id] = copy.deepcopy(intent)

    async def mark_sent(self, intent: OrderIntent) -> bool:
        stored = self._rows.get(intent.id or 0)
        if stored is None or stored.status is not IntentStatus.PENDING:
            return False
        stored.sent_at = intent.sent_at
        return True

    async def expire_unsent(self, bot_config_id: int, reason: str) -> int:
        unsent = [
            r
            for r in self._rows.values()
            if r.bot_config_id == bot_config_id
            and r.status is IntentStatus.PENDING
            and r.sent_at is None
        ]
        for intent in unsent:
            intent.expired(reason)
        return len(unsent)


class InMemoryManualOrderRepository(ManualOrderRepository):
    def __init__(self, rows: dict[int, ManualOrder]) -> None:
        self._rows = rows

    async def add(self, order: ManualOrder) -> ManualOrder | None:
        if order.idempotency_key is not None and any(
            r.user_id == order.user_id and r.idempotency_key == order.idempotency_key
            for r in self._rows.values()
        ):
            return None
        order.id = max(self._rows, default=0) + 1
        self._rows[order.id] = copy.deepcopy(order)
        return order

    async def get(self, user_id: int, order_id: int) -> ManualOrder | None:
        row = self._rows.get(order_id)
        return copy.deepcopy(row) if row and row.user_id == user_id else None

    async def get_by_key(self, user_id: int, key: str) -> ManualOrder | None:
        row = next(
            (r for r in self._rows.values() if r.user_id == user_id and r.idempotency_key == key),
            None,
        )
        return copy.deepcopy(row) if row else None

    async def expire_keys(self, user_id: int, requested_before: datetime) -> None:
        for row in self._rows.values():
            if row.user_id == user_id and row.requested_at < requested_before:
                row.idempotency_key = None

    async def take_lease(self, order_id: int, now: datetime, until: datetime) -> bool:
        row = self._rows[order_id]
        if row.status is not ManualOrderStatus.PENDING or row.is_leased(now):
            return False
        row.lease_until = until
        return True

    async def release_lease(self, order_id: int) -> None:
        row = self._rows[order_id]
        if row.status is ManualOrderStatus.PENDING:
            row.lease_until = None

    async def complete(self, order: ManualOrder) -> bool:
        assert order.id is not None
        row = self._rows[order.id]
        if row.status not in (
            ManualOrderStatus.PENDING,
            ManualOrderStatus.REJECTED,
            ManualOrderStatus.OPEN,
        ):
            return False
        stored = copy.deepcopy(order)
        stored.idempotency_key = row.idempotency_key
        self._rows[order.id] = stored
        return True

    async def unsettled(self, now: datetime, limit: int) -> list[ManualOrder]:
        rows = [
            r
            for _, r in sorted(self._rows.items())
            if r.status is ManualOrderStatus.OPEN
            or (r.status is ManualOrderStatus.PENDING and not r.is_leased(now))
        ]
        return copy.deepcopy(rows[:limit])

    async def reject(self, order: ManualOrder) -> None:
        assert order.id is not None
        row = self._rows[order.id]
        if row.status is ManualOrderStatus.PENDING:
            row.rejected()


class InMemoryOptimizationJobRepository(OptimizationJobRepository):
    def __init__(self, rows: dict[int, OptimizationJob]) -> None:
        self._rows = rows

    async def add(self, job: OptimizationJob, active_limit: int) -> OptimizationJob | None:
        if await self.count_active(job.user_id) >= active_limit:
            return None
        job.id = max(self._rows, default=0) + 1
        self._rows[job.id] = copy.deepcopy(job)
        return job

    async def get(self, user_id: int, job_id: int) -> OptimizationJob | None:
        row = self._rows.get(job_id)
        return copy.deepcopy(row) if row and row.user_id == user_id else None

    async def count_active(self, user_id: int) -> int:
        return sum(1 for row in self._rows.values() if row.user_id == user_id and row.active)

    async def unfinished(self) -> list[OptimizationJob]:
        return [copy.deepcopy(row) for _, row in sorted(self._rows.items()) if row.active]

    async def update(self, job: OptimizationJob) -> bool:
        assert job.id is not None
        row = self._rows.get(job.id)
        if row is None or not row.active:
            return False
        self._rows[job.id] = copy.deepcopy(job)
        return True


class FakeUnitOfWork(UnitOfWork):
    """Transactions over dicts: work is staged on copies and published on commit only."""

    def __init__(self) -> None:
        self.committed_users: dict[int, User] = {}
        self.committed_resets: dict[int, PasswordResetRequest] = {}
        self.committed_api_keys: dict[int, ApiKey] = {}
        self.committed_bot_configs: dict[int, BotConfig] = {}
        self.committed_bot_states: dict[int, BotState] = {}
        self.committed_trades: dict[int, Trade] = {}
        self.committed_backtests: dict[int, Backtest] = {}
        self.committed_order_intents: dict[int, OrderIntent] = {}
        self.committed_manual_orders: dict[int, ManualOrder] = {}
        self.committed_optimization_jobs: dict[int, OptimizationJob] = {}
        self.commits = 0

    async def __aenter__(self) -> Self:
        self._users = copy.deepcopy(self.committed_users)
        self._resets = copy.deepcopy(self.committed_resets)
        self._api_keys = copy.deepcopy(self.committed_api_keys)
        self.users = InMemoryUserRepository(self._users)
        self.password_resets = InMemoryPasswordResetRepository(self._resets)
        self.api_keys = InMemoryApiKeyRepository(self._api_keys)
        self._bot_configs = copy.deepcopy(self.committed_bot_configs)
        self._bot_states = copy.deepcopy(self.committed_bot_states)
        self._trades = copy.deepcopy(self.committed_trades)
        self.bot_configs = InMemoryBotConfigRepository(
            self._bot_configs, self._bot_states, self._trades
        )
        self.bot_states = InMemoryBotStateRepository(self._bot_states)
        self.trades = InMemoryTradeRepository(self._trades, self._bot_configs)
        self._backtests = copy.deepcopy(self.committed_backtests)
        self.backtests = InMemoryBacktestRepository(self._backtests)
        self._order_intents = copy.deepcopy(self.committed_order_intents)
        self.order_intents = InMemoryOrderIntentRepository(self._order_intents)
        self._manual_orders = copy.deepcopy(self.committed_manual_orders)
        self.manual_orders = InMemoryManualOrderRepository(self._manual_orders)
        self._optimization_jobs = copy.deepcopy(self.committed_optimization_jobs)
        self.optimization_jobs = InMemoryOptimizationJobRepository(self._optimization_jobs)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def commit(self) -> None:
        self.committed_users = copy.deepcopy(self._users)
        self.committed_resets = copy.deepcopy(self._resets)
        self.committed_api_keys = copy.deepcopy(self._api_keys)
        self.committed_bot_configs = copy.deepcopy(self._bot_configs)
        self.committed_bot_states = copy.deepcopy(self._bot_states)
        self.committed_trades = copy.deepcopy(self._trades)
        self.committed_backtests = copy.deepcopy(self._backtests)
        self.committed_order_intents = copy.deepcopy(self._order_intents)
        self.committed_manual_orders = copy.deepcopy(self._manual_orders)
        self.committed_optimization_jobs = copy.deepcopy(self._optimization_jobs)
        self.commits += 1

    async def rollback(self) -> None:
        self._restore(self._users, self.committed_users)
        self._restore(self._resets, self.committed_resets)
        self._restore(self._api_keys, self.committed_api_keys)
        # In place, so the repositories handed out by __aenter__ see the rollback.
        self._restore(self._bot_configs, self.committed_bot_configs)
        self._restore(self._bot_states, self.committed_bot_states)
        self._restore(self._trades, self.committed_trades)
        self._restore(self._backtests, self.committed_backtests)
        self._restore(self._order_intents, self.committed_order_intents)
        self._restore(self._manual_orders, self.committed_manual_orders)
        self._restore(self._optimization_jobs, self.committed_optimization_jobs)

    @staticmethod
    def _restore(staged: dict[int, Any], committed: dict[int, Any]) -> None:
        staged.clear()
        staged.update(copy.deepcopy(committed))


class FakePasswordHasher(PasswordHasher):
    """Reversible "hash" that still never equals the password; counts the work done."""

    def __init__(self) -> None:
        self.verifications = 0
        self.burns = 0

    async def hash(self, password: str) -> str:
        return "fake$" + password[::-1]

    async def verify(self, password_hash: str, password: str) -> bool:
        self.verifications += 1
        return password_hash == "fake$" + password[::-1]

    async def burn(self, password: str) -> None:
        self.burns += 1


class OutboxMailer(Mailer):
    def __init__(self) -> None:
        self.outbox: list[MailMessage] = []

    async def send(self, message: MailMessage) -> None:
        self.outbox.append(message)

    async def drain(self, timeout_seconds: float = 0) -> None:
        return None


class CountingRateLimiter(RateLimiter):
    """Counts hits per (rule, key) with no clock: the limit applies for the fake's lifetime."""

    def __init__(self) -> None:
        self.hits: dict[tuple[str, str], int] = defaultdict(int)

    async def hit(self, rule: RateLimit, key: str) -> None:
        self.hits[(rule.name, key)] += 1
        if self.hits[(rule.name, key)] > rule.limit:
            raise RateLimited(retry_after_seconds=rule.period_seconds)


class RecordingEventBus(EventBus):
    """Keeps every published event, in order."""

    def __init__(self) -> None:
        self.published: list[DomainEvent] = []

    async def publish(self, event: DomainEvent) -> None:
        self.published.append(event)

    def subscribe(self, user_id: int, after_id: int | None = None) -> AsyncIterator[DeliveredEvent]:
        raise NotImplementedError

    async def close(self) -> None:
        return None

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e.data for e in self.published if e.type == kind]


class FakeExchange(ExchangeGateway):
    """An exchange in memory: known credentials, fixed balances, markets and prices, and
    orders that fill at once at the last price (a limit order only when it crosses it)."""

    def __init__(self) -> None:
        self.valid_credentials: set[tuple[str, str]] = set()
        self.balance = AccountBalance(spot=Decimal("1000"), futures=Decimal("0"), currency="USDT")
        self.markets: dict[MarketType, dict[str, Market]] = {
            MarketType.SPOT: {
                "BTCUSDT": Market(
                    "BTCUSDT",
                    "BTC",
                    "USDT",
                    MarketType.SPOT,
                    Decimal("0.00001"),
                    Decimal("0.01"),
                    Decimal("0.00001"),
                    Decimal("5"),
                )
            },
            MarketType.FUTURES: {
                "BTCUSDT": Market(
                    "BTCUSDT",
                    "BTC",
                    "USDT",
                    MarketType.FUTURES,
                    Decimal("0.001"),
                    Decimal("0.1"),
                    Decimal("0.001"),
                    Decimal("100"),
                    125,
                )
            },
        }
        self.spot_free: dict[str, Decimal] = {"USDT": Decimal("1000")}
        self.prices: dict[str, Decimal] = {"BTCUSDT": Decimal("60000")}
        self.fee_rate = Decimal("0.001")
        # Placed orders by client order id, and every request create_order was given.
        self.orders: dict[str, Order] = {}
        self.order_requests: list[OrderRequest] = []
        self.unavailable = False
        self.calls: list[str] = []
        self.positions: list[ExchangePosition] = []
        # Raised by the next create_order calls (after nothing was placed), in order.
        self.order_errors: list[Exception] = []
        # The next market orders fill this fraction, then expire (1: filled).
        self.fill_fractions: list[Decimal] = []
        # Spot fills move the balances (off: every order is affordable as before).
        self.move_balances = False
        self.leverage_errors: list[Exception] = []
        self.leverages: dict[str, int] = {}
        self.transfers: list[tuple[object, ...]] = []
        # The exchange's clock in ms (None: it keeps none, like the paper exchange).
        self.server_time: Callable[[], int] | None = None

    def _touch(self, name: str) -> None:
        self.calls.append(name)
        if self.unavailable:
            raise ExchangeUnavailable()

    async def validate_credentials(self, account: ExchangeAccount) -> None:
        self._touch("validate_credentials")
        if (account.api_key, account.api_secret) not in self.valid_credentials:
            raise InvalidCredentials()

    async def fetch_balance(
        self, account: ExchangeAccount, currency: str = "USDT"
    ) -> AccountBalance:
        await self.validate_credentials(account)
        return self.balance

    async def fetch_spot_free(self, account: ExchangeAccount, asset: str) -> Decimal:
        await self.validate_credentials(account)
        return self.spot_free.get(asset, Decimal(0))

    async def fetch_markets(self, market_type: MarketType) -> list[Market]:
        self._touch("fetch_markets")
        return list(self.markets[market_type].values())

    async def fetch_market(self, market_type: MarketType, symbol: str) -> Market:
        self._touch("fetch_market")
        if symbol not in self.markets[market_type]:
            raise UnknownSymbol(details={"symbol": symbol})
        return self.markets[market_type][symbol]

    async def fetch_candles(self, *args: object, **kwargs: object) -> list[Candle]:
        self._touch("fetch_candles")
        return []

    async def fetch_ticker(self, market_type: MarketType, symbol: str) -> Ticker:
        self._touch("fetch_ticker")
        if symbol not in self.prices:
            raise UnknownSymbol(details={"symbol": symbol})
        last = self.prices[symbol]
        return Ticker(symbol, last, last, last, datetime.now(UTC))

    async def create_order(self, account: ExchangeAccount, request: OrderRequest) -> Order:
        self._touch("create_order")
        if (account.api_key, account.api_secret) not in self.valid_credentials:
            raise InvalidCredentials()
        self.order_requests.append(request)
        if self.order_errors:
            raise self.order_errors.pop(0)
        if request.client_order_id in self.orders:
            return self.orders[request.client_order_id]
        market = await self.fetch_market(request.market_type, request.symbol)
        last = self.prices[market.symbol]
        with localcontext() as context:
            context.prec = 60
            amount = market.round_amount(request.amount)
            price = market.round_price(request.price) if request.price is not None else None
        market.check_minimums(amount, price or last)
        buying = request.side is OrderSide.BUY
        crosses = price is None or (price >= last if buying else price <= last)
        needed, asset = (amount * last, market.quote) if buying else (amount, market.base)
        if request.market_type is MarketType.SPOT and needed > self.spot_free.get(asset, 0):
            raise InsufficientFunds(details={"needed": str(needed), "available": "0"})
        status = OrderStatus.FILLED if crosses else OrderStatus.OPEN
        filled = amount if crosses else Decimal(0)
        if crosses and self.fill_fractions:
            filled = market.round_amount(amount * self.fill_fractions.pop(0))
            status = OrderStatus.EXPIRED if filled < amount else OrderStatus.FILLED
        fee = filled * last * self.fee_rate
        order = Order(
            exchange_order_id=str(len(self.orders) + 1),
            client_order_id=request.client_order_id,
            symbol=market.symbol,
            market_type=request.market_type,
            side=request.side,
            type=request.type,
            status=status,
            amount=amount,
            filled=filled,
            price=price,
            average_price=last if filled else None,
            fee=fee,
            fee_asset=market.quote,
            created_at=datetime.now(UTC),
        )
        if self.move_balances and request.market_type is MarketType.SPOT and filled:
            sign = 1 if buying else -1
            self.spot_free[market.base] = self.spot_free.get(market.base, Decimal(0)) + (
                sign * filled
            )
            self.spot_free[market.quote] -= sign * filled * last + fee
        self.orders[request.client_order_id] = order
        return order

    async def fetch_order_by_client_id(
        self, account: ExchangeAccount, market_type: MarketType, symbol: str, client_order_id: str
    ) -> Order | None:
        self._touch("fetch_order_by_client_id")
        return self.orders.get(client_order_id)

    async def fetch_order_fills(
        self, account: ExchangeAccount, market_type: MarketType, symbol: str, order: Order
    ) -> list[OrderFill]:
        self._touch("fetch_order_fills")
        stored = self.orders.get(order.client_order_id)
        if stored is None or stored.filled <= 0:
            return []
        price = stored.average_price or stored.price or Decimal(0)
        return [
            OrderFill(
                stored.exchange_order_id, price, stored.filled, stored.fee, stored.fee_asset,
                stored.fee, stored.created_at,
            )
        ]  # fmt: skip

    async def fetch_server_time_ms(self) -> int | None:
        self._touch("fetch_server_time_ms")
        return self.server_time() if self.server_time is not None else None

    async def fetch_open_orders(self, *args: object) -> list[Order]:
        self._touch("fetch_open_orders")
        return [o for o in self.orders.values() if o.status is OrderStatus.OPEN]

    async def fetch_positions(self, account: ExchangeAccount) -> list[ExchangePosition]:
        self._touch("fetch_positions")
        return list(self.positions)

    async def set_leverage(self, account: ExchangeAccount, symbol: str, leverage: int) -> None:
        self._touch("set_leverage")
        if self.leverage_errors:
            raise self.leverage_errors.pop(0)
        self.leverages[symbol] = leverage

    async def transfer(self, *args: object) -> None:
        self._touch("transfer")
        self.transfers.append(args)

    async def ping(self) -> None:
        self._touch("ping")

    async def close(self) -> None:
        return None


class InMemoryCandleStore(CandleStore):
    """Candles and covered ranges in dicts; `upserts` counts the calls that wrote."""

    def __init__(self) -> None:
        self.candles: dict[CandleKey, dict[int, Candle]] = defaultdict(dict)
        self.covered: dict[CandleKey, list[tuple[int, int]]] = defaultdict(list)
        self.upserts = 0

    async def upsert(self, key: CandleKey, candles: Sequence[Candle]) -> int:
        self.upserts += 1
        written = {candle.open_time_ms: candle for candle in candles}
        self.candles[key].update(written)
        return len(written)

    def _in_range(self, key: CandleKey, start_ms: int, end_ms: int) -> list[Candle]:
        stored = self.candles.get(key, {})
        return [stored[t] for t in sorted(stored) if start_ms <= t <= end_ms]

    async def read(self, key: CandleKey, start_ms: int, end_ms: int) -> CandleSeries:
        rows = self._in_range(key, start_ms, end_ms)
        return CandleSeries(
            open_time_ms=np.array([c.open_time_ms for c in rows], dtype=np.int64),
            open=np.array([c.open for c in rows], dtype=np.float64),
            high=np.array([c.high for c in rows], dtype=np.float64),
            low=np.array([c.low for c in rows], dtype=np.float64),
            close=np.array([c.close for c in rows], dtype=np.float64),
        )

    async def missing_ranges(
        self, key: CandleKey, start_ms: int, end_ms: int
    ) -> list[tuple[int, int]]:
        missing: list[tuple[int, int]] = []
        cursor = start_ms
        for first, last in sorted(self.covered.get(key, [])):
            if last < cursor or first > end_ms:
                continue
            if first > cursor:
                missing.append((cursor, first - 1))
            cursor = last + 1
        if cursor <= end_ms:
            missing.append((cursor, end_ms))
        step = key.timeframe.milliseconds
        return [(s, e) for s, e in missing if -(-s // step) * step <= e]

    async def mark_covered(self, key: CandleKey, start_ms: int, end_ms: int) -> None:
        ranges = sorted([*self.covered[key], (start_ms, end_ms)])
        merged: list[tuple[int, int]] = []
        for first, last in ranges:
            if merged and first <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], last))
            else:
                merged.append((first, last))
        self.covered[key] = merged

    async def gaps(self, key: CandleKey, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
        step = key.timeframe.milliseconds
        times = [c.open_time_ms for c in self._in_range(key, start_ms, end_ms)]
        return [(a + step, b - step) for a, b in itertools.pairwise(times) if b - a > step]

    async def series(self) -> list[StoredSeries]:
        return [
            StoredSeries(key, len(rows), min(rows), max(rows))
            for key, rows in self.candles.items()
            if rows
        ]
