"""JwtAccessTokenCodec: HS256 only, every claim required, anything else is InvalidToken."""

from __future__ import annotations

import base64
import json
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.security.jwt_codec import JwtAccessTokenCodec
from domain.users.errors import InvalidToken
from tests.support.fakes import FakeClock

SECRET = "unit-test-secret-" + "s" * 47  # 64 characters: long enough even for HS512
OTHER_SECRET = "another-secret-" + "o" * 49
B64URL = string.ascii_letters + string.digits + "-_"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_json(value: Any) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode())


@pytest.fixture
def clock() -> FakeClock:
    # pyjwt checks exp and iat against the real time, so the fake starts at the real now.
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def codec(clock: FakeClock) -> JwtAccessTokenCodec:
    return JwtAccessTokenCodec(SECRET, clock)


_MISSING = object()


def _fresh_codec() -> JwtAccessTokenCodec:
    """For hypothesis tests, which may not use function-scoped fixtures."""
    return JwtAccessTokenCodec(SECRET, FakeClock(datetime.now(UTC)))


def _claims(clock: FakeClock, **overrides: Any) -> dict[str, Any]:
    now = int(clock.now().timestamp())
    claims: dict[str, Any] = {"sub": "7", "iat": now, "exp": now + 600, "ver": 0}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not _MISSING}


def test_an_issued_token_verifies_to_its_user_version_and_times(
    codec: JwtAccessTokenCodec, clock: FakeClock
) -> None:
    token = codec.issue(42, 3, timedelta(minutes=15))

    claims = codec.verify(token)

    issued = datetime.fromtimestamp(int(clock.now().timestamp()), UTC)
    assert claims.user_id == 42
    assert claims.token_version == 3
    assert claims.issued_at == issued
    assert claims.expires_at == issued + timedelta(minutes=15)


def test_an_issued_token_is_hs256_with_string_sub_and_integer_times(
    codec: JwtAccessTokenCodec, clock: FakeClock
) -> None:
    token = codec.issue(42, 3, timedelta(days=7))

    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, SECRET, algorithms=["HS256"])

    assert header["alg"] == "HS256"
    now = int(clock.now().timestamp())
    assert payload == {"sub": "42", "iat": now, "exp": now + 7 * 24 * 3600, "ver": 3}


def test_a_hand_built_alg_none_token_is_refused(
    codec: JwtAccessTokenCodec, clock: FakeClock
) -> None:
    header = _b64url_json({"alg": "none", "typ": "JWT"})
    payload = _b64url_json(_claims(clock))

    for token in (f"{header}.{payload}.", f"{header}.{payload}"):
        with pytest.raises(InvalidToken):
            codec.verify(token)


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_an_alg_none_header_on_a_real_token_is_refused(
    codec: JwtAccessTokenCodec, alg: str
) -> None:
    _, payload, signature = codec.issue(7, 0, timedelta(minutes=5)).split(".")
    header = _b64url_json({"alg": alg, "typ": "JWT"})

    for token in (f"{header}.{payload}.", f"{header}.{payload}.{signature}"):
        with pytest.raises(InvalidToken):
            codec.verify(token)


def test_a_pyjwt_encoded_alg_none_token_is_refused(
    codec: JwtAccessTokenCodec, clock: FakeClock
) -> None:
    token = jwt.encode(_claims(clock), None, algorithm="none")

    with pytest.raises(InvalidToken):
        codec.verify(token)


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_a_token_signed_with_the_same_secret_but_another_hmac_is_refused(
    codec: JwtAccessTokenCodec, clock: FakeClock, alg: str
) -> None:
    token = jwt.encode(_claims(clock), SECRET, algorithm=alg)

    with pytest.raises(InvalidToken):
        codec.verify(token)


def test_a_token_signed_with_another_secret_is_refused(clock: FakeClock) -> None:
    foreign = JwtAccessTokenCodec(OTHER_SECRET, clock).issue(7, 0, timedelta(minutes=5))
    hand_made = jwt.encode(_claims(clock), OTHER_SECRET, algorithm="HS256")

    for token in (foreign, hand_made):
        with pytest.raises(InvalidToken):
            JwtAccessTokenCodec(SECRET, clock).verify(token)


@pytest.mark.parametrize("lifetime", [timedelta(minutes=-5), timedelta(days=-30)])
def test_an_expired_token_is_refused(codec: JwtAccessTokenCodec, lifetime: timedelta) -> None:
    token = codec.issue(7, 0, lifetime)

    with pytest.raises(InvalidToken):
        codec.verify(token)


def test_a_token_that_verified_once_is_refused_once_it_expires(clock: FakeClock) -> None:
    now = [clock.now().timestamp()]
    codec = JwtAccessTokenCodec(SECRET, clock, wall_time=lambda: now[0])
    token = codec.issue(7, 3, timedelta(minutes=5))
    assert codec.verify(token).user_id == 7

    now[0] += 299
    assert codec.verify(token).token_version == 3
    now[0] += 1
    with pytest.raises(InvalidToken):
        codec.verify(token)


def test_a_remembered_token_does_not_vouch_for_a_tampered_copy(
    codec: JwtAccessTokenCodec,
) -> None:
    token = codec.issue(7, 0, timedelta(minutes=5))
    codec.verify(token)
    header, _, signature = token.split(".")
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    forged = ".".join([header, _b64url_json({**claims, "sub": "8"}), signature])

    with pytest.raises(InvalidToken):
        codec.verify(forged)
    assert codec.verify(token).user_id == 7


def test_a_token_issued_in_the_future_is_refused(
    codec: JwtAccessTokenCodec, clock: FakeClock
) -> None:
    now = int(clock.now().timestamp())
    token = jwt.encode(_claims(clock, iat=now + 3600, exp=now + 7200), SECRET, algorithm="HS256")

    with pytest.raises(InvalidToken):
        codec.verify(token)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b.c",
        "a.b",
        "..",
        "...",
        "Bearer abc",
        "eyJhbGciOiJIUzI1NiJ9..",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        f"{_b64url(b'[]')}.e30.c2ln",
        f"{_b64url(b'not json')}.e30.c2ln",
        "\u00e9\u00e8.\u00e0.\u00fc",
    ],
)
def test_malformed_strings_are_refused(codec: JwtAccessTokenCodec, token: str) -> None:
    with pytest.raises(InvalidToken):
        codec.verify(token)


@settings(max_examples=50)
@given(st.binary(max_size=200))
def test_random_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidToken):
        _fresh_codec().verify(data.decode("latin-1"))


@settings(max_examples=50)
@given(st.lists(st.binary(max_size=80), min_size=3, max_size=3))
def test_three_random_base64_segments_are_refused(segments: list[bytes]) -> None:
    with pytest.raises(InvalidToken):
        _fresh_codec().verify(".".join(_b64url(s) for s in segments))


@settings(max_examples=50)
@given(st.text(max_size=200))
def test_random_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidToken):
        _fresh_codec().verify(text)


@pytest.mark.parametrize("missing", ["sub", "iat", "exp", "ver"])
def test_a_correctly_signed_token_missing_a_claim_is_refused(
    codec: JwtAccessTokenCodec, clock: FakeClock, missing: str
) -> None:
    token = jwt.encode(_claims(clock, **{missing: _MISSING}), SECRET, algorithm="HS256")

    with pytest.raises(InvalidToken):
        codec.verify(token)


@pytest.mark.parametrize("sub", ["abc", "1.5", "", "0", "-3", "1e3", 7, None, [7]])
def test_a_correctly_signed_token_whose_sub_is_not_a_positive_integer_string_is_refused(
    codec: JwtAccessTokenCodec, clock: FakeClock, sub: object
) -> None:
    token = jwt.encode(_claims(clock, sub=sub), SECRET, algorithm="HS256")

    with pytest.raises(InvalidToken):
        codec.verify(token)


@pytest.mark.parametrize("ver", ["1", True, False, 1.5, None, [1]])
def test_a_correctly_signed_token_whose_version_is_not_an_integer_is_refused(
    codec: JwtAccessTokenCodec, clock: FakeClock, ver: object
) -> None:
    token = jwt.encode(_claims(clock, ver=ver), SECRET, algorithm="HS256")

    with pytest.raises(InvalidToken):
        codec.verify(token)


def test_a_correctly_signed_hand_made_token_with_all_claims_is_accepted(
    codec: JwtAccessTokenCodec, clock: FakeClock
) -> None:
    token = jwt.encode(_claims(clock, sub="9", ver=4), SECRET, algorithm="HS256")

    claims = codec.verify(token)

    assert (claims.user_id, claims.token_version) == (9, 4)


@settings(max_examples=60)
@given(st.data())
def test_changing_one_character_of_the_payload_invalidates_the_token(data: st.DataObject) -> None:
    codec = _fresh_codec()
    header, payload, signature = codec.issue(42, 3, timedelta(minutes=15)).split(".")
    index = data.draw(st.integers(min_value=0, max_value=len(payload) - 1))
    replacement = data.draw(st.sampled_from(B64URL.replace(payload[index], "")))
    tampered = payload[:index] + replacement + payload[index + 1 :]

    with pytest.raises(InvalidToken):
        codec.verify(f"{header}.{tampered}.{signature}")


def test_a_payload_rewritten_to_another_user_keeps_a_signature_that_no_longer_matches(
    codec: JwtAccessTokenCodec, clock: FakeClock
) -> None:
    header, _, signature = codec.issue(42, 3, timedelta(minutes=15)).split(".")
    forged = _b64url_json(_claims(clock, sub="1", ver=3))

    with pytest.raises(InvalidToken):
        codec.verify(f"{header}.{forged}.{signature}")


@pytest.mark.parametrize("length", [0, 1, 16, 31])
def test_a_secret_shorter_than_32_characters_is_rejected(clock: FakeClock, length: int) -> None:
    with pytest.raises(ValueError, match="32"):
        JwtAccessTokenCodec("k" * length, clock)


def test_a_secret_of_exactly_32_characters_is_accepted(clock: FakeClock) -> None:
    codec = JwtAccessTokenCodec("k" * 32, clock)

    assert codec.verify(codec.issue(1, 0, timedelta(minutes=1))).user_id == 1


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_a_signed_token_with_an_out_of_range_timestamp_is_refused_as_invalid(
    codec: JwtAccessTokenCodec, clock: FakeClock, claim: str
) -> None:
    value = 10**20 if claim == "exp" else -(10**20)
    token = jwt.encode(_claims(clock, **{claim: value}), SECRET, algorithm="HS256")

    with pytest.raises(InvalidToken):
        codec.verify(token)
