"""GET /api/v1/portfolio over HTTP on SQLite and PostgreSQL: balances, open positions and
realised PnL against numbers computed by hand, one user's view never showing another's."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest

from adapters.rate_limit.limits_rate_limiter import DisabledRateLimiter
from adapters.security.argon2_hasher import fast_test_hasher
from domain.exchange.balance import AccountBalance
from entrypoints.container import Container, build_container, close_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration.bots_api import (
    TRADES,
    add_api_key,
    assert_envelope,
    create_bot,
    sign_up,
    trade_body,
)
from tests.support.fakes import FakeClock, FakeExchange, OutboxMailer

PORTFOLIO = "/api/v1/portfolio"
NOW = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 3, 15, tzinfo=UTC)


def exact(response: httpx.Response) -> Any:
    """The body with every JSON number as the Decimal it spells."""
    assert response.status_code == 200, response.text
    return json.loads(response.text, parse_float=Decimal, parse_int=Decimal)


async def user_id(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    me = await client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200, me.text
    found: int = me.json()["id"]
    return found


async def hold(
    container: Container, owner: int, bot_id: int, side: str, entry: str, quantity: str
) -> None:
    """Put the bot in a position, as the worker records one."""
    uow = container.uow()
    async with uow:
        state = await uow.bot_states.get(owner, bot_id)
        assert state is not None
        state.in_position = True
        state.position_side = side
        state.entry_price = Decimal(entry)
        state.current_position_size_coins = Decimal(quantity)
        await uow.bot_states.update(state)
        await uow.commit()


async def record_exit(
    client: httpx.AsyncClient, headers: dict[str, str], bot_id: int, at: datetime, **pnl: Any
) -> None:
    body = {**trade_body(bot_id), "side": "SELL", "timestamp": at.isoformat(), **pnl}
    response = await client.post(TRADES, json=body, headers=headers)
    assert response.status_code == 201, response.text


@pytest.fixture
def market_time(container: Container) -> FakeClock:
    """ "Today" is the market clock's: pinned, so no window edge moves during a test."""
    clock = FakeClock(NOW)
    container.market_clock.override(clock)
    return clock


async def test_portfolio_shows_balances_positions_and_realized_pnl_as_computed_by_hand(
    client: httpx.AsyncClient, container: Container, exchange: FakeExchange, market_time: FakeClock
) -> None:
    exchange.balance = AccountBalance(Decimal("1500.5"), Decimal("250.25"), "USDT")
    exchange.prices = {"BTCUSDT": Decimal("60000")}
    alice = await sign_up(client, "alice@example.com")
    await add_api_key(client, exchange, alice)
    alice_id = await user_id(client, alice)
    spot = (await create_bot(client, alice, name="Spot long"))["id"]
    futures = (
        await create_bot(client, alice, name="Futures short", position_type="futures", leverage=5)
    )["id"]
    flat = (await create_bot(client, alice, name="Flat"))["id"]
    await hold(container, alice_id, spot, "long", "50000.5", "0.1")
    await hold(container, alice_id, futures, "short", "61000", "0.25")
    await record_exit(client, alice, spot, NOW - timedelta(hours=1), realized_pnl=12.1, pnl=12.1)
    await record_exit(client, alice, futures, MIDNIGHT, pnl=-2.25)  # `pnl` only
    await record_exit(client, alice, flat, NOW, realized_pnl=0.2, pnl=99)  # realized wins
    await record_exit(client, alice, spot, MIDNIGHT - timedelta(seconds=1), realized_pnl=100)
    await record_exit(client, alice, spot, NOW - timedelta(days=7), realized_pnl=7)
    await record_exit(client, alice, spot, NOW - timedelta(days=7, seconds=1), realized_pnl=1000)
    await record_exit(client, alice, futures, NOW - timedelta(days=30, seconds=1), realized_pnl=-40)
    await record_exit(client, alice, spot, NOW - timedelta(minutes=3))  # an entry: no PnL
    exchange.calls.clear()

    body = exact(await client.get(PORTFOLIO, headers=alice))

    assert body["balances"] == {
        "spot_balance": Decimal("1500.5"),
        "futures_balance": Decimal("250.25"),
        "total_balance": Decimal("1750.75"),
        "currency": "USDT",
    }
    assert body["positions"] == [
        {
            "bot_config_id": spot,
            "name": "Spot long",
            "symbol": "BTCUSDT",
            "market_type": "spot",
            "side": "long",
            "quantity": Decimal("0.1"),
            "entry_price": Decimal("50000.5"),
            "last_price": Decimal("60000"),
            "unrealized_pnl": Decimal("999.95"),  # (60000 - 50000.5) * 0.1
            "leverage": None,
        },
        {
            "bot_config_id": futures,
            "name": "Futures short",
            "symbol": "BTCUSDT",
            "market_type": "futures",
            "side": "short",
            "quantity": Decimal("0.25"),
            "entry_price": Decimal("61000"),
            "last_price": Decimal("60000"),
            "unrealized_pnl": Decimal("250"),  # (60000 - 61000) * 0.25, short
            "leverage": 5,
        },
    ]
    # Exact decimals on both databases (as floats, 12.1 - 2.25 + 0.2 is 10.049999999999999).
    assert body["realized_pnl"] == {
        "today": Decimal("10.05"),  # 12.1 - 2.25 + 0.2
        "last_7_days": Decimal("117.05"),  # + 100 + 7
        "last_30_days": Decimal("1117.05"),  # + 1000
        "all_time": Decimal("1077.05"),  # - 40
    }
    # Spot and futures BTCUSDT are two markets: one ticker each.
    assert exchange.calls.count("fetch_ticker") == 2


async def test_another_users_bots_and_trades_never_count(
    client: httpx.AsyncClient, container: Container, exchange: FakeExchange, market_time: FakeClock
) -> None:
    alice = await sign_up(client, "alice@example.com")
    bob = await sign_up(client, "bob@example.com")
    await add_api_key(client, exchange, alice)
    await add_api_key(client, exchange, bob)
    alice_bot = (await create_bot(client, alice))["id"]
    bob_bot = (await create_bot(client, bob))["id"]
    await hold(container, await user_id(client, alice), alice_bot, "long", "59000", "1")
    await hold(container, await user_id(client, bob), bob_bot, "long", "30000", "2")
    await record_exit(client, alice, alice_bot, NOW, realized_pnl=1.5)
    await record_exit(client, bob, bob_bot, NOW, realized_pnl=5000)
    await record_exit(client, bob, bob_bot, NOW - timedelta(days=90), realized_pnl=-7)

    mine = exact(await client.get(PORTFOLIO, headers=alice))
    his = exact(await client.get(PORTFOLIO, headers=bob))

    assert [p["bot_config_id"] for p in mine["positions"]] == [alice_bot]
    assert mine["positions"][0]["unrealized_pnl"] == Decimal("1000")  # (60000 - 59000) * 1
    assert set(mine["realized_pnl"].values()) == {Decimal("1.5")}
    assert [p["bot_config_id"] for p in his["positions"]] == [bob_bot]
    assert his["positions"][0]["unrealized_pnl"] == Decimal("60000")  # (60000 - 30000) * 2
    assert his["realized_pnl"]["today"] == Decimal("5000")
    assert his["realized_pnl"]["all_time"] == Decimal("4993")


async def test_an_unreachable_exchange_is_a_503_envelope_not_a_500(
    client: httpx.AsyncClient, container: Container, exchange: FakeExchange, market_time: FakeClock
) -> None:
    alice = await sign_up(client, "alice@example.com")
    await add_api_key(client, exchange, alice)
    bot = (await create_bot(client, alice))["id"]
    await hold(container, await user_id(client, alice), bot, "long", "50000", "0.1")
    exchange.unavailable = True

    body = assert_envelope(await client.get(PORTFOLIO, headers=alice), 503)

    assert body["error"] == "Exchange unavailable"


async def test_without_a_key_on_a_real_exchange_it_is_a_404_envelope(
    client: httpx.AsyncClient, exchange: FakeExchange
) -> None:
    alice = await sign_up(client, "alice@example.com")

    body = assert_envelope(await client.get(PORTFOLIO, headers=alice), 404)

    assert body["error"] == "No API key configured"
    assert exchange.calls == []


async def test_without_a_token_it_is_a_401_envelope(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.get(PORTFOLIO), 401)


@pytest.fixture
async def paper_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real paper exchange (simulated wallets in the database)."""
    container = build_container(msgspec.structs.replace(settings, exchange="paper"))
    container.password_hasher.override(fast_test_hasher())
    container.rate_limiter.override(DisabledRateLimiter())
    container.mailer.override(OutboxMailer())
    # Any: httpx's ASGI app type and Litestar's scope types do not match, though they work.
    app: Any = create_app(container)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await close_container(container)


async def test_on_the_paper_exchange_a_user_without_a_key_sees_the_paper_account(
    paper_client: httpx.AsyncClient,
) -> None:
    alice = await sign_up(paper_client, "alice@example.com")

    body = exact(await paper_client.get(PORTFOLIO, headers=alice))

    assert body["balances"] == {
        "spot_balance": Decimal("10000"),
        "futures_balance": Decimal("0"),
        "total_balance": Decimal("10000"),
        "currency": "USDT",
    }
    assert body["positions"] == []
    assert set(body["realized_pnl"].values()) == {Decimal("0")}
