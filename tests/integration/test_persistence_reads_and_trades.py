"""The persistence paths the request hot paths use, on SQLite and PostgreSQL: read-only
units of work (autocommit), a trade stored only for the user's own bot in one
statement, and bot configurations restored exactly as they were saved."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from adapters.persistence.tables import trades
from domain.bots.bot_config import BotConfig
from domain.bots.errors import BotConfigNotFound
from domain.bots.trade import Trade, TradeSide
from entrypoints.container import Container
from tests.integration.bots_api import create_bot, sign_up

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def a_trade(user_id: int, bot_config_id: int | None) -> Trade:
    return Trade(
        user_id=user_id,
        bot_config_id=bot_config_id,
        symbol="BTCUSDT",
        side=TradeSide.BUY,
        order_type="MARKET",
        price=Decimal("65000.123456789"),
        quantity_filled=Decimal("0.001"),
        quote_quantity_filled=Decimal("65.000123456789"),
        commission_amount=Decimal("0.065"),
        commission_asset="USDT",
        timestamp=NOW,
    )


async def user_id(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    response = await client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


async def stored_trades(container: Container) -> int:
    async with container.session_factory()() as session:
        return int(await session.scalar(select(func.count()).select_from(trades)) or 0)


async def test_a_read_only_unit_of_work_reads_committed_rows_and_refuses_to_commit(
    client: httpx.AsyncClient, container: Container
) -> None:
    headers = await sign_up(client, "reader@example.com")
    bot = await create_bot(client, headers, name="read me")
    owner = await user_id(client, headers)

    uow = container.read_uow()
    async with uow:
        config = await uow.bot_configs.get(owner, bot["id"])
        assert config is not None and config.name == "read me"
        with pytest.raises(RuntimeError, match="read-only"):
            await uow.commit()


async def test_a_trade_goes_in_only_for_the_users_own_bot(
    client: httpx.AsyncClient, container: Container
) -> None:
    alice = await sign_up(client, "alice@example.com")
    bob = await sign_up(client, "bob@example.com")
    alices_bot = await create_bot(client, alice, name="alice's")
    alice_id, bob_id = await user_id(client, alice), await user_id(client, bob)

    for owner, bot_id in ((bob_id, alices_bot["id"]), (alice_id, 999_999), (alice_id, 2**40)):
        uow = container.uow()
        async with uow:
            with pytest.raises(BotConfigNotFound):
                await uow.trades.add(a_trade(owner, bot_id))
    assert await stored_trades(container) == 0

    uow = container.uow()
    async with uow:
        mine = await uow.trades.add(a_trade(alice_id, alices_bot["id"]))
        manual = await uow.trades.add(a_trade(alice_id, None))
        await uow.commit()
    assert mine.id is not None and manual.id is not None
    async with container.read_uow() as reader:
        stored = await reader.trades.get(alice_id, mine.id)
    assert stored is not None
    assert (stored.price, stored.quote_quantity_filled) == (
        Decimal("65000.123456789"),
        Decimal("65.000123456789"),
    )
    assert await stored_trades(container) == 2


async def test_a_restored_configuration_equals_the_saved_one_field_by_field(
    client: httpx.AsyncClient, container: Container
) -> None:
    headers = await sign_up(client, "fields@example.com")
    bot = await create_bot(
        client,
        headers,
        name="every field",
        strategy="custom",
        custom_ema_fast=7,
        custom_ema_slow=30,
        custom_rsi_period=10,
        custom_rsi_oversold=25,
        custom_rsi_overbought=75,
        custom_stop_loss=1.5,
        position_size_fixed=1234.5,
        transfer_amount=10,
    )
    owner = await user_id(client, headers)

    async with container.uow() as writer:
        saved = await writer.bot_configs.get(owner, bot["id"])
    async with container.read_uow() as reader:
        [listed] = await reader.bot_configs.list(owner, 10, 0)
    assert saved is not None
    for field in fields(BotConfig):
        assert getattr(listed, field.name) == getattr(saved, field.name), field.name
    assert listed.position_size_fixed == Decimal("1234.5")
    assert listed.strategy_params().ema_fast == 7
