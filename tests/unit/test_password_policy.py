"""Properties of the password policy (12..256 characters, upper, lower, digit, special)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.users.errors import WeakPassword
from domain.users.password_policy import (
    MAX_LENGTH,
    MIN_LENGTH,
    RULES,
    ensure_strong_password,
    password_violations,
)

CLASSES: dict[str, str] = {
    "uppercase": string.ascii_uppercase,
    "lowercase": string.ascii_lowercase,
    "digit": string.digits,
    "special": string.punctuation,
}
MESSAGES = dict(RULES)


def _class_chars(alphabet: str) -> st.SearchStrategy[list[str]]:
    # 3..64 characters per class: four classes always give a length within 12..256.
    return st.lists(st.sampled_from(alphabet), min_size=3, max_size=64)


@st.composite
def strong_passwords(draw: st.DrawFn) -> str:
    chars = [c for alphabet in CLASSES.values() for c in draw(_class_chars(alphabet))]
    return "".join(draw(st.permutations(chars)))


def test_the_rules_are_ordered_and_named_as_the_api_reference_says() -> None:
    assert [name for name, _ in RULES] == [
        "min_length",
        "max_length",
        "uppercase",
        "lowercase",
        "digit",
        "special",
    ]
    assert (MIN_LENGTH, MAX_LENGTH) == (12, 256)


@settings(max_examples=60)
@given(strong_passwords())
def test_a_password_with_every_character_class_and_a_valid_length_has_no_violations(
    password: str,
) -> None:
    assert MIN_LENGTH <= len(password) <= MAX_LENGTH
    assert password_violations(password) == []
    ensure_strong_password(password)


@settings(max_examples=60)
@given(strong_passwords(), st.sampled_from(sorted(CLASSES)))
def test_removing_every_character_of_one_class_breaks_exactly_that_rule(
    password: str, rule: str
) -> None:
    stripped = "".join(c for c in password if c not in CLASSES[rule])

    violations = password_violations(stripped)

    assert [v for v in violations if v != "min_length"] == [rule]
    assert ("min_length" in violations) == (len(stripped) < MIN_LENGTH)


@settings(max_examples=60)
@given(st.text(max_size=MIN_LENGTH - 1))
def test_a_password_shorter_than_twelve_characters_always_reports_min_length(
    password: str,
) -> None:
    violations = password_violations(password)

    assert violations[0] == "min_length"
    assert "max_length" not in violations


@settings(max_examples=30)
@given(strong_passwords(), st.integers(min_value=1, max_value=64))
def test_a_password_longer_than_256_characters_reports_max_length_only(
    password: str, extra: int
) -> None:
    too_long = (password * (MAX_LENGTH // len(password) + 1))[: MAX_LENGTH + extra]

    assert password_violations(too_long) == ["max_length"]


@settings(max_examples=60)
@given(st.text(max_size=300))
def test_ensure_strong_password_lists_one_message_per_broken_rule(password: str) -> None:
    violations = password_violations(password)
    if not violations:
        ensure_strong_password(password)
        return

    with pytest.raises(WeakPassword) as caught:
        ensure_strong_password(password)

    messages = caught.value.details["password"]
    assert messages == [MESSAGES[rule] for rule in violations]
    assert len(set(messages)) == len(violations)


def test_a_short_lowercase_password_names_every_missing_requirement() -> None:
    with pytest.raises(WeakPassword) as caught:
        ensure_strong_password("short")

    assert caught.value.details == {
        "password": [
            "must be at least 12 characters",
            "must contain an uppercase letter",
            "must contain a digit",
            "must contain a special character",
        ]
    }


def test_whitespace_does_not_count_as_a_special_character() -> None:
    assert password_violations("Abcdefgh 123") == ["special"]
    assert password_violations("Abcdefgh\t123!") == []


def test_non_ascii_letters_count_for_their_case() -> None:
    assert password_violations("ÉCOLEécole12!") == []
