"""A manual order's account, and the exchange's answer about it recorded once: shared by
the request that sends the order and the follower that sees it to its end."""

from __future__ import annotations

from application.api_keys.exchange_account import decrypt_account, paper_account
from domain.errors import InvalidInput
from domain.events import trade_filled
from domain.exchange.account import ExchangeAccount
from domain.exchange.order import Order
from domain.orders.manual_order import ManualOrder
from domain.ports.event_bus import EventBus
from domain.ports.secret_vault import SecretVault
from domain.ports.unit_of_work import UnitOfWork


async def manual_order_account(
    uow: UnitOfWork,
    vault: SecretVault,
    user_id: int,
    api_key_id: int | None,
    requires_api_key: bool,
) -> ExchangeAccount:
    """The named key, else the user's key, else (paper) the user's paper account."""
    async with uow:
        if api_key_id is not None:
            api_key = await uow.api_keys.get(user_id, api_key_id)
        else:
            api_key = await uow.api_keys.get_for_user(user_id)
    if api_key_id is not None and api_key is None:
        raise InvalidInput(
            "Validation failed", details={"api_key_id": ["no such API key of yours"]}
        )
    if api_key is not None and api_key.is_valid:
        return decrypt_account(vault, api_key)
    if api_key_id is None and not requires_api_key:
        return paper_account(user_id)
    raise InvalidInput(
        "A valid API key is needed to place orders",
        details={"api_key_id": ["store a valid API key first"]},
    )


async def record_answer(
    uow: UnitOfWork, events: EventBus, order: ManualOrder, placed: Order
) -> ManualOrder:
    """The exchange's answer and, once the order is done, its fill as a trade, once: a
    request (or follower) that lost a race to record the same answer gets what the winner
    stored."""
    assert order.id is not None
    order.placed(placed)
    trade = order.trade()
    async with uow:
        if await uow.manual_orders.complete(order) and trade is not None:
            trade = await uow.trades.add(trade)
        else:
            trade = None
        stored = await uow.manual_orders.get(order.user_id, order.id)
        await uow.commit()
    assert stored is not None
    if trade is not None:
        await events.publish(
            trade_filled(
                order.user_id,
                None,
                {
                    "trade_id": trade.id,
                    "order_id": order.id,
                    "side": trade.side.value,
                    "price": float(trade.price),
                    "quantity": float(trade.quantity_filled),
                    "reason": "manual",
                },
            )
        )
    return stored
