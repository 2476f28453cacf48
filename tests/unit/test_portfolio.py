"""The portfolio use case against in-memory fakes, with numbers computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from adapters.vault.fernet_vault import FernetVault
from application.api_keys.exchange_account import paper_account
from application.portfolio.get_portfolio import GetPortfolio
from domain.api_keys.api_key import ApiKey
from domain.api_keys.errors import ApiKeyNotFound
from domain.bots.bot_config import BotConfig
from domain.bots.bot_state import BotState, BotStatus
from domain.bots.trade import Trade, TradeSide
from domain.exchange.balance import AccountBalance
from domain.exchange.errors import ExchangeUnavailable
from domain.exchange.market import MarketType
from domain.exchange.position import PositionSide
from domain.portfolio.portfolio import OpenPosition, PnlWindows
from tests.support.fakes import FakeClock, FakeExchange, FakeUnitOfWork

ALICE, BOB = 1, 2
KEY, SECRET = "AliceKey0123456789", "AliceSecret0123456789"
NOW = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 3, 15, tzinfo=UTC)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def vault() -> FernetVault:
    return FernetVault([Fernet.generate_key().decode()])


@pytest.fixture
def exchange() -> FakeExchange:
    fake = FakeExchange()
    fake.valid_credentials.add((KEY, SECRET))
    fake.balance = AccountBalance(Decimal("1500.5"), Decimal("250.25"), "USDT")
    fake.prices = {"BTCUSDT": Decimal("60000"), "ETHUSDT": Decimal("3150")}
    return fake


def portfolio(
    uow: FakeUnitOfWork, vault: FernetVault, exchange: FakeExchange, requires_api_key: bool = True
) -> GetPortfolio:
    return GetPortfolio(uow, vault, exchange, FakeClock(NOW), requires_api_key=requires_api_key)


def give_key(uow: FakeUnitOfWork, vault: FernetVault, user_id: int = ALICE) -> None:
    key_id = len(uow.committed_api_keys) + 1
    uow.committed_api_keys[key_id] = ApiKey(
        user_id=user_id,
        label="",
        api_key_masked="Alic****6789",
        encrypted_api_key=vault.encrypt(KEY),
        encrypted_secret=vault.encrypt(SECRET),
        created_at=NOW,
        updated_at=NOW,
        id=key_id,
    )


def add_bot(
    uow: FakeUnitOfWork,
    user_id: int,
    symbol: str,
    market_type: MarketType = MarketType.SPOT,
    leverage: int = 1,
    side: str | None = None,
    entry: str | None = None,
    quantity: str | None = None,
    in_position: bool = True,
) -> int:
    bot_id = len(uow.committed_bot_configs) + 1
    uow.committed_bot_configs[bot_id] = BotConfig(
        user_id=user_id,
        name=f"bot {bot_id}",
        symbol=symbol,
        created_at=NOW,
        updated_at=NOW,
        position_type=market_type.value,
        leverage=leverage,
        id=bot_id,
    )
    uow.committed_bot_states[bot_id] = BotState(
        bot_config_id=bot_id,
        user_id=user_id,
        last_updated_at=NOW,
        status=BotStatus.RUNNING,
        in_position=in_position,
        position_side=side,
        entry_price=Decimal(entry) if entry is not None else None,
        current_position_size_coins=Decimal(quantity) if quantity is not None else None,
        id=bot_id,
    )
    return bot_id


def add_trade(
    uow: FakeUnitOfWork,
    at: datetime,
    user_id: int = ALICE,
    bot_config_id: int | None = 1,
    pnl: str | None = None,
    realized_pnl: str | None = None,
) -> None:
    trade_id = len(uow.committed_trades) + 1
    uow.committed_trades[trade_id] = Trade(
        user_id=user_id,
        bot_config_id=bot_config_id,
        symbol="BTCUSDT",
        side=TradeSide.SELL,
        order_type="MARKET",
        price=Decimal("60000"),
        quantity_filled=Decimal("0.001"),
        quote_quantity_filled=Decimal("60"),
        timestamp=at,
        pnl=Decimal(pnl) if pnl is not None else None,
        realized_pnl=Decimal(realized_pnl) if realized_pnl is not None else None,
        id=trade_id,
    )


async def test_open_positions_are_priced_at_the_last_price_a_long_gains_and_a_short_loses(
    uow: FakeUnitOfWork, vault: FernetVault, exchange: FakeExchange
) -> None:
    give_key(uow, vault)
    long_id = add_bot(uow, ALICE, "BTCUSDT", side="long", entry="50000", quantity="0.1")
    short_id = add_bot(
        uow, ALICE, "ETHUSDT", MarketType.FUTURES, 5, side="short", entry="3000", quantity="2"
    )

    result = await portfolio(uow, vault, exchange).execute(ALICE)

    long, short = result.positions
    assert long == OpenPosition(
        bot_config_id=long_id,
        name="bot 1",
        symbol="BTCUSDT",
        market_type=MarketType.SPOT,
        side=PositionSide.LONG,
        quantity=Decimal("0.1"),
        entry_price=Decimal("50000"),
        leverage=None,
        last_price=Decimal("60000"),
    )
    assert long.unrealized_pnl == Decimal("1000")  # (60000 - 50000) * 0.1
    assert short.bot_config_id == short_id
    assert (short.side, short.leverage, short.last_price) == (
        PositionSide.SHORT,
        5,
        Decimal("3150"),
    )
    assert short.unrealized_pnl == Decimal("-300")  # (3150 - 3000) * 2, short
    assert result.balance == AccountBalance(Decimal("1500.5"), Decimal("250.25"), "USDT")
    assert result.balance.total == Decimal("1750.75")


async def test_one_ticker_is_fetched_per_market_however_many_bots_hold_it(
    uow: FakeUnitOfWork, vault: FernetVault, exchange: FakeExchange
) -> None:
    give_key(uow, vault)
    add_bot(uow, ALICE, "BTCUSDT", side="long", entry="50000", quantity="0.1")
    add_bot(uow, ALICE, "BTCUSDT", side="long", entry="55000", quantity="0.3")
    add_bot(uow, ALICE, "BTCUSDT", MarketType.FUTURES, 3, side="short", entry="61000", quantity="1")

    result = await portfolio(uow, vault, exchange).execute(ALICE)

    # Spot BTCUSDT once for two bots, futures BTCUSDT once: a market is (type, symbol).
    assert exchange.calls.count("fetch_ticker") == 2
    assert [p.unrealized_pnl for p in result.positions] == [
        Decimal("1000"),  # (60000 - 50000) * 0.1
        Decimal("1500"),  # (60000 - 55000) * 0.3
        Decimal("1000"),  # (60000 - 61000) * 1, short
    ]


async def test_realized_pnl_sums_each_window_exactly_from_its_start_inclusive(
    uow: FakeUnitOfWork, vault: FernetVault, exchange: FakeExchange
) -> None:
    give_key(uow, vault)
    add_bot(uow, ALICE, "BTCUSDT", in_position=False)
    add_trade(uow, NOW - timedelta(hours=1), realized_pnl="12.1", pnl="12.1")
    add_trade(uow, MIDNIGHT, pnl="-2.25")  # only `pnl` set: it is the realised PnL
    add_trade(uow, NOW, realized_pnl="0.2", pnl="99")  # `realized_pnl` wins over `pnl`
    add_trade(uow, NOW - timedelta(minutes=5), bot_config_id=None, realized_pnl="0.1")  # manual
    add_trade(uow, MIDNIGHT - timedelta(seconds=1), realized_pnl="100")  # yesterday
    add_trade(uow, NOW - timedelta(days=7), realized_pnl="7")
    add_trade(uow, NOW - timedelta(days=7, seconds=1), realized_pnl="1000")
    add_trade(uow, NOW - timedelta(days=30), realized_pnl="0.05")
    add_trade(uow, NOW - timedelta(days=30, seconds=1), realized_pnl="-40")
    add_trade(uow, NOW - timedelta(minutes=1))  # an entry: no PnL

    realized = (await portfolio(uow, vault, exchange).execute(ALICE)).realized_pnl

    assert realized.today == Decimal("10.15")  # 12.1 - 2.25 + 0.2 + 0.1
    assert realized.last_7_days == Decimal("117.15")  # + 100 + 7
    assert realized.last_30_days == Decimal("1117.20")  # + 1000 + 0.05
    assert realized.all_time == Decimal("1077.20")  # - 40


async def test_another_users_bots_and_trades_never_count(
    uow: FakeUnitOfWork, vault: FernetVault, exchange: FakeExchange
) -> None:
    give_key(uow, vault)
    add_bot(uow, ALICE, "BTCUSDT", side="long", entry="50000", quantity="0.1")
    bob_bot = add_bot(uow, BOB, "ETHUSDT", side="long", entry="1000", quantity="5")
    add_trade(uow, NOW, realized_pnl="1.5")
    add_trade(uow, NOW, user_id=BOB, bot_config_id=bob_bot, realized_pnl="5000")
    add_trade(uow, NOW - timedelta(days=90), user_id=BOB, bot_config_id=bob_bot, pnl="-7")

    result = await portfolio(uow, vault, exchange).execute(ALICE)

    assert [p.bot_config_id for p in result.positions] == [1]
    assert exchange.calls.count("fetch_ticker") == 1
    assert result.realized_pnl.today == result.realized_pnl.all_time == Decimal("1.5")


async def test_bots_without_a_usable_position_are_not_listed(
    uow: FakeUnitOfWork, vault: FernetVault, exchange: FakeExchange
) -> None:
    give_key(uow, vault)
    add_bot(uow, ALICE, "BTCUSDT", in_position=False, side="long", entry="1", quantity="1")
    add_bot(uow, ALICE, "BTCUSDT", side="long", entry="50000")  # no size
    add_bot(uow, ALICE, "BTCUSDT", side="long", entry="50000", quantity="0")
    add_bot(uow, ALICE, "BTCUSDT", quantity="0.5")  # no entry price
    kept = add_bot(uow, ALICE, "BTCUSDT", entry="58000", quantity="0.5")  # no side: spot long

    result = await portfolio(uow, vault, exchange).execute(ALICE)

    assert [(p.bot_config_id, p.side) for p in result.positions] == [(kept, PositionSide.LONG)]
    assert result.positions[0].unrealized_pnl == Decimal("1000")  # (60000 - 58000) * 0.5


async def test_a_market_the_exchange_no_longer_knows_leaves_its_position_unpriced(
    uow: FakeUnitOfWork, vault: FernetVault, exchange: FakeExchange
) -> None:
    give_key(uow, vault)
    add_bot(uow, ALICE, "LUNAUSDT", side="long", entry="80", quantity="10")
    add_bot(uow, ALICE, "BTCUSDT", side="long", entry="50000", quantity="0.1")

    delisted, priced = (await portfolio(uow, vault, exchange).execute(ALICE)).positions

    assert (delisted.last_price, delisted.unrealized_pnl) == (None, None)
    assert priced.unrealized_pnl == Decimal("1000")


async def test_an_unreachable_exchange_is_exchange_unavailable(
    uow: FakeUnitOfWork, vault: FernetVault, exchange: FakeExchange
) -> None:
    give_key(uow, vault)
    add_bot(uow, ALICE, "BTCUSDT", side="long", entry="50000", quantity="0.1")
    exchange.unavailable = True

    with pytest.raises(ExchangeUnavailable):
        await portfolio(uow, vault, exchange).execute(ALICE)


async def test_without_a_key_on_a_real_exchange_it_is_api_key_not_found_before_any_call(
    uow: FakeUnitOfWork, vault: FernetVault, exchange: FakeExchange
) -> None:
    add_bot(uow, ALICE, "BTCUSDT", side="long", entry="50000", quantity="0.1")

    with pytest.raises(ApiKeyNotFound):
        await portfolio(uow, vault, exchange).execute(ALICE)
    assert exchange.calls == []


async def test_without_a_key_on_the_paper_exchange_the_paper_account_is_read(
    uow: FakeUnitOfWork, vault: FernetVault, exchange: FakeExchange
) -> None:
    paper = paper_account(ALICE)
    exchange.valid_credentials = {(paper.api_key, paper.api_secret)}  # only the paper account

    result = await portfolio(uow, vault, exchange, requires_api_key=False).execute(ALICE)

    assert result.balance.total == Decimal("1750.75")


def test_today_starts_at_midnight_utc_whatever_the_offset_of_now() -> None:
    # 01:00 at +02:00 is 23:00 UTC the day before.
    windows = PnlWindows.ending_at(datetime(2026, 3, 15, 1, 0, tzinfo=timezone(timedelta(hours=2))))

    assert windows.today == datetime(2026, 3, 14, tzinfo=UTC)
    assert windows.last_7_days == datetime(2026, 3, 7, 23, 0, tzinfo=UTC)
    assert windows.last_30_days == datetime(2026, 2, 12, 23, 0, tzinfo=UTC)


amounts = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("1000000"), places=8)


@given(entry=amounts, last=amounts, quantity=amounts)
def test_a_long_and_a_short_of_the_same_size_have_opposite_unrealized_pnl_of_the_moves_sign(
    entry: Decimal, last: Decimal, quantity: Decimal
) -> None:
    def position(side: PositionSide) -> OpenPosition:
        return OpenPosition(1, "bot", "BTCUSDT", MarketType.FUTURES, side, quantity, entry, 2, last)

    long_pnl = position(PositionSide.LONG).unrealized_pnl
    short_pnl = position(PositionSide.SHORT).unrealized_pnl

    assert long_pnl is not None and short_pnl is not None
    assert long_pnl == -short_pnl
    assert (long_pnl > 0) == (last > entry) and (long_pnl == 0) == (last == entry)
