"""Configuration from TRADEBOT_* environment variables, validated once at start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import limits
import msgspec
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    database_url: str = "sqlite+aiosqlite:///./tradebot.db"
    redis_url: str | None = None
    jwt_secret: str | None = None
    fernet_keys: tuple[str, ...] = ()
    exchange: Literal["binance", "paper"] = "binance"
    binance_base_url: str | None = None
    exchange_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=300)] = 10.0
    markets_ttl_seconds: Annotated[int, msgspec.Meta(ge=1, le=86_400)] = 900
    paper_feed: Literal["live", "replay"] = "live"
    paper_replay_speed: Annotated[float, msgspec.Meta(gt=0, le=1_000_000)] = 60.0
    paper_replay_start: datetime | None = None
    paper_spot_balance: Decimal = Decimal(10_000)
    paper_futures_balance: Decimal = Decimal(0)
    paper_spot_fee: Decimal = Decimal("0.001")
    paper_futures_fee: Decimal = Decimal("0.0004")
    paper_slippage: Decimal = Decimal(0)
    validate_api_on_testnet: bool = False
    smtp_host: str | None = None
    smtp_port: Port = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "tradebot@localhost"
    smtp_tls: bool = False
    public_url: str = "http://127.0.0.1:8000"
    cors_origins: tuple[str, ...] = ()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_json: bool = False
    auto_migrate: bool = True
    worker_lease_seconds: Annotated[float, msgspec.Meta(ge=1, le=3_600)] = 30.0
    worker_poll_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 1.0
    worker_concurrency: Annotated[int, msgspec.Meta(ge=1, le=256)] = 8
    # "in-process" runs the bot worker inside `tradebot serve`; "auto" does so on the
    # embedded default (SQLite); "off" leaves bots to `tradebot worker` processes.
    serve_worker: Literal["auto", "in-process", "off"] = "auto"
    stream_keepalive_seconds: Annotated[float, msgspec.Meta(gt=0, le=300)] = 15.0
    price_poll_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 2.0
    # Queued or running optimisation jobs a user may have at once (POST /backtest/optimize).
    optimize_max_jobs_per_user: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 2
    data_dir: str = "./data"
    # General request limits ("N/second|minute|hour", or "off"), beyond the seed's
    # login and reset limits: per user on authenticated routes, per client IP on the rest.
    rate_limit_per_user: str = "1200/minute"
    rate_limit_per_ip: str = "600/minute"
    # The seed's login/forgot/reset limits; "off" is for load benchmarks only.
    auth_rate_limits: bool = True


class ConfigError(Exception):
    """A bad configuration value; the message is one line naming the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        super().__init__(f"invalid configuration: {variable}: {problem}")


# Variable name for each field; the seed's VALIDATE_API_ON_TESTNET keeps its name.
ENV_NAMES: dict[str, str] = {
    name: (
        "VALIDATE_API_ON_TESTNET"
        if name == "validate_api_on_testnet"
        else f"TRADEBOT_{name.upper()}"
    )
    for name in Settings.__struct_fields__
}
_LIST_FIELDS = {"fernet_keys", "cors_origins"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_BOOL_FIELDS = {
    "validate_api_on_testnet",
    "smtp_tls",
    "log_json",
    "auto_migrate",
    "auth_rate_limits",
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Parse and validate the environment; ConfigError names the first bad variable."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    for field, variable in ENV_NAMES.items():
        value = env.get(variable)
        if value is None or (value.strip() == "" and field not in _LIST_FIELDS):
            continue
        value = value.strip()
        if field in _LIST_FIELDS:
            raw[field] = [part.strip() for part in value.split(",") if part.strip()]
        elif field in _BOOL_FIELDS:
            raw[field] = _parse_bool(variable, value)
        elif field == "log_level":
            raw[field] = value.upper()
        else:
            raw[field] = value
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise _as_config_error(exc) from None
    _check(settings)
    return settings


def _parse_bool(variable: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(variable, f"expected true or false, got {value!r}")


def _as_config_error(exc: msgspec.ValidationError) -> ConfigError:
    message = str(exc)
    match = re.search(r"at `\$\.(\w+)", message)
    field = match.group(1) if match else None
    variable = ENV_NAMES.get(field or "", "TRADEBOT_*")
    problem = message.split(" - at ")[0]
    return ConfigError(variable, problem)


def _check(s: Settings) -> None:
    try:
        url = make_url(s.database_url)
    except ArgumentError:
        raise ConfigError(ENV_NAMES["database_url"], "not a database URL") from None
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ConfigError(ENV_NAMES["database_url"], "only sqlite and postgresql are supported")
    if url.get_driver_name() not in {"aiosqlite", "asyncpg"}:
        raise ConfigError(
            ENV_NAMES["database_url"],
            "use an async driver: sqlite+aiosqlite:// or postgresql+asyncpg://",
        )
    if s.redis_url is not None and urlsplit(s.redis_url).scheme not in {"redis", "rediss"}:
        raise ConfigError(ENV_NAMES["redis_url"], "expected redis://host:port[/db]")
    if s.jwt_secret is not None and len(s.jwt_secret) < 32:
        raise ConfigError(ENV_NAMES["jwt_secret"], "must be at least 32 characters")
    for key in s.fernet_keys:
        try:
            Fernet(key.encode())
        except ValueError:
            raise ConfigError(
                ENV_NAMES["fernet_keys"], "each key must be a url-safe base64 32-byte Fernet key"
            ) from None
    for field in ("binance_base_url", "public_url"):
        value = getattr(s, field)
        if value is not None and not _is_http_url(value):
            raise ConfigError(ENV_NAMES[field], "expected an http(s):// URL")
    for origin in s.cors_origins:
        if origin != "*" and not _is_origin(origin):
            raise ConfigError(ENV_NAMES["cors_origins"], f"not an origin: {origin!r}")
    for field in ("paper_spot_balance", "paper_futures_balance"):
        value = getattr(s, field)
        if not value.is_finite() or value < 0:
            raise ConfigError(ENV_NAMES[field], "expected a non-negative amount")
    for field in ("paper_spot_fee", "paper_futures_fee", "paper_slippage"):
        value = getattr(s, field)
        if not value.is_finite() or not 0 <= value < 1:
            raise ConfigError(ENV_NAMES[field], "expected a fraction from 0 to below 1, e.g. 0.001")
    if s.smtp_host is not None and "@" not in s.smtp_from:
        raise ConfigError(ENV_NAMES["smtp_from"], "expected an email address")
    if s.paper_replay_start is not None and s.paper_replay_start.tzinfo is None:
        raise ConfigError(
            ENV_NAMES["paper_replay_start"], "give a time zone, e.g. 2024-01-01T00:00:00Z"
        )
    for field in ("rate_limit_per_user", "rate_limit_per_ip"):
        value = getattr(s, field)
        if value.lower() != "off" and not _is_rate(value):
            raise ConfigError(ENV_NAMES[field], "expected e.g. 1200/minute, 20/second or off")
    if Path(s.data_dir).exists() and not Path(s.data_dir).is_dir():
        raise ConfigError(ENV_NAMES["data_dir"], "exists and is not a directory")


def request_limit(value: str) -> tuple[int, int] | None:
    """(hits, period in seconds) of a rate setting such as "1200/minute"; None when off."""
    if value.lower() == "off":
        return None
    item = limits.parse(value)
    return item.amount, item.get_expiry()


def _is_rate(value: str) -> bool:
    try:
        item = limits.parse(value)
    except ValueError:
        return False
    return item.amount >= 1


def _is_origin(value: str) -> bool:
    """`scheme://host[:port]` exactly: browsers send that, and CORS compares it verbatim."""
    parts = urlsplit(value)
    return _is_http_url(value) and not (parts.path or parts.query or parts.fragment)


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)
