"""Properties of the Email value object: case-insensitive, trimmed, pragmatic syntax."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.users.email import MAX_EMAIL_LENGTH, Email
from domain.users.errors import InvalidEmail

LOCAL_CHARS = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"

local_atoms = st.text(alphabet=LOCAL_CHARS, min_size=1, max_size=10)
local_parts = st.lists(local_atoms, min_size=1, max_size=3).map(".".join)
labels = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?", fullmatch=True)
domains = st.lists(labels, min_size=2, max_size=4).map(".".join)
addresses = st.builds(lambda local, domain: f"{local}@{domain}", local_parts, domains)
blanks = st.text(alphabet=" \t\n\r", max_size=3)


@settings(max_examples=60)
@given(addresses)
def test_addresses_differing_only_in_case_are_equal(address: str) -> None:
    assert Email(address.upper()) == Email(address.lower())
    assert Email(address) == Email(address.swapcase())
    assert hash(Email(address.upper())) == hash(Email(address.lower()))


@settings(max_examples=60)
@given(addresses, blanks, blanks)
def test_the_value_is_lowercase_and_stripped_of_surrounding_whitespace(
    address: str, before: str, after: str
) -> None:
    email = Email(before + address + after)

    assert email.value == address.lower()
    assert email.value == email.value.lower()
    assert email.value == email.value.strip()
    assert str(email) == email.value


def test_an_address_of_exactly_254_characters_is_accepted() -> None:
    address = "x" * 4 + "@" + ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 57])
    assert len(address) == MAX_EMAIL_LENGTH

    assert Email(address).value == address


@settings(max_examples=40)
@given(local_parts, domains)
def test_an_address_without_an_at_sign_is_invalid(local: str, domain: str) -> None:
    with pytest.raises(InvalidEmail):
        Email(local + domain)


@settings(max_examples=40)
@given(local_parts, local_parts, domains)
def test_an_address_with_two_at_signs_is_invalid(first: str, second: str, domain: str) -> None:
    with pytest.raises(InvalidEmail):
        Email(f"{first}@{second}@{domain}")


@settings(max_examples=60)
@given(addresses, st.data())
def test_an_address_with_an_inner_space_is_invalid(address: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=1, max_value=len(address) - 1))
    with pytest.raises(InvalidEmail):
        Email(address[:position] + " " + address[position:])


@pytest.mark.parametrize("blank", ["", " ", "\t\n", "@", "a@", "@example.com"])
def test_empty_or_blank_addresses_are_invalid(blank: str) -> None:
    with pytest.raises(InvalidEmail):
        Email(blank)


@settings(max_examples=30)
@given(st.integers(min_value=MAX_EMAIL_LENGTH + 1, max_value=MAX_EMAIL_LENGTH + 200))
def test_an_address_longer_than_254_characters_is_invalid(length: int) -> None:
    domain = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 57])
    local_length = length - len(domain) - 1
    address = "x" * local_length + "@" + domain
    assert len(address) == length

    with pytest.raises(InvalidEmail) as caught:
        Email(address)
    assert caught.value.details == {"email": "not a valid email address"}


@settings(max_examples=40)
@given(local_parts, domains)
def test_a_local_part_with_a_leading_dot_is_invalid(local: str, domain: str) -> None:
    with pytest.raises(InvalidEmail):
        Email(f".{local}@{domain}")


@settings(max_examples=40)
@given(local_parts, domains)
def test_a_local_part_with_a_trailing_dot_is_invalid(local: str, domain: str) -> None:
    with pytest.raises(InvalidEmail):
        Email(f"{local}.@{domain}")


@settings(max_examples=40)
@given(local_atoms, local_atoms, domains)
def test_a_local_part_with_two_consecutive_dots_is_invalid(
    left: str, right: str, domain: str
) -> None:
    with pytest.raises(InvalidEmail):
        Email(f"{left}..{right}@{domain}")


@pytest.mark.parametrize(
    "address",
    [
        "user@localhost",
        "user@-example.com",
        "user@example-.com",
        "user@example..com",
        "user@.example.com",
        "user@example.com.",
        "user@exa_mple.com",
        "us(er)@example.com",
        "us\x00er@example.com",
        "user@" + "a" * 64 + ".com",
        "üser@example.com",
    ],
)
def test_malformed_domains_and_characters_are_invalid(address: str) -> None:
    with pytest.raises(InvalidEmail):
        Email(address)
