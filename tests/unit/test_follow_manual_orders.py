"""The worker follows manual orders to their end: a resting limit order's fill becomes a
trade once, and an order a crash left `pending` is settled by its client order id."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from application.orders.follow_manual_orders import FollowManualOrders
from domain.exchange.market import MarketType
from domain.exchange.order import OrderSide, OrderStatus, OrderType
from domain.orders.manual_order import ManualOrder, ManualOrderStatus
from tests.unit.test_manual_orders import NOW, Setup, buy


def follower(setup: Setup) -> FollowManualOrders:
    return FollowManualOrders(
        setup.uow, setup.exchange, setup.vault, setup.events, setup.clock, requires_api_key=True
    )


async def test_a_resting_limit_order_becomes_a_trade_when_it_fills_and_only_once() -> None:
    setup = Setup()
    await setup.store_key()
    order = await setup.place(
        buy(type=OrderType.LIMIT, price=Decimal("59000"), quantity=Decimal("0.001"))
    )
    assert order.status is ManualOrderStatus.OPEN
    assert setup.uow.committed_trades == {}
    assert await follower(setup).execute() == 0  # still resting

    # The market came down to it: filled on the exchange.
    resting = setup.exchange.orders[order.client_order_id]
    setup.exchange.orders[order.client_order_id] = replace(
        resting, status=OrderStatus.FILLED, filled=resting.amount,
        average_price=Decimal("59000"), fee=Decimal("0.059"),
    )  # fmt: skip
    assert await follower(setup).execute() == 1
    assert await follower(setup).execute() == 0
    [trade] = setup.uow.committed_trades.values()
    assert (trade.price, trade.quantity_filled, trade.bot_config_id) == (
        Decimal("59000"), Decimal("0.001"), None,
    )  # fmt: skip
    assert setup.uow.committed_manual_orders[order.id or 0].status is ManualOrderStatus.FILLED
    assert [e.type for e in setup.events.published].count("trade_filled") == 1


async def test_an_order_a_crash_left_pending_is_recorded_as_the_exchange_has_it() -> None:
    setup = Setup()
    await setup.store_key()
    placed = await setup.place(buy(quantity=Decimal("0.001")))
    # As if the request had died between the exchange's answer and the store.
    async with setup.uow:
        setup.uow.committed_manual_orders[placed.id or 0] = replace(
            placed, status=ManualOrderStatus.PENDING, lease_until=NOW, exchange_order_id=None
        )
        setup.uow.committed_trades.clear()
    setup.clock.advance(timedelta(seconds=61))
    assert await follower(setup).execute() == 1
    stored = setup.uow.committed_manual_orders[placed.id or 0]
    assert stored.status is ManualOrderStatus.FILLED
    assert len(setup.uow.committed_trades) == 1


async def test_a_pending_order_the_exchange_never_got_is_rejected_once_it_cannot_arrive() -> None:
    setup = Setup()
    await setup.store_key()
    async with setup.uow:
        lost = await setup.uow.manual_orders.add(
            ManualOrder(
                user_id=1, client_order_id="tbm-never", request_hash="x", symbol="BTCUSDT",
                market_type=MarketType.SPOT, side=OrderSide.BUY, type=OrderType.MARKET,
                requested_at=NOW, lease_until=NOW + timedelta(seconds=60),
            )
        )  # fmt: skip
        await setup.uow.commit()
    assert lost is not None and lost.id is not None
    assert await follower(setup).execute() == 0  # still leased to its request
    setup.clock.advance(timedelta(seconds=90))
    await follower(setup).execute()
    assert setup.uow.committed_manual_orders[lost.id].status is ManualOrderStatus.PENDING
    setup.clock.advance(timedelta(minutes=1))
    await follower(setup).execute()
    assert setup.uow.committed_manual_orders[lost.id].status is ManualOrderStatus.REJECTED
    assert setup.exchange.order_requests == []
