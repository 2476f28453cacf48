"""The bot's belief compared with the exchange: at every start and every few minutes.

Futures: the symbol's position (side and size) against the filled position. Spot: the
free base asset must cover what the bot holds (the user may hold more; a flat spot bot
cannot tell its coins from the user's). Open orders: any order on a futures symbol, or an
order with one of the bot's client ids on spot, that is not one of its pending intents.
Tolerance is the market's amount step.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from domain.bots.bot_config import BotConfig
from domain.bots.bot_state import BotState
from domain.bots.order_intent import client_order_prefix
from domain.exchange.account import ExchangeAccount
from domain.exchange.market import Market, MarketType
from domain.ports.exchange_gateway import ExchangeGateway
from domain.ports.unit_of_work import UnitOfWork
from domain.trading.risk_engine import Side

RECONCILE_EVERY = timedelta(minutes=3)


class Reconciler:
    def __init__(self, uow: UnitOfWork, exchange: ExchangeGateway) -> None:
        self._uow = uow
        self._exchange = exchange

    async def difference(
        self, account: ExchangeAccount, config: BotConfig, state: BotState, market: Market
    ) -> str | None:
        """None when the exchange agrees with the bot; otherwise what differs, in words."""
        held = state.filled_position
        engine = state.engine
        quantity = held.quantity if held else Decimal(0)
        side = held.side if held else Side.FLAT
        if held is None and engine is not None and engine.in_position:
            quantity, side = Decimal(repr(float(engine.quantity))), engine.side
        step = market.amount_step
        symbol = config.symbol
        if config.market_type is MarketType.FUTURES:
            positions = await self._exchange.fetch_positions(account)
            found = next((p for p in positions if p.symbol == symbol and p.amount > 0), None)
            believed = (
                f"{_side_word(side)} {_plain(quantity)} {symbol}"
                if side is not Side.FLAT
                else f"no {symbol} position"
            )
            if found is None and side is not Side.FLAT:
                return f"the bot holds {believed} but the exchange shows no position"
            if found is not None:
                found_side = Side.LONG if found.side.value == "long" else Side.SHORT
                if found_side is not side or abs(found.amount - quantity) > step:
                    return (
                        f"the bot holds {believed} but the exchange shows "
                        f"{found.side.value} {_plain(found.amount)}"
                    )
        elif side is not Side.FLAT:
            free = await self._exchange.fetch_spot_free(account, market.base)
            if free < quantity - step:
                return (
                    f"the bot holds {_plain(quantity)} {market.base} but the spot wallet has "
                    f"{_plain(free)} {market.base} free"
                )
        return await self._unknown_open_order(account, config)

    async def _unknown_open_order(self, account: ExchangeAccount, config: BotConfig) -> str | None:
        assert config.id is not None
        async with self._uow:
            pending = {i.client_order_id for i in await self._uow.order_intents.pending(config.id)}
        orders = await self._exchange.fetch_open_orders(account, config.market_type, config.symbol)
        mine = client_order_prefix(config.id)
        for order in orders:
            if order.client_order_id in pending:
                continue
            if config.market_type is MarketType.FUTURES or order.client_order_id.startswith(mine):
                return (
                    f"an open {order.side.value} order for {order.amount} {config.symbol} "
                    f"(client id {order.client_order_id or '?'}) is not the bot's"
                )
        return None


def _plain(amount: Decimal) -> str:
    return f"{amount.normalize():f}"


def _side_word(side: Side) -> str:
    return "long" if side is Side.LONG else "short"
