"""Schema fuzzing: schemathesis reads the app's own `/schema/openapi.json` and runs every
operation through its examples, coverage, fuzzing and stateful phases, in-process over
ASGI, as a registered user with one resource of each kind. Every answer must have a
documented status, content type, headers and body; no 5xx; every 4xx/5xx is the error
envelope and shows nothing internal.

SQLite only: the HTTP layer is what is fuzzed, and the two databases are covered by the
other integration tests. Schemathesis runs the app on its own event-loop thread, so this
test is synchronous and talks to the app through schemathesis' ASGI client only.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import schemathesis
from litestar import Litestar
from schemathesis.core.result import Ok
from schemathesis.engine import StopReason, events, from_schema
from schemathesis.python import asgi

from domain.market_data.candle import Candle
from entrypoints.settings import Settings
from tests.integration.backtest_candles import backtest_request, store_hourly_candles
from tests.integration.bots_api import EXCHANGE_KEY, EXCHANGE_SECRET, PASSWORD, trade_body
from tests.support.fakes import FakeExchange

SCHEMA_PATH = "/schema/openapi.json"
# Per operation and phase. About 85 s on two cores, half of it forgot-password, which
# never answers in less than 200 ms: keep the whole run well under five minutes.
MAX_EXAMPLES = 200
CANDLE_DAYS = 3
# Checks left out, and why: they are not the contract this test enforces.
NOT_ENFORCED = {
    # Schema-valid input is often refused by domain rules (ranges that depend on each
    # other, an unknown symbol, ...): a 400 is the right answer there.
    "positive_data_acceptance",
    # Litestar decodes leniently (`"remember_me": 0` is false, `?start=0.5` is an epoch
    # time); accepting such input is not an error of this API.
    "negative_data_rejection",
    # Litestar's 405 lists only the methods of the handler it matched, not of every
    # handler sharing the path.
    "allow_header_conformance",
}
ENVELOPE_KEYS = {"error", "code", "details"}
# What must never reach a client: a traceback, a source line, SQL or a driver's name.
LEAKS = ("Traceback", 'File "', "SELECT ", "INSERT INTO", "UPDATE ", "sqlalchemy", "asyncpg")


class CandlelessExchange(FakeExchange):
    """The fake exchange, with no candles beyond the ones already stored: a backtest over
    any other range finds none (400) instead of reaching the network."""

    async def fetch_candles(self, *args: object, **kwargs: object) -> list[Candle]:
        return []


@schemathesis.check
def error_envelope(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Any
) -> None:
    """Every 4xx/5xx, Litestar's own included, is the one envelope."""
    if response.status_code < 400:
        return
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} without a JSON body") from None
    if not isinstance(body, dict) or set(body) != ENVELOPE_KEYS:
        raise AssertionError(f"{response.status_code} body is not the error envelope: {body!r}")
    if body["code"] != response.status_code or not isinstance(body["error"], str):
        raise AssertionError(f"{response.status_code} envelope has the wrong code or error")


@schemathesis.check
def nothing_internal_leaks(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Any
) -> None:
    """No stack trace and no SQL reach a client (a marker the request itself
    carried may be echoed back by a validation message)."""
    if response.status_code < 400:
        return
    text = response.content.decode("utf-8", "replace")
    sent = repr((case.path_parameters, case.query, case.headers, case.body))
    leaked = [marker for marker in LEAKS if marker in text and marker not in sent]
    if leaked:
        raise AssertionError(f"{response.status_code} body shows {leaked}: {text[:300]}")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only (see the module's docstring)."""
    return f"sqlite+aiosqlite:///{tmp_path}/tradebot.db"


@pytest.fixture
def exchange() -> FakeExchange:
    return CandlelessExchange()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Like the rate limits, the limit of unfinished optimisation jobs is off here: a
    fuzzed job over the stored candles may still run when the next valid one comes."""
    return msgspec.structs.replace(settings, optimize_max_jobs_per_user=1000)


@pytest.fixture
def served_app(app: Litestar, migrated_database_url: str) -> Iterator[Litestar]:
    """The app with candles stored; its lifespan (which closes the container) is ended
    on schemathesis' loop, where it ran."""
    asyncio.run(store_hourly_candles(migrated_database_url, CANDLE_DAYS))
    yield app
    asgi.shutdown_lifespans()


@pytest.fixture
def fuzz_headers(served_app: Litestar, exchange: FakeExchange) -> dict[str, str]:
    """The bearer header of a registered user with an API key, a bot, a trade, a
    backtest and an optimisation job, so that ids 1 exist and the success answers get
    checked too."""
    exchange.valid_credentials.add((EXCHANGE_KEY, EXCHANGE_SECRET))
    email = "fuzz@example.com"
    with asgi.get_client(served_app) as http:
        http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        login = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        created = [
            http.post(
                "/api/v1/api-keys/",
                json={"api_key": EXCHANGE_KEY, "secret_key": EXCHANGE_SECRET},
                headers=headers,
            ),
            http.post(
                "/api/v1/bot-configs/",
                json={"name": "fuzz bot", "symbol": "BTCUSDT", "api_key_id": 1},
                headers=headers,
            ),
            http.post(
                "/api/v1/trades/",
                json=trade_body(1),
                headers=headers,
            ),
            http.post(
                "/api/v1/backtest/run",
                json=backtest_request(CANDLE_DAYS),
                headers=headers,
            ),
            http.post(
                "/api/v1/backtest/optimize",
                json={**backtest_request(CANDLE_DAYS), "ranges": {"ema_fast": [5, 8]}},
                headers=headers,
            ),
        ]
    for response in created:
        assert response.status_code in (200, 201, 202), response.text
    return headers


def fuzz_config(headers: dict[str, str]) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "headers": headers,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                # The same cases on every run, and no example database left behind.
                "deterministic": True,
                "database": "none",
            },
            "checks": {name: {"enabled": False} for name in NOT_ENFORCED},
            # No replay of an earlier run's requests from a .schemathesis directory.
            "cache": {"enabled": False},
        }
    )


def describe(recorder: Any, case_id: str, check: Any) -> str:
    info = check.failure_info
    interaction = recorder.interactions.get(case_id)
    answer = ""
    if interaction is not None and interaction.response is not None:
        body = interaction.response.content[:300].decode("utf-8", "replace")
        answer = f"\n    answered {interaction.response.status_code}: {body}"
    message = " ".join((info.failure.message or "").split())[:300]
    return (
        f"{recorder.label}: {check.name}: {info.failure.title}. {message}"
        f"\n    {' '.join(info.code_sample.split())}{answer}"
    )


def test_every_operation_answers_only_as_its_schema_documents(
    served_app: Litestar, fuzz_headers: dict[str, str]
) -> None:
    # An authenticated stream answers 200 and never ends: there is no response
    # to validate. Its refusals are tested in test_streams_live.py.
    schema = schemathesis.openapi.from_asgi(
        SCHEMA_PATH, served_app, config=fuzz_config(fuzz_headers)
    ).exclude(path=["/api/v1/stream/events", "/api/v1/stream/prices"])
    operations: set[str] = set()
    errors: list[str] = []
    for result in schema.get_all_operations():
        if isinstance(result, Ok):
            operations.add(result.ok().label)
        else:
            errors.append(f"invalid operation in the schema: {result.err()}")
    failures: dict[tuple[str, str], str] = {}
    answered: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    stop_reason = None

    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.failure_info is not None:
                        key = (recorder.label, check.name)
                        failures.setdefault(key, describe(recorder, case_id, check))
            responses = [i.response for i in recorder.interactions.values() if i.response]
            answered[recorder.label] += len(responses)
            statuses.update(response.status_code for response in responses)
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            stop_reason = event.stop_reason

    assert not errors, "\n".join(errors)
    assert stop_reason is StopReason.COMPLETED
    assert statuses[429] == 0, "rate limits are meant to be off here"
    assert not failures, "\n".join(failures[key] for key in sorted(failures))
    never_answered = sorted(op for op in operations if answered[op] == 0)
    assert not never_answered, f"operations never exercised: {never_answered}"
