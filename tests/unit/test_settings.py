"""load_settings: TRADEBOT_* variables validated once, errors naming the variable;
with_generated_secrets: first-run JWT secret and Fernet keys kept in data_dir/secrets.json."""

from __future__ import annotations

import json
import logging
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from entrypoints.secrets_file import SECRETS_FILE_NAME, with_generated_secrets
from entrypoints.settings import ConfigError, Settings, load_settings, request_limit

JWT_SECRET = "settings-test-secret-" + "j" * 27


def test_an_empty_environment_gives_the_defaults() -> None:
    settings = load_settings({})

    assert settings == Settings()
    assert settings.database_url == "sqlite+aiosqlite:///./tradebot.db"
    assert settings.redis_url is None
    assert settings.jwt_secret is None
    assert settings.fernet_keys == ()
    assert settings.smtp_port == 587
    assert settings.paper_feed == "live"
    assert settings.validate_api_on_testnet is False
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.cors_origins == ()
    assert settings.log_level == "INFO"
    assert settings.log_json is False
    assert settings.auto_migrate is True


def test_blank_scalar_values_count_as_unset() -> None:
    assert load_settings({"TRADEBOT_SMTP_PORT": "  ", "TRADEBOT_LOG_LEVEL": ""}) == Settings()


def test_unrelated_variables_are_ignored() -> None:
    assert load_settings({"HOME": "/root", "TRADEBOT_UNKNOWN": "x"}) == Settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TRADEBOT_SMTP_PORT", "0"),
        ("TRADEBOT_SMTP_PORT", "abc"),
        ("TRADEBOT_SMTP_PORT", "65536"),
        ("TRADEBOT_SMTP_PORT", "1.5"),
        ("TRADEBOT_LOG_JSON", "maybe"),
        ("TRADEBOT_SMTP_TLS", "2"),
        ("TRADEBOT_AUTO_MIGRATE", "y"),
        ("TRADEBOT_PAPER_FEED", "x"),
        ("TRADEBOT_PAPER_REPLAY_SPEED", "-1"),
        ("TRADEBOT_PAPER_REPLAY_SPEED", "0"),
        ("TRADEBOT_PAPER_REPLAY_SPEED", "fast"),
        ("TRADEBOT_PAPER_REPLAY_SPEED", "nan"),
        ("TRADEBOT_PAPER_REPLAY_SPEED", "inf"),
        ("TRADEBOT_DATABASE_URL", "mysql://x"),
        ("TRADEBOT_DATABASE_URL", "sqlite:///x.db"),
        ("TRADEBOT_DATABASE_URL", "postgresql://u@h/db"),
        ("TRADEBOT_DATABASE_URL", "postgresql+psycopg://u@h/db"),
        ("TRADEBOT_DATABASE_URL", "not a url"),
        ("TRADEBOT_REDIS_URL", "http://x"),
        ("TRADEBOT_JWT_SECRET", "short"),
        ("TRADEBOT_JWT_SECRET", "s" * 31),
        ("TRADEBOT_FERNET_KEYS", "notakey"),
        ("TRADEBOT_PUBLIC_URL", "ftp://x"),
        ("TRADEBOT_PUBLIC_URL", "http://"),
        ("TRADEBOT_BINANCE_BASE_URL", "binance.com"),
        ("TRADEBOT_CORS_ORIGINS", "notanorigin"),
        ("TRADEBOT_CORS_ORIGINS", "https://ok.example,notanorigin"),
        ("TRADEBOT_LOG_LEVEL", "LOUD"),
        ("TRADEBOT_EXCHANGE", "Binance US"),
        ("VALIDATE_API_ON_TESTNET", "perhaps"),
        ("TRADEBOT_RATE_LIMIT_PER_USER", "lots"),
        ("TRADEBOT_RATE_LIMIT_PER_USER", "0/minute"),
        ("TRADEBOT_RATE_LIMIT_PER_IP", "100/fortnight"),
        ("TRADEBOT_AUTH_RATE_LIMITS", "sometimes"),
    ],
)
def test_a_bad_value_is_a_config_error_naming_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({variable: value})

    assert caught.value.variable == variable
    message = str(caught.value)
    assert f" {variable}: " in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1200/minute", (1200, 60)), ("20 per second", (20, 1)), ("5/hour", (5, 3600)), ("OFF", None)],
)
def test_a_request_rate_setting_reads_as_hits_per_period_or_off(
    value: str, expected: tuple[int, int] | None
) -> None:
    settings = load_settings({"TRADEBOT_RATE_LIMIT_PER_USER": value})

    assert request_limit(settings.rate_limit_per_user) == expected


def test_a_valid_fernet_key_list_is_kept_unless_one_key_is_bad() -> None:
    good = Fernet.generate_key().decode()

    with pytest.raises(ConfigError) as caught:
        load_settings({"TRADEBOT_FERNET_KEYS": f"{good},notakey"})

    assert caught.value.variable == "TRADEBOT_FERNET_KEYS"


def test_smtp_from_must_be_an_address_when_smtp_is_configured() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"TRADEBOT_SMTP_HOST": "mail.example", "TRADEBOT_SMTP_FROM": "tradebot"})

    assert caught.value.variable == "TRADEBOT_SMTP_FROM"


def test_a_data_dir_that_is_a_file_is_a_config_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")

    with pytest.raises(ConfigError) as caught:
        load_settings({"TRADEBOT_DATA_DIR": str(not_a_dir)})

    assert caught.value.variable == "TRADEBOT_DATA_DIR"


def test_comma_separated_lists_are_split_and_trimmed() -> None:
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()

    settings = load_settings(
        {
            "TRADEBOT_FERNET_KEYS": f" {first} ,{second},, ",
            "TRADEBOT_CORS_ORIGINS": " https://a.example , http://b.example:8080 ,*,",
        }
    )

    assert settings.fernet_keys == (first, second)
    assert settings.cors_origins == ("https://a.example", "http://b.example:8080", "*")


def test_a_blank_list_is_empty() -> None:
    assert load_settings({"TRADEBOT_CORS_ORIGINS": " , ,"}).cors_origins == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("TRUE", True),
        ("yes", True),
        ("On", True),
        ("0", False),
        ("false", False),
        ("NO", False),
        ("off", False),
    ],
)
def test_booleans_accept_the_usual_spellings(value: str, expected: bool) -> None:
    settings = load_settings({"TRADEBOT_LOG_JSON": value, "VALIDATE_API_ON_TESTNET": value})

    assert settings.log_json is expected
    assert settings.validate_api_on_testnet is expected


def test_valid_values_are_parsed_and_trimmed() -> None:
    settings = load_settings(
        {
            "TRADEBOT_DATABASE_URL": " postgresql+asyncpg://u:p@db:5432/tradebot ",
            "TRADEBOT_REDIS_URL": "rediss://cache:6380/1",
            "TRADEBOT_JWT_SECRET": JWT_SECRET,
            "TRADEBOT_SMTP_PORT": "2525",
            "TRADEBOT_PAPER_FEED": "replay",
            "TRADEBOT_PAPER_REPLAY_SPEED": "0.5",
            "TRADEBOT_LOG_LEVEL": "debug",
            "TRADEBOT_PUBLIC_URL": "https://bot.example",
            "TRADEBOT_EXCHANGE": "paper",
        }
    )

    assert settings.database_url == "postgresql+asyncpg://u:p@db:5432/tradebot"
    assert settings.redis_url == "rediss://cache:6380/1"
    assert settings.jwt_secret == JWT_SECRET
    assert settings.smtp_port == 2525
    assert settings.paper_feed == "replay"
    assert settings.paper_replay_speed == 0.5
    assert settings.log_level == "DEBUG"
    assert settings.public_url == "https://bot.example"
    assert settings.exchange == "paper"


# with_generated_secrets


def _settings(data_dir: Path, **environ: str) -> Settings:
    return load_settings({"TRADEBOT_DATA_DIR": str(data_dir), **environ})


def test_missing_secrets_are_generated_into_a_private_file_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"

    with caplog.at_level(logging.WARNING, logger="tradebot.settings"):
        settings = with_generated_secrets(_settings(data_dir))

    path = data_dir / SECRETS_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert settings.jwt_secret == stored["jwt_secret"]
    assert settings.fernet_keys == tuple(stored["fernet_keys"])
    assert settings.jwt_secret is not None
    assert len(settings.jwt_secret) >= 32
    assert len(settings.fernet_keys) == 1
    Fernet(settings.fernet_keys[0].encode())
    warnings = [r for r in caplog.records if r.name == "tradebot.settings"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "TRADEBOT_JWT_SECRET" in warnings[0].getMessage()
    assert "TRADEBOT_FERNET_KEYS" in warnings[0].getMessage()


def test_generated_secrets_pass_the_settings_validation(tmp_path: Path) -> None:
    settings = with_generated_secrets(_settings(tmp_path))

    reloaded = _settings(
        tmp_path,
        TRADEBOT_JWT_SECRET=settings.jwt_secret or "",
        TRADEBOT_FERNET_KEYS=",".join(settings.fernet_keys),
    )

    assert reloaded.jwt_secret == settings.jwt_secret


def test_a_second_call_returns_the_same_generated_secrets(tmp_path: Path) -> None:
    first = with_generated_secrets(_settings(tmp_path))
    second = with_generated_secrets(_settings(tmp_path))

    assert (second.jwt_secret, second.fernet_keys) == (first.jwt_secret, first.fernet_keys)


def test_an_explicit_jwt_secret_is_kept_while_the_fernet_keys_come_from_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    generated = with_generated_secrets(_settings(tmp_path))
    caplog.clear()

    with caplog.at_level(logging.WARNING, logger="tradebot.settings"):
        settings = with_generated_secrets(_settings(tmp_path, TRADEBOT_JWT_SECRET=JWT_SECRET))

    assert settings.jwt_secret == JWT_SECRET
    assert settings.fernet_keys == generated.fernet_keys
    (warning,) = [r for r in caplog.records if r.name == "tradebot.settings"]
    assert "TRADEBOT_FERNET_KEYS" in warning.getMessage()
    assert "TRADEBOT_JWT_SECRET" not in warning.getMessage()


def test_explicit_secrets_need_no_file_and_no_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = Fernet.generate_key().decode()
    configured = _settings(tmp_path, TRADEBOT_JWT_SECRET=JWT_SECRET, TRADEBOT_FERNET_KEYS=key)

    with caplog.at_level(logging.WARNING, logger="tradebot.settings"):
        settings = with_generated_secrets(configured)

    assert settings == configured
    assert not (tmp_path / SECRETS_FILE_NAME).exists()
    assert not [r for r in caplog.records if r.name == "tradebot.settings"]


def test_concurrent_first_starts_agree_on_one_set_of_secrets(tmp_path: Path) -> None:
    base = _settings(tmp_path / "shared")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: with_generated_secrets(base), range(8)))

    assert len({(s.jwt_secret, s.fernet_keys) for s in results}) == 1


@pytest.mark.parametrize(
    "origin", ["https://app.example/", "https://app.example/path", "https://app.example?x=1"]
)
def test_a_cors_origin_with_a_path_or_trailing_slash_is_a_config_error(origin: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"TRADEBOT_CORS_ORIGINS": origin})

    assert caught.value.variable == "TRADEBOT_CORS_ORIGINS"
