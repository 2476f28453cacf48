"""Authorisation sweep over every id-bearing route of the app's OpenAPI document.

Alice owns one resource of each kind (and a second, started bot); Bob owns his own. For
every operation with an id (a path or query parameter, or a `..._id` field of the body),
Bob sending one of Alice's ids gets exactly what he gets for an id nobody has: the same
status and the same body, a 404 for a path id. Alice's resources read the same
afterwards. Routes come from the schema, so a new id route is swept without changing this
test; an id whose resource this test cannot create fails it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from entrypoints.settings import Settings
from tests.integration.backtest_candles import backtest_request, store_hourly_candles
from tests.integration.bots_api import BOT_CONFIGS, TRADES, create_bot, sign_up, trade_body
from tests.support.fakes import FakeExchange

SCHEMA_PATH = "/schema/openapi.json"
CANDLE_DAYS = 3
METHODS = ("get", "put", "post", "delete", "patch")
# Which resource an id names, by parameter or field name.
KINDS = {
    "config_id": "bot_config",
    "bot_config_id": "bot_config",
    "trade_id": "trade",
    "backtest_id": "backtest",
    "api_key_id": "api_key",
    "job_id": "optimization_job",
}
# Id-named fields that name no resource of ours.
EXTERNAL_IDS = {"binance_order_id"}  # the exchange's order id, a string it gave
# Path parameters that are not ids, and the value the sweep sends for them.
OTHER_PATH_VALUES = {"market_type": "spot"}
NOBODYS_ID = 1_999_999_999  # a valid id (within the database's integer) that no one has
# The request body Bob sends to an operation that takes one; `own` is his ids by kind.
# Id fields of the body are then set per sweep step.
BodyFor = Callable[[dict[str, int]], dict[str, Any]]
BODIES: dict[tuple[str, str], BodyFor] = {
    ("POST", "/api/v1/bot-configs"): lambda own: {"name": "Not mine", "symbol": "BTCUSDT"},
    ("PUT", "/api/v1/bot-configs/{config_id}"): lambda own: {
        "name": "Taken over",
        "stop_loss_perc": 9.5,
    },
    ("PUT", "/api/v1/bot-states/{bot_config_id}"): lambda own: {"last_error_message": "taken over"},
    ("POST", "/api/v1/trades"): lambda own: trade_body(own["bot_config"]),
    ("POST", "/api/v1/orders"): lambda own: {
        "symbol": "BTCUSDT",
        "side": "buy",
        "type": "market",
        "quantity": 0.001,
    },
}
# Deletions last, so that a broken check cannot hide the others.
METHOD_ORDER = {"GET": 0, "PUT": 1, "POST": 1, "PATCH": 1, "DELETE": 2}
# The id routes the app has today: discovery finding fewer means it broke.
KNOWN_PATH_IDS = {"config_id", "bot_config_id", "trade_id", "backtest_id", "job_id"}


@dataclass(frozen=True)
class IdSlot:
    location: str  # "path", "query" or "body"
    name: str
    kind: str


@dataclass
class Route:
    method: str
    path: str
    slots: list[IdSlot]
    other_path_params: list[str]
    takes_body: bool

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Owner:
    headers: dict[str, str]
    ids: dict[str, list[int]] = field(default_factory=dict)

    def first(self) -> dict[str, int]:
        return {kind: ids[0] for kind, ids in self.ids.items()}


def is_id(name: str, schema: dict[str, Any], location: str) -> bool:
    return (
        name == "id"
        or name.endswith("_id")
        or (location == "path" and schema.get("type") == "integer")
    )


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def body_properties(document: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return []
    return list(resolve(document, schema).get("properties", {}))


def discover(document: dict[str, Any]) -> tuple[list[Route], list[str]]:
    """The operations with an id somewhere, and what the sweep cannot handle."""
    routes: list[Route] = []
    unknown: list[str] = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            label = f"{method.upper()} {path}"
            slots: list[IdSlot] = []
            others: list[str] = []
            for parameter in operation.get("parameters", []):
                name, location = parameter["name"], parameter["in"]
                if location not in ("path", "query"):
                    continue
                if is_id(name, parameter.get("schema", {}), location):
                    if name not in KINDS:
                        unknown.append(f"{label}: {location} parameter {name!r}")
                        continue
                    slots.append(IdSlot(location, name, KINDS[name]))
                elif location == "path":
                    others.append(name)
            # `id` in a body is the resource's own (read-only) id, not a reference.
            for name in body_properties(document, operation):
                if name.endswith("_id") and name not in EXTERNAL_IDS:
                    if name not in KINDS:
                        unknown.append(f"{label}: body field {name!r}")
                        continue
                    slots.append(IdSlot("body", name, KINDS[name]))
            if not slots:
                continue
            takes_body = "requestBody" in operation
            if takes_body and (method.upper(), path) not in BODIES:
                unknown.append(f"{label}: no request body known for it")
            unknown.extend(
                f"{label}: path parameter {name!r} has no value"
                for name in others
                if name not in OTHER_PATH_VALUES
            )
            routes.append(Route(method.upper(), path, slots, others, takes_body))
    routes.sort(key=lambda route: METHOD_ORDER.get(route.method, 1))
    return routes, unknown


def build_request(
    route: Route, values: dict[IdSlot, int], own: dict[str, int]
) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    """Path, query and body with each id slot set from `values`."""
    path = route.path
    query: dict[str, Any] = {}
    body = BODIES[(route.method, route.path)](own) if route.takes_body else None
    for name in route.other_path_params:
        path = path.replace(f"{{{name}}}", OTHER_PATH_VALUES[name])
    for slot, value in values.items():
        if slot.location == "path":
            path = path.replace(f"{{{slot.name}}}", str(value))
        elif slot.location == "query":
            query[slot.name] = value
        else:
            assert body is not None
            body[slot.name] = value
    return path, query, body


async def call(
    client: httpx.AsyncClient,
    route: Route,
    headers: dict[str, str],
    values: dict[IdSlot, int],
    own: dict[str, int],
) -> httpx.Response:
    path, query, body = build_request(route, values, own)
    return await client.request(route.method, path, params=query, json=body, headers=headers)


async def populate(
    client: httpx.AsyncClient, exchange: FakeExchange, email: str, key: str, secret: str
) -> Owner:
    """A user with an API key, a stopped bot with a trade, a started bot, a backtest and a
    finished optimisation job."""
    owner = Owner(await sign_up(client, email))
    exchange.valid_credentials.add((key, secret))
    created = await client.post(
        "/api/v1/api-keys/", json={"api_key": key, "secret_key": secret}, headers=owner.headers
    )
    assert created.status_code == 201, created.text
    api_key = created.json()["id"]
    stopped = await create_bot(client, owner.headers, api_key_id=api_key)
    started = await create_bot(client, owner.headers, api_key_id=api_key, name="Running")
    start = await client.post(f"{BOT_CONFIGS}{started['id']}/start", headers=owner.headers)
    assert start.status_code == 200, start.text
    trade = await client.post(TRADES, json=trade_body(stopped["id"]), headers=owner.headers)
    assert trade.status_code == 201, trade.text
    backtest = await client.post(
        "/api/v1/backtest/run",
        json=backtest_request(CANDLE_DAYS),
        headers=owner.headers,
    )
    assert backtest.status_code == 200, backtest.text
    job_id = await finished_optimization(client, owner.headers)
    owner.ids = {
        "api_key": [api_key],
        "bot_config": [stopped["id"], started["id"]],
        "trade": [trade.json()["id"]],
        "backtest": [backtest.json()["data"]["id"]],
        "optimization_job": [job_id],
    }
    return owner


async def finished_optimization(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    """An optimisation job run to its end, so that it reads the same before and after."""
    body = {**backtest_request(CANDLE_DAYS), "ranges": {"ema_fast": [5, 8]}}
    started = await client.post("/api/v1/backtest/optimize", json=body, headers=headers)
    assert started.status_code == 202, started.text
    job_id: int = started.json()["job_id"]
    for _ in range(600):
        job = await client.get(f"/api/v1/backtest/optimize/{job_id}", headers=headers)
        if job.json()["status"] not in ("queued", "running"):
            assert job.json()["status"] == "completed", job.text
            return job_id
        await asyncio.sleep(0.05)
    raise AssertionError(f"optimisation job {job_id} did not finish")


async def snapshot(
    client: httpx.AsyncClient, document: dict[str, Any], owner: Owner
) -> dict[str, tuple[int, bytes]]:
    """Everything the owner can read: each bearer GET route, for each of their ids."""
    seen: dict[str, tuple[int, bytes]] = {}
    for path, item in document["paths"].items():
        operation = item.get("get")
        if operation is None or not operation.get("security"):
            continue
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
        if any(name not in KINDS for name in names):
            continue
        for ids in itertools.product(*(owner.ids[KINDS[name]] for name in names)):
            url = path
            for name, value in zip(names, ids, strict=True):
                url = url.replace(f"{{{name}}}", str(value))
            response = await client.get(url, headers=owner.headers)
            seen[url] = (response.status_code, response.content)
    return seen


async def test_another_users_id_is_answered_exactly_like_an_id_nobody_has(
    client: httpx.AsyncClient, exchange: FakeExchange, settings: Settings
) -> None:
    await store_hourly_candles(settings.database_url, CANDLE_DAYS)
    alice = await populate(
        client, exchange, "alice@example.com", "AliceKey01234567", "AliceSecret0123"
    )
    bob = await populate(
        client, exchange, "bob@example.com", "BobKey0123456789", "BobSecret0123456"
    )
    document = (await client.get(SCHEMA_PATH)).json()
    routes, unknown = discover(document)
    assert not unknown, "the sweep does not know how to handle:\n" + "\n".join(unknown)
    swept_path_ids = {s.name for route in routes for s in route.slots if s.location == "path"}
    assert swept_path_ids >= KNOWN_PATH_IDS
    before = await snapshot(client, document, alice)
    assert before and all(status == 200 for status, _ in before.values()), before.keys()

    own = bob.first()
    differences: list[str] = []
    for route in routes:
        for slot in route.slots:
            others = {s: own[s.kind] for s in route.slots if s != slot}
            nobodys = await call(client, route, bob.headers, {**others, slot: NOBODYS_ID}, own)
            for alices_id in alice.ids[slot.kind]:
                theirs = await call(client, route, bob.headers, {**others, slot: alices_id}, own)
                where = f"{route.label} with Alice's {slot.name}={alices_id} ({slot.location})"
                if (theirs.status_code, theirs.content) != (nobodys.status_code, nobodys.content):
                    differences.append(
                        f"{where}: {theirs.status_code} {theirs.text[:200]!r}, but for an id "
                        f"nobody has: {nobodys.status_code} {nobodys.text[:200]!r}"
                    )
                elif slot.location == "path" and theirs.status_code != 404:
                    differences.append(f"{where}: {theirs.status_code}, not 404")
    assert not differences, "\n".join(differences)

    after = await snapshot(client, document, alice)
    changed = [url for url in before if before[url] != after.get(url)]
    assert not changed, f"Alice's resources changed: {changed}"


def test_discovery_fails_on_an_id_route_whose_resource_it_cannot_create() -> None:
    document = {
        "paths": {
            "/api/v1/orders/{order_id}": {
                "get": {"parameters": [{"name": "order_id", "in": "path", "schema": {}}]}
            },
            "/api/v1/widgets/{widget}": {
                "delete": {
                    "parameters": [{"name": "widget", "in": "path", "schema": {"type": "integer"}}]
                }
            },
            "/api/v1/trades/{trade_id}": {
                "get": {"parameters": [{"name": "trade_id", "in": "path", "schema": {}}]}
            },
        },
        "components": {"schemas": {}},
    }
    routes, unknown = discover(document)
    assert [route.label for route in routes] == ["GET /api/v1/trades/{trade_id}"]
    assert unknown == [
        "GET /api/v1/orders/{order_id}: path parameter 'order_id'",
        "DELETE /api/v1/widgets/{widget}: path parameter 'widget'",
    ]


@pytest.mark.parametrize("location", ["query", "body"])
def test_discovery_finds_ids_in_the_query_and_the_body(location: str) -> None:
    parameter = {"name": "bot_config_id", "in": "query", "schema": {"type": "integer"}}
    operation: dict[str, Any] = (
        {"parameters": [parameter]}
        if location == "query"
        else {
            "requestBody": {
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/T"}}}
            }
        }
    )
    document = {
        "paths": {"/api/v1/trades": {"post" if location == "body" else "get": operation}},
        "components": {"schemas": {"T": {"properties": {"bot_config_id": {}, "id": {}}}}},
    }
    routes, unknown = discover(document)
    assert unknown == []
    assert [route.slots for route in routes] == [[IdSlot(location, "bot_config_id", "bot_config")]]


def test_a_route_without_a_known_body_is_reported() -> None:
    document = {
        "paths": {
            "/api/v1/bot-configs/{config_id}/rename": {
                "post": {
                    "parameters": [{"name": "config_id", "in": "path", "schema": {}}],
                    "requestBody": {"content": {"application/json": {"schema": {}}}},
                }
            }
        },
        "components": {"schemas": {}},
    }
    _, unknown = discover(document)
    assert unknown == ["POST /api/v1/bot-configs/{config_id}/rename: no request body known for it"]
