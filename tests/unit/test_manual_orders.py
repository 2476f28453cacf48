"""Manual orders (POST /orders) on in-memory fakes: sizing on the market's grid, minimums
checked before anything is sent, quantity or quote amount, and the Idempotency-Key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from adapters.vault.fernet_vault import FernetVault
from application.api_keys.exchange_account import paper_account
from application.orders.place_manual_order import (
    IdempotencySettings,
    PlaceManualOrder,
    PlaceOrderCommand,
)
from domain.api_keys.api_key import ApiKey
from domain.bots.trade import TradeSide
from domain.errors import InvalidInput
from domain.exchange.account import ExchangeAccount
from domain.exchange.errors import BelowMarketMinimum, ExchangeUnavailable, InsufficientFunds
from domain.exchange.market import Market, MarketType
from domain.exchange.order import Order, OrderRequest, OrderSide, OrderStatus, OrderType
from domain.orders.errors import IdempotencyKeyReused, RequestInProgress
from domain.orders.idempotency_key import IdempotencyKey
from domain.orders.manual_order import ManualOrder, ManualOrderStatus
from domain.orders.order_ticket import OrderTicket
from tests.support.fakes import FakeClock, FakeExchange, FakeUnitOfWork, RecordingEventBus

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
KEY = "UnitKey0123456789abcdef"
SECRET = "UnitSecret0123456789abcdef"
# The fake's BTCUSDT spot market: step 0.00001, tick 0.01, min notional 5; last 60000.
SPOT = FakeExchange().markets[MarketType.SPOT]["BTCUSDT"]


def buy(**fields: Any) -> OrderTicket:
    values: dict[str, Any] = {"symbol": "BTCUSDT", "side": OrderSide.BUY, "type": OrderType.MARKET}
    values.update(fields)
    return OrderTicket(**values)


def key(value: str = "order-1") -> IdempotencyKey:
    return IdempotencyKey(value)


async def no_wait(_seconds: float) -> None:
    return None


class Setup:
    """A user (id 1) with a stored key the fake exchange accepts, and the use case."""

    def __init__(self, paper: bool = False) -> None:
        self.uow = FakeUnitOfWork()
        self.exchange = FakeExchange()
        self.exchange.valid_credentials.add((KEY, SECRET))
        self.vault = FernetVault([Fernet.generate_key().decode()])
        self.clock = FakeClock(NOW)
        self.events = RecordingEventBus()
        self.paper = paper
        self.settings = IdempotencySettings(wait_seconds=0.5, poll_seconds=0.1)

    def use_case(self, sleep: Any = no_wait) -> PlaceManualOrder:
        return PlaceManualOrder(
            uow=self.uow,
            exchange=self.exchange,
            vault=self.vault,
            events=self.events,
            clock=self.clock,
            requires_api_key=not self.paper,
            settings=self.settings,
            sleep=sleep,
        )

    async def store_key(self, user_id: int = 1, api_key: str = KEY, secret: str = SECRET) -> int:
        async with self.uow:
            stored = await self.uow.api_keys.add(
                ApiKey(
                    user_id=user_id,
                    label="",
                    api_key_masked="****",
                    encrypted_api_key=self.vault.encrypt(api_key),
                    encrypted_secret=self.vault.encrypt(secret),
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            await self.uow.commit()
        assert stored.id is not None
        return stored.id

    async def place(
        self, ticket: OrderTicket, idempotency_key: IdempotencyKey | None = None, user_id: int = 1
    ) -> ManualOrder:
        return await self.use_case().execute(PlaceOrderCommand(user_id, ticket, idempotency_key))

    def sent(self) -> list[OrderRequest]:
        return self.exchange.order_requests


@pytest.fixture
async def setup() -> Setup:
    ready = Setup()
    await ready.store_key()
    return ready


# -- sizing ------------------------------------------------------------------------------


async def test_a_quantity_is_rounded_down_to_the_market_step_before_it_is_sent(
    setup: Setup,
) -> None:
    order = await setup.place(buy(quantity=Decimal("0.0012399")))

    assert [r.amount for r in setup.sent()] == [Decimal("0.00123")]
    assert order.amount == Decimal("0.00123")
    assert order.status is ManualOrderStatus.FILLED


async def test_a_limit_price_is_rounded_to_the_tick_and_a_quote_amount_converts_at_it(
    setup: Setup,
) -> None:
    ticket = buy(type=OrderType.LIMIT, price=Decimal("59999.996"), quote_amount=Decimal("100"))

    await setup.place(ticket)

    (request,) = setup.sent()
    assert request.price == Decimal("60000.00")
    # 100 / 60000 = 0.0016666..., down to the step.
    assert request.amount == Decimal("0.00166")


async def test_a_market_quote_amount_converts_at_the_last_price(setup: Setup) -> None:
    setup.exchange.prices["BTCUSDT"] = Decimal("40000")

    await setup.place(buy(quote_amount=Decimal("50")))

    # 50 / 40000 = 0.00125
    assert [(r.amount, r.price) for r in setup.sent()] == [(Decimal("0.00125"), None)]


async def test_an_order_below_the_min_notional_is_refused_with_the_market_limits_before_sending(
    setup: Setup,
) -> None:
    # 0.00008 BTC at 60000 is 4.8 USDT; the market's minimum notional is 5.
    with pytest.raises(BelowMarketMinimum) as refused:
        await setup.place(buy(quantity=Decimal("0.00008")), key())

    assert refused.value.details["min_notional"] == "5"
    assert refused.value.details["min_amount"] == "0.00001"
    assert refused.value.details["notional"] == "4.80000"
    assert setup.sent() == []
    assert "create_order" not in setup.exchange.calls


async def test_an_amount_that_rounds_to_nothing_is_refused_before_sending(setup: Setup) -> None:
    with pytest.raises(BelowMarketMinimum):
        await setup.place(buy(quantity=Decimal("0.000009")))

    assert setup.sent() == []


@pytest.mark.parametrize(
    "amounts",
    [{}, {"quantity": Decimal(1), "quote_amount": Decimal(100)}],
    ids=["neither", "both"],
)
def test_a_ticket_takes_exactly_one_of_quantity_and_quote_amount(amounts: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as refused:
        buy(**amounts)
    assert "quantity" in refused.value.details


def test_a_limit_order_needs_a_price_and_a_market_order_takes_none() -> None:
    with pytest.raises(InvalidInput) as limit:
        buy(type=OrderType.LIMIT, quantity=Decimal(1))
    with pytest.raises(InvalidInput) as market:
        buy(quantity=Decimal(1), price=Decimal(60000))
    assert "price" in limit.value.details
    assert "price" in market.value.details


def test_amounts_and_prices_must_be_positive() -> None:
    with pytest.raises(InvalidInput) as refused:
        buy(type=OrderType.LIMIT, quantity=Decimal(-1), price=Decimal(0))
    assert set(refused.value.details) == {"quantity", "price"}


@given(
    wanted=st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(1000), places=8),
    last=st.decimals(min_value=Decimal(1), max_value=Decimal(200_000), places=2),
)
def test_sizing_never_orders_more_than_asked_lands_on_the_step_and_meets_the_minimums(
    wanted: Decimal, last: Decimal
) -> None:
    try:
        sized = buy(quantity=wanted).size(SPOT, last)
    except BelowMarketMinimum:
        assert SPOT.round_amount(wanted) * last < SPOT.min_notional
        return
    assert sized.amount <= wanted
    assert sized.amount % SPOT.amount_step == 0
    assert wanted - sized.amount < SPOT.amount_step
    assert sized.amount * last >= SPOT.min_notional


def test_the_fingerprint_ignores_how_an_amount_is_written_but_not_what_it_is() -> None:
    assert (
        buy(quantity=Decimal("0.0010")).fingerprint()
        == buy(quantity=Decimal("0.001")).fingerprint()
    )
    assert (
        buy(quantity=Decimal("0.001")).fingerprint() != buy(quantity=Decimal("0.002")).fingerprint()
    )
    assert buy(quantity=Decimal(1)).fingerprint() != buy(quote_amount=Decimal(1)).fingerprint()


# -- the key -----------------------------------------------------------------------------


@given(
    st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=128
    )
)
def test_any_1_to_128_printable_ascii_characters_make_a_key(value: str) -> None:
    assert IdempotencyKey(value).value == value


@pytest.mark.parametrize("value", ["", "x" * 129, "clé", "line\nbreak", "tab\t"])
def test_other_keys_are_invalid(value: str) -> None:
    with pytest.raises(InvalidInput):
        IdempotencyKey(value)


async def test_the_same_key_and_body_return_the_stored_order_and_send_one_order(
    setup: Setup,
) -> None:
    first = await setup.place(buy(quantity=Decimal("0.001")), key())
    again = await setup.place(buy(quantity=Decimal("0.0010")), key())

    assert again.id == first.id
    assert again.client_order_id == first.client_order_id
    assert again.exchange_order_id == first.exchange_order_id
    assert len(setup.sent()) == 1
    assert len(setup.uow.committed_trades) == 1
    assert len(setup.events.published) == 1


async def test_a_replay_returns_the_stored_order_even_after_the_api_key_is_gone(
    setup: Setup,
) -> None:
    first = await setup.place(buy(quantity=Decimal("0.001")), key())
    async with setup.uow:
        await setup.uow.api_keys.delete_for_user(1)
        await setup.uow.commit()

    again = await setup.place(buy(quantity=Decimal("0.001")), key())

    assert again.id == first.id
    assert len(setup.sent()) == 1


async def test_the_same_key_with_another_body_is_a_conflict(setup: Setup) -> None:
    await setup.place(buy(quantity=Decimal("0.001")), key())

    with pytest.raises(IdempotencyKeyReused):
        await setup.place(buy(quantity=Decimal("0.002")), key())

    assert len(setup.sent()) == 1


async def test_keys_are_per_user(setup: Setup) -> None:
    other_key, other_secret = "OtherKey0123456789abcdef", "OtherSecret0123456789abcdef"
    setup.exchange.valid_credentials.add((other_key, other_secret))
    await setup.store_key(2, other_key, other_secret)

    mine = await setup.place(buy(quantity=Decimal("0.001")), key())
    theirs = await setup.place(buy(quantity=Decimal("0.002")), key(), user_id=2)

    assert theirs.id != mine.id
    assert theirs.client_order_id != mine.client_order_id
    assert [r.amount for r in setup.sent()] == [Decimal("0.001"), Decimal("0.002")]


async def test_a_key_names_a_new_order_once_24_hours_have_passed(setup: Setup) -> None:
    first = await setup.place(buy(quantity=Decimal("0.001")), key())
    setup.clock.advance(timedelta(hours=23, minutes=59))
    assert (await setup.place(buy(quantity=Decimal("0.001")), key())).id == first.id

    setup.clock.advance(timedelta(minutes=2))
    later = await setup.place(buy(quantity=Decimal("0.001")), key())

    assert later.id != first.id
    assert later.client_order_id != first.client_order_id
    assert len(setup.sent()) == 2


async def pending(setup: Setup, ticket: OrderTicket, lease_until: datetime) -> ManualOrder:
    """What a request that recorded the order and has not answered yet leaves behind."""
    async with setup.uow:
        order = ManualOrder.requested(1, ticket, key(), NOW, lease_until)
        stored = await setup.uow.manual_orders.add(order)
        await setup.uow.commit()
    assert stored is not None
    return stored


async def test_a_request_finding_its_key_in_flight_returns_that_requests_order_once_stored(
    setup: Setup,
) -> None:
    ticket = buy(quantity=Decimal("0.001"))
    first = await pending(setup, ticket, NOW + timedelta(minutes=1))
    first_id = first.id
    assert first_id is not None

    async def first_request_finishes(_seconds: float) -> None:
        order = setup.uow.committed_manual_orders[first_id]
        order.placed(
            Order("777", first.client_order_id, "BTCUSDT", MarketType.SPOT, OrderSide.BUY,
                  OrderType.MARKET, OrderStatus.FILLED, Decimal("0.001"), Decimal("0.001"), None,
                  Decimal(60000), Decimal("0.06"), "USDT", NOW)
        )  # fmt: skip

    order = await setup.use_case(first_request_finishes).execute(
        PlaceOrderCommand(1, ticket, key())
    )

    assert (order.id, order.exchange_order_id) == (first.id, "777")
    assert setup.exchange.calls == []


async def test_a_request_finding_its_key_in_flight_too_long_is_told_it_is_in_progress(
    setup: Setup,
) -> None:
    ticket = buy(quantity=Decimal("0.001"))
    await pending(setup, ticket, NOW + timedelta(minutes=1))
    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)

    with pytest.raises(RequestInProgress):
        await setup.use_case(wait).execute(PlaceOrderCommand(1, ticket, key()))

    assert waits == [0.1] * 5
    assert setup.exchange.calls == []


async def test_a_crashed_request_is_resumed_after_its_lease_with_the_same_client_order_id(
    setup: Setup,
) -> None:
    ticket = buy(quantity=Decimal("0.001"))
    crashed = await pending(setup, ticket, NOW - timedelta(seconds=1))

    order = await setup.place(ticket, key())

    assert order.id == crashed.id
    assert [r.client_order_id for r in setup.sent()] == [crashed.client_order_id]
    # It asked first, in case the crashed request had placed it.
    assert setup.exchange.calls.index("fetch_order_by_client_id") < setup.exchange.calls.index(
        "create_order"
    )


class LostAnswer(FakeExchange):
    """Places the first order, then fails as if the answer never arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.lose = True

    async def create_order(self, account: ExchangeAccount, request: OrderRequest) -> Order:
        order = await super().create_order(account, request)
        if self.lose:
            self.lose = False
            raise ExchangeUnavailable()
        return order


async def test_after_an_unknown_outcome_the_same_key_finds_the_order_instead_of_placing_another(
    setup: Setup,
) -> None:
    exchange = LostAnswer()
    exchange.valid_credentials.add((KEY, SECRET))
    setup.exchange = exchange

    with pytest.raises(ExchangeUnavailable):
        await setup.place(buy(quantity=Decimal("0.001")), key())
    order = await setup.place(buy(quantity=Decimal("0.001")), key())

    assert len(exchange.orders) == 1
    assert len(exchange.order_requests) == 1
    assert order.exchange_order_id == next(iter(exchange.orders.values())).exchange_order_id
    assert len(setup.uow.committed_trades) == 1


async def test_an_order_the_exchange_refuses_frees_its_key_for_another_attempt(
    setup: Setup,
) -> None:
    setup.exchange.spot_free["USDT"] = Decimal(10)
    with pytest.raises(InsufficientFunds):
        await setup.place(buy(quantity=Decimal("0.001")), key())
    (refused,) = setup.uow.committed_manual_orders.values()
    assert refused.status is ManualOrderStatus.REJECTED

    setup.exchange.spot_free["USDT"] = Decimal(1000)
    order = await setup.place(buy(quantity=Decimal("0.001")), key())

    assert order.status is ManualOrderStatus.FILLED
    assert order.id != refused.id


# -- fills and accounts ------------------------------------------------------------------


async def test_a_fill_is_recorded_as_a_trade_of_the_user_and_of_no_bot(setup: Setup) -> None:
    order = await setup.place(buy(quantity=Decimal("0.001")))

    (trade,) = setup.uow.committed_trades.values()
    assert (trade.user_id, trade.bot_config_id) == (1, None)
    assert (trade.symbol, trade.side, trade.order_type) == ("BTCUSDT", TradeSide.BUY, "market")
    assert (trade.price, trade.quantity_filled) == (Decimal(60000), Decimal("0.001"))
    assert trade.quote_quantity_filled == Decimal(60)
    assert trade.commission_amount == Decimal("0.06")
    assert trade.binance_order_id == order.exchange_order_id
    (event,) = setup.events.published
    assert (event.user_id, event.type) == (1, "trade_filled")
    assert event.data["bot_config_id"] is None
    assert (event.data["trade_id"], event.data["order_id"]) == (trade.id, order.id)


async def test_a_limit_order_resting_on_the_book_records_no_trade(setup: Setup) -> None:
    ticket = buy(type=OrderType.LIMIT, quantity=Decimal("0.001"), price=Decimal(50000))

    order = await setup.place(ticket)

    assert order.status is ManualOrderStatus.OPEN
    assert order.filled == 0
    assert setup.uow.committed_trades == {}


async def test_without_an_api_key_the_paper_exchange_trades_the_paper_account() -> None:
    setup = Setup(paper=True)
    account = paper_account(1)
    setup.exchange.valid_credentials = {(account.api_key, account.api_secret)}

    order = await setup.place(buy(quantity=Decimal("0.001")))

    assert order.status is ManualOrderStatus.FILLED


async def test_without_an_api_key_a_real_exchange_refuses_the_order_before_anything_is_sent() -> (
    None
):
    setup = Setup(paper=False)

    with pytest.raises(InvalidInput) as refused:
        await setup.place(buy(quantity=Decimal("0.001")), key())

    assert "api_key_id" in refused.value.details
    assert setup.exchange.calls == []
    (record,) = setup.uow.committed_manual_orders.values()
    assert (record.status, record.idempotency_key) == (ManualOrderStatus.REJECTED, None)


async def test_another_users_api_key_id_is_refused_like_one_nobody_has(setup: Setup) -> None:
    theirs = await setup.store_key(2, "OtherKey0123456789abcdef", "OtherSecret0123456789abcdef")

    with pytest.raises(InvalidInput) as other_users:
        await setup.place(buy(quantity=Decimal("0.001"), api_key_id=theirs))
    with pytest.raises(InvalidInput) as nobodys:
        await setup.place(buy(quantity=Decimal("0.001"), api_key_id=999))

    assert (other_users.value.message, other_users.value.details) == (
        nobodys.value.message,
        nobodys.value.details,
    )
    assert setup.exchange.calls == []


def test_a_market_without_a_step_or_tick_sends_the_amount_as_asked() -> None:
    market = Market(
        "X", "X", "USDT", MarketType.SPOT, Decimal(0), Decimal(0), Decimal(0), Decimal(0)
    )
    sized = buy(symbol="XUSDT", quote_amount=Decimal(10)).size(market, Decimal(4))
    assert sized.amount == Decimal("2.5")
