"""Bot configuration, control and state routes over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from entrypoints.container import Container, close_container
from entrypoints.settings import Settings
from tests.integration.app_under_test import asgi_client, overridden_container
from tests.integration.bots_api import (
    BOT_CONFIGS,
    BOT_STATES,
    TRADES,
    add_api_key,
    assert_envelope,
    create_bot,
    sign_up,
)
from tests.support.fakes import FakeExchange


def every_field(api_key_id: int) -> dict[str, Any]:
    """A futures bot on the custom strategy with no field at its default."""
    return {
        "name": "Trend follower",
        "symbol": "BTCUSDT",
        "timeframe": "4h",
        "is_active": False,
        "initial_capital": 2500.5,
        "daily_target_perc": 3.5,
        "max_daily_loss_perc": 2.25,
        "position_size_perc": 20.0,
        "position_size_fixed": 150.75,
        "stop_loss_perc": 1.5,
        "take_profit_perc": 6.0,
        "trailing_stop_perc": 1.25,
        "trailing_stop_active": True,
        "ema_fast": 12,
        "ema_slow": 26,
        "rsi_period": 10,
        "rsi_oversold": 25,
        "rsi_overbought": 75,
        "max_daily_trades": 8,
        "check_interval_seconds": 120,
        "api_key_id": api_key_id,
        "strategy": "custom",
        "ema_period": 100,
        "custom_ema_fast": 5,
        "custom_ema_slow": 15,
        "custom_rsi_period": 7,
        "custom_rsi_oversold": 20,
        "custom_rsi_overbought": 80,
        "custom_stop_loss": 2.5,
        "custom_take_profit": 5.5,
        "custom_trailing_stop": 0.75,
        "position_type": "futures",
        "transfer_amount": 300.5,
        "auto_transfer_funds": True,
        "leverage": 10,
    }


def container_with(settings: Settings, **changes: Any) -> Container:
    """The test container of conftest, on changed settings."""
    return overridden_container(msgspec.structs.replace(settings, **changes))


async def start(client: httpx.AsyncClient, headers: dict[str, str], bot_id: int) -> httpx.Response:
    return await client.post(f"{BOT_CONFIGS}{bot_id}/start", headers=headers)


async def test_every_field_round_trips_through_create_get_and_list(
    client: httpx.AsyncClient, exchange: FakeExchange
) -> None:
    headers = await sign_up(client, "alice@example.com")
    body = every_field(await add_api_key(client, exchange, headers))

    created = await create_bot(client, headers, **body)

    assert set(created) == set(body) | {"id", "created_at", "updated_at"}
    assert {name: created[name] for name in body} == body
    fetched = await client.get(f"{BOT_CONFIGS}{created['id']}", headers=headers)
    assert fetched.status_code == 200
    assert fetched.json() == created
    listed = await client.get(BOT_CONFIGS, headers=headers)
    assert listed.json() == [created]
    assert '"initial_capital":2500.5' in fetched.text


async def test_left_out_fields_take_the_domain_defaults_and_the_bot_starts_stopped(
    client: httpx.AsyncClient,
) -> None:
    headers = await sign_up(client, "alice@example.com")
    created = await create_bot(client, headers, symbol="btc/usdt")

    assert created["symbol"] == "BTCUSDT"
    assert created["timeframe"] == "1h"
    assert created["strategy"] == "ema_rsi"
    assert created["position_type"] == "spot"
    assert created["initial_capital"] == 1000
    assert created["leverage"] == 1
    assert created["api_key_id"] is None
    stored = await client.get(f"{BOT_CONFIGS}{created['id']}", headers=headers)
    assert '"initial_capital":1000,' in stored.text
    state = await client.get(f"{BOT_STATES}{created['id']}", headers=headers)
    assert state.status_code == 200
    assert state.json()["status"] == "stopped"
    assert state.json()["bot_config_id"] == created["id"]
    assert state.json()["daily_pnl"] == 0


INVALID_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"ema_fast": 30, "ema_slow": 21}, "ema_fast"),
    ({"rsi_oversold": 70, "rsi_overbought": 30}, "rsi_oversold"),
    ({"leverage": 2}, "leverage"),
    ({"leverage": 126, "position_type": "futures"}, "leverage"),
    ({"stop_loss_perc": 0}, "stop_loss_perc"),
    ({"take_profit_perc": 101}, "take_profit_perc"),
    ({"position_size_perc": 0}, "position_size_perc"),
    ({"timeframe": "7m"}, "timeframe"),
    ({"strategy": "martingale"}, "strategy"),
    ({"strategy": "custom"}, "custom_ema_fast"),
    ({"strategy": "custom", "custom_ema_fast": 5, "custom_ema_slow": 15}, "custom_rsi_period"),
    ({"position_type": "margin"}, "position_type"),
    ({"ema_period": 1}, "ema_period"),
    ({"check_interval_seconds": 0}, "check_interval_seconds"),
    ({"initial_capital": -5}, "initial_capital"),
    ({"initial_capital": "NaN"}, "initial_capital"),
    ({"initial_capital": 1e21}, "initial_capital"),
    ({"auto_transfer_funds": True}, "auto_transfer_funds"),
    ({"colour": "blue"}, "colour"),
    ({"ema_fast": "twelve"}, "ema_fast"),
    ({"leverage": 2.5}, "leverage"),
    ({"is_active": [1]}, "is_active"),
    ({"initial_capital": "lots"}, "initial_capital"),
    ({"stop_loss_perc": "nan"}, "stop_loss_perc"),
    ({"ema_fast": None}, "ema_fast"),
    ({"name": "   "}, "name"),
    ({"api_key_id": 2**40}, "api_key_id"),
]


async def test_every_invalid_field_is_a_400_naming_the_field(client: httpx.AsyncClient) -> None:
    headers = await sign_up(client, "alice@example.com")
    wrong: list[str] = []
    for changes, field in INVALID_BODIES:
        body = {"name": "Bot", "symbol": "BTCUSDT", **changes}
        response = await client.post(BOT_CONFIGS, json=body, headers=headers)
        details = response.json().get("details")
        if response.status_code != 400 or not isinstance(details, dict) or field not in details:
            wrong.append(f"{changes} -> {response.status_code} {response.text}")
    assert wrong == []
    missing = assert_envelope(
        await client.post(BOT_CONFIGS, json={"name": "x"}, headers=headers), 400
    )
    assert "symbol" in missing["details"]
    assert (await client.get(BOT_CONFIGS, headers=headers)).json() == []


async def test_a_symbol_the_exchange_does_not_list_is_an_invalid_symbol(
    client: httpx.AsyncClient,
) -> None:
    headers = await sign_up(client, "alice@example.com")
    response = await client.post(
        BOT_CONFIGS, json={"name": "Bot", "symbol": "ETHUSDT"}, headers=headers
    )
    assert assert_envelope(response, 400)["error"] == "Invalid symbol"


async def test_another_users_api_key_cannot_be_used(
    client: httpx.AsyncClient, exchange: FakeExchange
) -> None:
    alice = await sign_up(client, "alice@example.com")
    bob = await sign_up(client, "bob@example.com")
    alices_key = await add_api_key(client, exchange, alice)

    response = await client.post(
        BOT_CONFIGS,
        json={"name": "Bot", "symbol": "BTCUSDT", "api_key_id": alices_key},
        headers=bob,
    )
    assert "api_key_id" in assert_envelope(response, 400)["details"]
    bot = await create_bot(client, bob)
    update = await client.put(
        f"{BOT_CONFIGS}{bot['id']}", json={"api_key_id": alices_key}, headers=bob
    )
    assert "api_key_id" in assert_envelope(update, 400)["details"]


async def test_update_changes_only_the_fields_in_the_body(client: httpx.AsyncClient) -> None:
    headers = await sign_up(client, "alice@example.com")
    bot = await create_bot(client, headers, stop_loss_perc=3.0, daily_target_perc=5.0)

    response = await client.put(
        f"{BOT_CONFIGS}{bot['id']}",
        json={"name": "Renamed", "daily_target_perc": None, "ema_slow": 40},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["name"] == "Renamed"
    assert updated["daily_target_perc"] is None
    assert updated["ema_slow"] == 40
    unchanged = {"name", "daily_target_perc", "ema_slow", "updated_at"}
    assert {k: v for k, v in updated.items() if k not in unchanged} == {
        k: v for k, v in bot.items() if k not in unchanged
    }
    assert (await client.get(f"{BOT_CONFIGS}{bot['id']}", headers=headers)).json() == updated
    invalid = await client.put(f"{BOT_CONFIGS}{bot['id']}", json={"ema_fast": 50}, headers=headers)
    assert "ema_fast" in assert_envelope(invalid, 400)["details"]
    unknown = await client.put(f"{BOT_CONFIGS}{bot['id']}", json={"id": 7}, headers=headers)
    assert "id" in assert_envelope(unknown, 400)["details"]


async def test_the_list_is_paginated_with_a_total_count(client: httpx.AsyncClient) -> None:
    alice = await sign_up(client, "alice@example.com")
    bob = await sign_up(client, "bob@example.com")
    ids = [(await create_bot(client, alice, name=f"Bot {n}"))["id"] for n in range(3)]
    await create_bot(client, bob)

    first = await client.get(BOT_CONFIGS, params={"limit": 2}, headers=alice)
    rest = await client.get(BOT_CONFIGS, params={"limit": 2, "offset": 2}, headers=alice)

    assert [c["id"] for c in first.json()] == ids[:2]
    assert [c["id"] for c in rest.json()] == ids[2:]
    assert first.headers["X-Total-Count"] == rest.headers["X-Total-Count"] == "3"
    everything = await client.get(BOT_CONFIGS, headers=alice)
    assert [c["id"] for c in everything.json()] == ids
    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "many"}):
        response = await client.get(BOT_CONFIGS, params=params, headers=alice)
        assert set(params) <= set(assert_envelope(response, 400)["details"])


async def test_the_state_machine_holds_over_http(
    client: httpx.AsyncClient, exchange: FakeExchange
) -> None:
    headers = await sign_up(client, "alice@example.com")
    bot = await create_bot(client, headers, api_key_id=await add_api_key(client, exchange, headers))
    bot_id = bot["id"]
    state_url = f"{BOT_STATES}{bot_id}"

    started = await start(client, headers, bot_id)
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "pending"
    again = assert_envelope(await start(client, headers, bot_id), 409)
    assert again["details"]["status"] == "pending"
    assert_envelope(await client.post(f"{BOT_CONFIGS}{bot_id}/pause", headers=headers), 409)

    running = await client.put(state_url, json={"status": "running"}, headers=headers)
    assert running.json()["status"] == "running"
    paused = await client.post(f"{BOT_CONFIGS}{bot_id}/pause", headers=headers)
    assert paused.status_code == 200
    assert paused.json()["status"] == "paused"
    assert (await start(client, headers, bot_id)).json()["status"] == "pending"

    for _ in range(2):
        stopped = await client.post(f"{BOT_CONFIGS}{bot_id}/stop", headers=headers)
        assert stopped.status_code == 200
        assert stopped.json()["status"] == "stopped"
    illegal = await client.put(state_url, json={"status": "running"}, headers=headers)
    assert assert_envelope(illegal, 409)["details"]["allowed"] == ["pending"]
    pending = await client.put(state_url, json={"status": "pending"}, headers=headers)
    assert pending.json()["status"] == "pending"
    assert (await client.get(state_url, headers=headers)).json() == pending.json()


async def test_starting_without_a_valid_key_is_a_400_on_a_real_exchange(
    client: httpx.AsyncClient,
) -> None:
    headers = await sign_up(client, "alice@example.com")
    bot = await create_bot(client, headers)

    body = assert_envelope(await start(client, headers, bot["id"]), 400)
    assert "api_key_id" in body["details"]
    via_state = await client.put(
        f"{BOT_STATES}{bot['id']}", json={"status": "pending"}, headers=headers
    )
    assert_envelope(via_state, 400)
    state = await client.get(f"{BOT_STATES}{bot['id']}", headers=headers)
    assert state.json()["status"] == "stopped"


async def test_on_the_paper_exchange_a_bot_starts_without_a_key(settings: Settings) -> None:
    container = container_with(settings, exchange="paper")
    async with asgi_client(container) as client:
        headers = await sign_up(client, "alice@example.com")
        bot = await create_bot(client, headers)
        started = await start(client, headers, bot["id"])
        assert started.status_code == 200, started.text
        assert started.json()["status"] == "pending"
    await close_container(container)


async def test_an_active_bot_keeps_its_market_but_may_change_its_risk_limits(
    client: httpx.AsyncClient, exchange: FakeExchange
) -> None:
    headers = await sign_up(client, "alice@example.com")
    bot = await create_bot(client, headers, api_key_id=await add_api_key(client, exchange, headers))
    url = f"{BOT_CONFIGS}{bot['id']}"
    assert (await start(client, headers, bot["id"])).status_code == 200

    blocked = await client.put(url, json={"symbol": "ETHUSDT", "name": "x"}, headers=headers)
    assert assert_envelope(blocked, 409)["details"]["fields"] == ["symbol"]
    same_value = await client.put(url, json={"timeframe": bot["timeframe"]}, headers=headers)
    assert same_value.status_code == 200
    safe = await client.put(url, json={"stop_loss_perc": 1.25}, headers=headers)
    assert safe.status_code == 200, safe.text
    assert safe.json()["stop_loss_perc"] == 1.25
    assert safe.json()["symbol"] == "BTCUSDT"
    assert safe.json()["name"] == bot["name"]

    correction = await client.put(
        f"{BOT_STATES}{bot['id']}", json={"daily_trades_count": 0}, headers=headers
    )
    assert assert_envelope(correction, 409)["details"]["fields"] == ["daily_trades_count"]


async def test_runtime_fields_are_corrected_while_stopped_and_read_only_ones_refused(
    client: httpx.AsyncClient,
) -> None:
    headers = await sign_up(client, "alice@example.com")
    bot = await create_bot(client, headers)
    url = f"{BOT_STATES}{bot['id']}"
    correction = {
        "in_position": True,
        "entry_price": 65000.5,
        "current_position_size_coins": 0.0015,
        "trailing_stop_price": 64000,
        "max_price_since_entry": 66000.25,
        "take_profit_price": 70000,
        "stop_loss_price": 63000,
        "daily_pnl": -12.75,
        "daily_trades_count": 3,
        "last_error_message": "exchange timeout",
    }

    response = await client.put(url, json=correction, headers=headers)

    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in correction} == correction
    assert (await client.get(url, headers=headers)).json() == response.json()
    for body, field in [
        ({"id": 5}, "id"),
        ({"last_updated_at": "2026-01-01T00:00:00Z"}, "last_updated_at"),
        ({"status": "sleeping"}, "status"),
        ({"daily_trades_count": -1}, "daily_trades_count"),
        ({"entry_price": "Infinity"}, "entry_price"),
        ({"position": 1}, "position"),
    ]:
        refused = await client.put(url, json=body, headers=headers)
        assert field in assert_envelope(refused, 400)["details"], body


async def test_deleting_removes_a_stopped_bot_with_its_state_and_trades(
    client: httpx.AsyncClient, exchange: FakeExchange
) -> None:
    headers = await sign_up(client, "alice@example.com")
    bot = await create_bot(client, headers, api_key_id=await add_api_key(client, exchange, headers))
    url = f"{BOT_CONFIGS}{bot['id']}"
    trade = await client.post(
        TRADES,
        json={
            "bot_config_id": bot["id"],
            "symbol": "BTCUSDT",
            "side": "BUY",
            "order_type": "MARKET",
            "price": 65000,
            "quantity_filled": 0.001,
            "quote_quantity_filled": 65,
            "timestamp": "2026-01-01T12:00:00Z",
        },
        headers=headers,
    )
    assert trade.status_code == 201, trade.text
    await start(client, headers, bot["id"])

    assert_envelope(await client.delete(url, headers=headers), 409)
    await client.post(f"{url}/stop", headers=headers)
    deleted = await client.delete(url, headers=headers)

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_envelope(await client.get(url, headers=headers), 404)
    assert_envelope(await client.get(f"{BOT_STATES}{bot['id']}", headers=headers), 404)
    assert_envelope(await client.get(f"{TRADES}{trade.json()['id']}", headers=headers), 404)
    assert_envelope(await client.delete(url, headers=headers), 404)


async def test_deleting_the_api_key_deletes_the_bots_that_use_it(
    client: httpx.AsyncClient, exchange: FakeExchange
) -> None:
    headers = await sign_up(client, "alice@example.com")
    keyed = await create_bot(
        client, headers, api_key_id=await add_api_key(client, exchange, headers)
    )
    keyless = await create_bot(client, headers, name="Paper idea")

    assert (await client.delete("/api/v1/api-keys/me", headers=headers)).status_code == 204

    assert_envelope(await client.get(f"{BOT_CONFIGS}{keyed['id']}", headers=headers), 404)
    assert_envelope(await client.get(f"{BOT_STATES}{keyed['id']}", headers=headers), 404)
    remaining = await client.get(BOT_CONFIGS, headers=headers)
    assert [c["id"] for c in remaining.json()] == [keyless["id"]]
    assert remaining.headers["X-Total-Count"] == "1"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_another_users_bot_is_indistinguishable_from_a_missing_one(
    client: httpx.AsyncClient, method: str
) -> None:
    alice = await sign_up(client, "alice@example.com")
    bob = await sign_up(client, "bob@example.com")
    bot = await create_bot(client, alice)
    body = {"name": "Mine now"} if method == "PUT" else None
    state_body = {"status": "pending"} if method == "PUT" else None

    def config_call(bot_id: int, headers: dict[str, str]) -> Any:
        return client.request(method, f"{BOT_CONFIGS}{bot_id}", json=body, headers=headers)

    theirs = await config_call(bot["id"], bob)
    missing = await config_call(987654, bob)
    huge = await config_call(2**40, bob)
    assert_envelope(theirs, 404)
    assert theirs.json() == missing.json() == huge.json()
    if method != "DELETE":
        state_theirs = await client.request(
            method, f"{BOT_STATES}{bot['id']}", json=state_body, headers=bob
        )
        state_missing = await client.request(
            method, f"{BOT_STATES}987654", json=state_body, headers=bob
        )
        assert_envelope(state_theirs, 404)
        assert state_theirs.json() == state_missing.json()
    for action in ("start", "stop", "pause"):
        action_theirs = await client.post(f"{BOT_CONFIGS}{bot['id']}/{action}", headers=bob)
        action_missing = await client.post(f"{BOT_CONFIGS}987654/{action}", headers=bob)
        assert_envelope(action_theirs, 404)
        assert action_theirs.json() == action_missing.json()
    mine = await client.get(f"{BOT_CONFIGS}{bot['id']}", headers=alice)
    assert mine.json() == bot
    state = await client.get(f"{BOT_STATES}{bot['id']}", headers=alice)
    assert state.json()["status"] == "stopped"


async def test_every_bot_route_needs_a_token(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("POST", BOT_CONFIGS),
        ("GET", BOT_CONFIGS),
        ("GET", f"{BOT_CONFIGS}1"),
        ("PUT", f"{BOT_CONFIGS}1"),
        ("DELETE", f"{BOT_CONFIGS}1"),
        ("POST", f"{BOT_CONFIGS}1/start"),
        ("POST", f"{BOT_CONFIGS}1/stop"),
        ("POST", f"{BOT_CONFIGS}1/pause"),
        ("GET", f"{BOT_STATES}1"),
        ("PUT", f"{BOT_STATES}1"),
        ("GET", "/api/v1/config"),
    ]:
        response = await client.request(
            method, path, json={} if method in {"POST", "PUT"} else None
        )
        assert_envelope(response, 401)


async def test_the_config_lists_the_five_strategies_with_parameter_ranges(
    client: httpx.AsyncClient,
) -> None:
    headers = await sign_up(client, "alice@example.com")
    response = await client.get("/api/v1/config", headers=headers)

    assert response.status_code == 200
    config = response.json()
    strategies = {s["name"]: s for s in config["strategies"]}
    assert set(strategies) == {"ema_crossover", "ema_rsi", "rsi_reversion", "ema_trend", "custom"}
    ema_fast = next(p for p in strategies["ema_crossover"]["parameters"] if p["name"] == "ema_fast")
    assert ema_fast == {
        "name": "ema_fast",
        "type": "integer",
        "minimum": 2,
        "maximum": 500,
        "exclusive_minimum": False,
        "default": 9,
    }
    assert all(s["parameters"] for s in config["strategies"])
    assert "4h" in config["timeframes"]
    assert config["market_types"] == ["spot", "futures"]
    assert config["leverage"] == {"spot": [1, 1], "futures": [1, 125]}


async def test_the_openapi_document_describes_the_bot_routes_and_their_errors(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    paths = spec["paths"]

    assert set(paths["/api/v1/bot-configs/{config_id}"]) == {"get", "put", "delete"}
    assert {"400", "404", "409"} <= set(
        paths["/api/v1/bot-configs/{config_id}"]["put"]["responses"]
    )
    assert "409" in paths["/api/v1/bot-configs/{config_id}/start"]["post"]["responses"]
    listing = paths["/api/v1/bot-configs"]["get"]["responses"]["200"]
    assert "X-Total-Count" in listing["headers"]
    request = spec["components"]["schemas"]["CreateBotConfigRequest"]
    assert request["required"] == ["name", "symbol"]
    assert set(request["properties"]) == set(every_field(1))
    fixed = spec["components"]["schemas"]["BotConfigResponse"]["properties"]["position_size_fixed"]
    assert {"type": "number"} in fixed["oneOf"]


async def test_a_browser_on_an_allowed_origin_may_read_the_total_count(settings: Settings) -> None:
    origin = "https://app.example.com"
    container = container_with(settings, cors_origins=(origin,))
    async with asgi_client(container) as client:
        headers = await sign_up(client, "alice@example.com")
        listed = await client.get(BOT_CONFIGS, headers={**headers, "Origin": origin})
    await close_container(container)

    assert listed.headers["access-control-expose-headers"] == "X-Total-Count"
    assert listed.headers["X-Total-Count"] == "0"
