"""The user's live events: Server-Sent Events and WebSocket, and the one-time tickets
that let a browser open them without putting a JWT in a URL."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Controller, Request, WebSocket, get, post, websocket
from litestar.di import NamedDependency, Provide
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromQuery, HeaderParameter, QueryParameter, SkipValidation
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from adapters.streams.ticket_store import TICKET_SECONDS
from application.auth.stream_access import AuthenticateStream
from application.market_data.price_feed import PriceListener
from domain.errors import AuthenticationFailed
from domain.events import DeliveredEvent
from domain.exchange.market import MarketType
from domain.users.user import User
from entrypoints.http.dependencies import USER_ID_STATE_KEY, provide_current_user, use_case
from entrypoints.http.errors import error_responses

T = TypeVar("T")
# WebSocket close codes: 4401 = not authenticated (4000-4999 are the application's);
# 1013 = try again later (the client fell too far behind and was dropped).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_SLOW = 1013
# How often an open stream checks that its user is still active and not revoked.
RECHECK_SECONDS = 5.0


Ticket = Annotated[
    str | None, QueryParameter(max_length=200, description="a one-time stream ticket")
]
LastEventId = Annotated[
    str | None,
    HeaderParameter(name="Last-Event-ID", max_length=32, required=False),
]
# Prices are Decimals: JSON numbers on the wire, as everywhere in the API.
_ENCODER = msgspec.json.Encoder(decimal_format="number")


class StreamTicketResponse(msgspec.Struct, kw_only=True):
    ticket: str
    expires_in: int


def _wire(event: DeliveredEvent) -> dict[str, Any]:
    return {"id": event.id, "type": event.type, "data": event.data, "at": event.at.isoformat()}


def _after_id(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


async def _stream_user(
    request: Request[Any, Any, Any], stream_access: AuthenticateStream, ticket: str | None
) -> User:
    """The stream's user (header or ticket), recorded for the access log."""
    user = await stream_access.execute(
        request.headers.get("authorization"), ticket, set(request.query_params.keys())
    )
    request.scope.setdefault("state", {})[USER_ID_STATE_KEY] = user.id
    return user


KEEP_ALIVE = ServerSentEventMessage(data=None, comment="keep-alive")


async def _with_keepalives(
    items: AsyncIterator[T], keepalive_seconds: float
) -> AsyncIterator[T | None]:
    """The items as they come, and None whenever none came for `keepalive_seconds`
    (the waiting read is kept, never cancelled). Closes `items` when done."""
    pending: asyncio.Future[T] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(items))
            done, _ = await asyncio.wait({pending}, timeout=keepalive_seconds)
            if not done:
                yield None
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield item
    finally:
        if pending is not None:
            pending.cancel()
        close = getattr(items, "aclose", None)
        if close is not None:
            await close()


class _Revocation:
    """Asks at most every RECHECK_SECONDS (or the keep-alive, if shorter) whether the
    stream's user may still listen: deactivated or reset users' streams end."""

    def __init__(self, access: AuthenticateStream, user: User, every: float) -> None:
        self._access = access
        self._user = user
        self._every = every
        self._checked = time.monotonic()

    async def revoked(self) -> bool:
        now = time.monotonic()
        if now - self._checked < self._every:
            return False
        self._checked = now
        return not await self._access.still_allowed(self._user)


async def _sse_messages(
    events: AsyncIterator[DeliveredEvent], keepalive_seconds: float, revocation: _Revocation
) -> AsyncIterator[ServerSentEventMessage]:
    """Each event with its id; a comment line whenever nothing happened for a while, so
    proxies keep the connection open. Ends when the bus drops a too-slow client, or when
    the user is deactivated or their tokens revoked."""
    wait = min(keepalive_seconds, RECHECK_SECONDS)
    quiet_since = time.monotonic()
    async for event in _with_keepalives(events, wait):
        if await revocation.revoked():
            return
        if event is None:
            if time.monotonic() - quiet_since >= keepalive_seconds - 1e-3:
                quiet_since = time.monotonic()
                yield KEEP_ALIVE
        else:
            quiet_since = time.monotonic()
            data = msgspec.json.encode(_wire(event)).decode()
            yield ServerSentEventMessage(data=data, event=event.type, id=event.id)


async def _price_messages(
    updates: PriceListener, market_type: MarketType, keepalive_seconds: float
) -> AsyncIterator[ServerSentEventMessage]:
    async for update in _with_keepalives(updates, keepalive_seconds):
        if update is None:
            yield KEEP_ALIVE
        elif update.ticker is None:
            error = _ENCODER.encode({"error": update.error}).decode()
            yield ServerSentEventMessage(data=error, event="price_error")
        else:
            t = update.ticker
            body: dict[str, Any] = {
                "symbol": t.symbol,
                "market_type": market_type.value,
                "last": t.last,
                "bid": t.bid,
                "ask": t.ask,
                "at": t.at.isoformat(),
            }
            yield ServerSentEventMessage(data=_ENCODER.encode(body).decode(), event="price")


class StreamController(Controller):
    path = "/api/v1"
    tags = ["Streaming"]

    @post(
        "/auth/stream-ticket",
        status_code=201,
        summary="A one-time ticket for ?ticket= on the event streams",
        description=f"Valid {TICKET_SECONDS} s, once, for the user who asked for it.",
        dependencies={
            "current_user": Provide(provide_current_user),
            "stream_access": use_case("authenticate_stream"),
        },
        responses=error_responses(401),
    )
    async def stream_ticket(
        self,
        current_user: NamedDependency[SkipValidation[User]],
        stream_access: NamedDependency[SkipValidation[AuthenticateStream]],
    ) -> StreamTicketResponse:
        ticket = await stream_access.issue_ticket(current_user)
        return StreamTicketResponse(ticket=ticket, expires_in=TICKET_SECONDS)

    @get(
        "/stream/events",
        summary="The user's events as Server-Sent Events",
        description=(
            "Bot state changes, trades, bot errors and backtest progress, each with an "
            "`id:`; send `Last-Event-ID` to get what was missed (bounded history). "
            "Authenticate with the Authorization header or `?ticket=`; a JWT in the URL is "
            "refused. A comment line keeps the connection alive every 15 s."
        ),
        dependencies={"stream_access": use_case("authenticate_stream")},
        responses=error_responses(401),
    )
    async def events(
        self,
        request: Request[Any, Any, Any],
        stream_access: NamedDependency[SkipValidation[AuthenticateStream]],
        ticket: Ticket = None,
        last_event_id: LastEventId = None,
    ) -> ServerSentEvent:
        user = await _stream_user(request, stream_access, ticket)
        container = request.app.state.container
        assert user.id is not None
        events = container.event_bus().subscribe(user.id, _after_id(last_event_id))
        keepalive = container.settings().stream_keepalive_seconds
        revocation = _Revocation(stream_access, user, min(keepalive, RECHECK_SECONDS))
        return ServerSentEvent(_sse_messages(events, keepalive, revocation))

    @get(
        "/stream/prices",
        summary="Ticker updates of one symbol as Server-Sent Events",
        description=(
            "`price` events `{symbol, market_type, last, bid, ask, at}` every few seconds "
            "(`price_error` while the exchange is unreachable). One upstream poll per "
            "symbol is shared by all its listeners and stops when the last one leaves. "
            "Authentication as for /stream/events."
        ),
        dependencies={"stream_access": use_case("authenticate_stream")},
        responses=error_responses(401),
    )
    async def prices(
        self,
        request: Request[Any, Any, Any],
        stream_access: NamedDependency[SkipValidation[AuthenticateStream]],
        symbol: Annotated[str, QueryParameter(min_length=1, max_length=32)],
        market_type: FromQuery[MarketType] = MarketType.SPOT,
        ticket: Ticket = None,
    ) -> ServerSentEvent:
        await _stream_user(request, stream_access, ticket)
        container = request.app.state.container
        market = await container.exchange().fetch_market(market_type, symbol.strip().upper())
        listener = container.price_feed().listen(market_type, market.symbol)
        keepalive = container.settings().stream_keepalive_seconds
        return ServerSentEvent(_price_messages(listener, market_type, keepalive))

    @websocket("/ws")
    async def socket(self, socket: WebSocket[Any, Any, Any]) -> None:
        """The same events over a WebSocket: JSON messages; `{"type": "ping"}` is answered
        with `{"type": "pong"}`; `?last_event_id=` replays what was missed."""
        container = socket.app.state.container
        stream_access: AuthenticateStream = container.authenticate_stream()
        await socket.accept()
        try:
            user = await stream_access.execute(
                socket.headers.get("authorization"),
                socket.query_params.get("ticket"),
                set(socket.query_params.keys()),
            )
        except AuthenticationFailed as exc:
            await socket.close(code=CLOSE_UNAUTHENTICATED, reason=exc.message[:100])
            return
        assert user.id is not None
        events = container.event_bus().subscribe(
            user.id, _after_id(socket.query_params.get("last_event_id"))
        )
        sending = asyncio.Lock()
        every = min(container.settings().stream_keepalive_seconds, RECHECK_SECONDS)
        revocation = _Revocation(stream_access, user, every)
        forward = asyncio.create_task(self._forward(socket, events, sending, revocation, every))
        try:
            while True:
                message = await socket.receive_json()
                if isinstance(message, dict) and message.get("type") == "ping":
                    async with sending:
                        await socket.send_json({"type": "pong"})
        except WebSocketDisconnect:
            pass
        finally:
            forward.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await forward
            close = getattr(events, "aclose", None)
            if close is not None:
                await close()

    @staticmethod
    async def _forward(
        socket: WebSocket[Any, Any, Any],
        events: AsyncIterator[DeliveredEvent],
        sending: asyncio.Lock,
        revocation: _Revocation,
        every: float,
    ) -> None:
        async for event in _with_keepalives(events, every):
            if await revocation.revoked():
                with contextlib.suppress(Exception):
                    await socket.close(code=CLOSE_UNAUTHENTICATED, reason="session revoked")
                return
            if event is not None:
                async with sending:
                    await socket.send_json(_wire(event))
        with contextlib.suppress(Exception):
            await socket.close(code=CLOSE_TOO_SLOW, reason="too slow: reconnect with last_event_id")
