"""Live prices for the price stream: one upstream poll per (market type, symbol),
shared by every listener of that symbol in this process, and stopped when the last
listener leaves. A listener that does not keep up loses old prices, never memory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from domain.errors import DomainError
from domain.exchange.market import MarketType
from domain.exchange.ticker import Ticker
from domain.ports.exchange_gateway import ExchangeGateway

log = logging.getLogger(__name__)
PriceKey = tuple[MarketType, str]


@dataclass(frozen=True, slots=True)
class PriceUpdate:
    """A ticker, or why there is none right now (the exchange is unreachable)."""

    ticker: Ticker | None
    error: str | None = None


@dataclass(eq=False)
class _Poll:
    listeners: set[asyncio.Queue[PriceUpdate]] = field(default_factory=set)
    task: asyncio.Task[None] | None = None


class PriceFeed:
    def __init__(self, exchange: ExchangeGateway, poll_seconds: float, buffer: int = 8) -> None:
        self._exchange = exchange
        self._poll_seconds = poll_seconds
        self._buffer = buffer
        self._polls: dict[PriceKey, _Poll] = {}

    def polling(self) -> set[PriceKey]:
        """The symbols polled right now."""
        return set(self._polls)

    def listen(self, market_type: MarketType, symbol: str) -> PriceListener:
        key = (market_type, symbol)
        poll = self._polls.setdefault(key, _Poll())
        queue: asyncio.Queue[PriceUpdate] = asyncio.Queue(maxsize=self._buffer)
        poll.listeners.add(queue)
        if poll.task is None:
            poll.task = asyncio.create_task(self._run(key, poll))
        return PriceListener(self, key, queue)

    async def _run(self, key: PriceKey, poll: _Poll) -> None:
        while poll.listeners:
            try:
                update = PriceUpdate(await self._exchange.fetch_ticker(*key))
            except DomainError as exc:
                update = PriceUpdate(None, exc.message)
            for queue in list(poll.listeners):
                if queue.full():
                    queue.get_nowait()  # the oldest price is the one worth least
                queue.put_nowait(update)
            await asyncio.sleep(self._poll_seconds)

    def _leave(self, key: PriceKey, queue: asyncio.Queue[PriceUpdate]) -> None:
        poll = self._polls.get(key)
        if poll is None:
            return
        poll.listeners.discard(queue)
        if not poll.listeners:
            del self._polls[key]
            if poll.task is not None:
                poll.task.cancel()


class PriceListener:
    def __init__(self, feed: PriceFeed, key: PriceKey, queue: asyncio.Queue[PriceUpdate]) -> None:
        self._feed = feed
        self._key = key
        self._queue = queue

    def __aiter__(self) -> PriceListener:
        return self

    async def __anext__(self) -> PriceUpdate:
        return await self._queue.get()

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            self._feed._leave(self._key, self._queue)
