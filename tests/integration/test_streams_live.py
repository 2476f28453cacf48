"""The event streams over a real `tradebot serve`: SSE and WebSocket, replays with
Last-Event-ID, keep-alives, user isolation, one-time tickets, no JWT in URLs, and two
API processes sharing one Redis. Offline: the paper exchange replays imported candles,
and the in-process worker moves the bots."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

from tests.integration import exchange_fixtures
from tests.integration.binance_stub import BinanceStub
from tests.integration.live_replay import migrate_and_import, running_servers
from tests.integration.sse_client import SseReader
from tests.integration.test_live_server import TRADEBOT, LiveServer, clean_env, running_server
from tests.support.servers import RedisServer

binance_stub = exchange_fixtures.binance_stub
PASSWORD = "Correct-Horse-9-Battery"
REPLAY = {
    "TRADEBOT_EXCHANGE": "paper",
    "TRADEBOT_PAPER_FEED": "replay",
    "TRADEBOT_STREAM_KEEPALIVE_SECONDS": "1",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the tests that need nothing else of it: each signs up users of its
    own, and event ids, streams and tickets are per user. Logins are limited to 5 a
    minute per address (tested elsewhere): off here, so that the tests add up freely.

    Its database holds 1,000 one-minute candles to replay, imported in this process
    (the `tradebot data import` command is tested by the walk-through)."""
    directory = tmp_path_factory.mktemp("streams")
    asyncio.run(migrate_and_import(clean_env(directory)["TRADEBOT_DATABASE_URL"], 1000))
    with running_server(directory, **REPLAY, TRADEBOT_AUTH_RATE_LIMITS="false") as live:
        yield live


async def sign_up(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    await http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    login = await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def new_bot(http: httpx.AsyncClient, headers: dict[str, str]) -> int:
    body = {"name": "streamed", "symbol": "BTCUSDT", "timeframe": "1m", "strategy": "ema_crossover"}
    bot = await http.post("/api/v1/bot-configs/", json=body, headers=headers)
    assert bot.status_code == 201, bot.text
    bot_id: int = bot.json()["id"]
    return bot_id


async def ticket(http: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await http.post("/api/v1/auth/stream-ticket", headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["expires_in"] == 30
    value: str = response.json()["ticket"]
    return value


async def test_sse_delivers_a_users_bot_events_with_ids_keepalives_and_replays(
    server: LiveServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as http:
        alice = await sign_up(http, "alice@example.com")
        bob = await sign_up(http, "bob@example.com")
        bot_id = await new_bot(http, alice)
        async with (
            http.stream("GET", "/api/v1/stream/events", headers=alice) as alice_stream,
            http.stream("GET", "/api/v1/stream/events", headers=bob) as bob_stream,
        ):
            assert alice_stream.status_code == 200
            assert alice_stream.headers["content-type"].startswith("text/event-stream")
            alice_events, bob_events = SseReader(alice_stream), SseReader(bob_stream)
            assert await alice_events.next_frame(5) == {"comment": "keep-alive"}
            await http.post(f"/api/v1/bot-configs/{bot_id}/start", headers=alice)
            pending = await alice_events.next_event()
            assert pending["id"] == 1
            assert pending["event"] == "bot_state_changed"
            assert pending["data"]["data"] == {"bot_config_id": bot_id, "status": "pending"}
            running = await alice_events.next_event()  # the worker's first evaluation
            assert (running["id"], running["data"]["data"]["status"]) == (2, "running")
            # Bob hears nothing of Alice's bot: only keep-alives.
            assert [await bob_events.next_frame(3) for _ in range(2)] == [
                {"comment": "keep-alive"}
            ] * 2

        replay_headers = {**alice, "Last-Event-ID": "1"}
        async with http.stream("GET", "/api/v1/stream/events", headers=replay_headers) as again:
            missed = await SseReader(again).next_event()
            assert (missed["id"], missed["data"]["data"]["status"]) == (2, "running")


async def test_a_stream_ticket_opens_one_stream_once_and_a_jwt_in_the_url_is_refused(
    server: LiveServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as http:
        alice = await sign_up(http, "ticket@example.com")
        one = await ticket(http, alice)
        async with http.stream("GET", f"/api/v1/stream/events?ticket={one}") as opened:
            assert opened.status_code == 200
            assert await SseReader(opened).next_frame(5) == {"comment": "keep-alive"}
        reused = await http.get(f"/api/v1/stream/events?ticket={one}")
        assert reused.status_code == 401
        assert reused.json()["error"] == "Invalid, used or expired stream ticket"

        jwt = alice["Authorization"].split()[1]
        for query in (f"access_token={jwt}", f"token={jwt}", f"ticket={jwt}"):
            refused = await http.get(f"/api/v1/stream/events?{query}")
            assert refused.status_code == 401, query
            assert "Tokens in URLs are refused" in refused.json()["error"]
        assert (await http.get("/api/v1/stream/events")).status_code == 401
        assert jwt not in server.stderr_path.read_text()


async def test_the_websocket_carries_the_same_events_answers_pings_and_closes_on_bad_auth(
    server: LiveServer,
) -> None:
    ws_url = server.base_url.replace("http://", "ws://") + "/api/v1/ws"
    async with (
        httpx.AsyncClient(base_url=server.base_url, timeout=20) as http,
        aiohttp.ClientSession() as session,
    ):
        alice = await sign_up(http, "socket@example.com")
        bot_id = await new_bot(http, alice)
        async with session.ws_connect(f"{ws_url}?ticket={await ticket(http, alice)}") as ws:
            await ws.send_json({"type": "ping"})
            assert await ws.receive_json(timeout=5) == {"type": "pong"}
            await http.post(f"/api/v1/bot-configs/{bot_id}/start", headers=alice)
            event = await ws.receive_json(timeout=10)
            assert (event["id"], event["type"]) == (1, "bot_state_changed")
            assert event["data"] == {"bot_config_id": bot_id, "status": "pending"}

        async with session.ws_connect(ws_url, headers=alice) as by_header:
            replay = f"{ws_url}?last_event_id=1&ticket={await ticket(http, alice)}"
            async with session.ws_connect(replay) as resumed:
                missed = await resumed.receive_json(timeout=10)
                assert missed["id"] == 2
            await by_header.send_json({"type": "ping"})
            message = await by_header.receive_json(timeout=5)
            while message.get("type") != "pong":  # a bot event may come first
                message = await by_header.receive_json(timeout=5)

        for bad in ("?ticket=nope", "", f"?access_token={alice['Authorization'].split()[1]}"):
            async with session.ws_connect(ws_url + bad) as refused:
                message = await refused.receive(timeout=5)
                assert message.type == aiohttp.WSMsgType.CLOSE, bad
                assert message.data == 4401, bad


async def test_an_event_published_by_one_api_process_reaches_a_client_of_another(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    database = clean_env(tmp_path)["TRADEBOT_DATABASE_URL"]
    await migrate_and_import(database, 1000)
    shared = {
        **REPLAY,
        "TRADEBOT_REDIS_URL": redis_server.url,
        "TRADEBOT_DATABASE_URL": database,
        "TRADEBOT_DATA_DIR": str(tmp_path / "data"),
    }
    directories = [tmp_path / "first", tmp_path / "second"]  # a log of its own each
    for directory in directories:
        directory.mkdir()
    with running_servers(*((directory, shared) for directory in directories)) as servers:
        first, second = servers
        async with (
            httpx.AsyncClient(base_url=first.base_url, timeout=20) as via_first,
            httpx.AsyncClient(base_url=second.base_url, timeout=20) as via_second,
        ):
            alice = await sign_up(via_first, "fanout@example.com")
            bot_id = await new_bot(via_first, alice)
            # The ticket is issued by one process and redeemed by the other (Redis).
            one = await ticket(via_first, alice)
            async with via_second.stream("GET", f"/api/v1/stream/events?ticket={one}") as s:
                assert s.status_code == 200
                events = SseReader(s)
                await events.next_frame(5)  # subscribed
                await via_first.post(f"/api/v1/bot-configs/{bot_id}/start", headers=alice)
                event: dict[str, Any] = await events.next_event()
                assert event["event"] == "bot_state_changed"
                assert event["data"]["data"] == {"bot_config_id": bot_id, "status": "pending"}


async def test_two_price_listeners_on_one_symbol_make_one_upstream_poll_stream(
    tmp_path: Path, binance_stub: BinanceStub
) -> None:
    poll = 0.25
    env = {
        "TRADEBOT_BINANCE_BASE_URL": binance_stub.base_url,
        "TRADEBOT_PRICE_POLL_SECONDS": str(poll),
        "TRADEBOT_STREAM_KEEPALIVE_SECONDS": "1",
    }
    binance_stub.set_price("BTCUSDT", "43210.5")
    with running_server(tmp_path, **env) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as http:
            alice = await sign_up(http, "prices@example.com")
            url = "/api/v1/stream/prices?symbol=BTCUSDT"
            binance_stub.clear_requests()
            started = time.monotonic()
            async with (
                http.stream("GET", url, headers=alice) as first,
                http.stream("GET", url, headers=alice) as second,
            ):
                one, two = SseReader(first), SseReader(second)
                for reader in (one, two):
                    price = await reader.next_event()
                    assert price["event"] == "price"
                    assert price["data"]["symbol"] == "BTCUSDT"
                    assert price["data"]["last"] == 43210.5
                for _ in range(6):
                    await one.next_event()
                    await two.next_event()
                elapsed = time.monotonic() - started
                polls = len(ticker_requests(binance_stub))
            # Two independent polls would make about twice as many requests.
            assert polls <= elapsed / poll + 3, (polls, elapsed)
            await asyncio.sleep(1.0)  # both left: the poll stops
            after_leaving = len(ticker_requests(binance_stub))
            await asyncio.sleep(1.0)
            assert len(ticker_requests(binance_stub)) == after_leaving
            unknown = await http.get("/api/v1/stream/prices?symbol=NOPEUSDT", headers=alice)
            assert unknown.status_code == 400


def ticker_requests(stub: BinanceStub) -> list[Any]:
    return [r for r in stub.requests if "ticker" in r.path]


async def test_deactivating_a_user_ends_their_open_streams_within_seconds(
    server: LiveServer,
) -> None:
    ws_url = server.base_url.replace("http://", "ws://") + "/api/v1/ws"
    email = "leaving@example.com"
    async with (
        httpx.AsyncClient(base_url=server.base_url, timeout=20) as http,
        aiohttp.ClientSession() as session,
    ):
        headers = await sign_up(http, email)
        async with (
            http.stream("GET", "/api/v1/stream/events", headers=headers) as sse,
            session.ws_connect(ws_url, headers=headers) as ws,
        ):
            reader = SseReader(sse)
            assert await reader.next_frame(5) == {"comment": "keep-alive"}
            deactivated = await asyncio.to_thread(
                subprocess.run,
                [str(TRADEBOT), "users", "deactivate", email],
                env=server.env, capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            assert deactivated.returncode == 0, deactivated.stderr
            started = time.monotonic()
            closed = await ws.receive(timeout=10)
            assert (closed.type, closed.data) == (aiohttp.WSMsgType.CLOSE, 4401)
            assert await stream_ends(reader)
            assert time.monotonic() - started < 8


async def stream_ends(reader: SseReader) -> bool:
    """True when the server ends the stream (its last frames read first)."""
    try:
        for _ in range(50):
            await reader.next_frame(10)
    except StopAsyncIteration:
        return True
    return False
