"""The optimisation grid: ranges and lists expand to values, combinations enumerate in one
fixed order, bad ranges are named, and the cap is checked before any value exists."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.backtesting.parameter_grid import (
    MAX_COMBINATIONS,
    GridTooLarge,
    ParameterGrid,
    ValueRange,
)
from domain.errors import InvalidInput


def test_a_decimal_step_lands_exactly_on_the_maximum() -> None:
    grid = ParameterGrid.of({"stop_loss_perc": ValueRange(0.1, 0.3, 0.1)})

    assert grid.axes[0].values == (0.1, 0.2, 0.3)


def test_a_range_stops_at_the_last_step_below_its_maximum() -> None:
    grid = ParameterGrid.of({"ema_fast": ValueRange(5, 21, 5)}, whole={"ema_fast"})

    assert grid.axes[0].values == (5, 10, 15, 20)
    assert all(type(v) is int for v in grid.axes[0].values)


def test_a_list_keeps_its_values_in_the_order_given() -> None:
    grid = ParameterGrid.of({"take_profit_perc": [4, 2.5, 3]})

    assert grid.axes[0].values == (4.0, 2.5, 3.0)


@given(
    st.dictionaries(
        st.sampled_from(["ema_fast", "ema_slow", "rsi_period", "stop_loss_perc"]),
        st.lists(st.integers(1, 50), min_size=1, max_size=4, unique=True),
        min_size=1,
    )
)
def test_combinations_enumerate_like_a_product_over_the_sorted_names(
    specs: dict[str, list[int]],
) -> None:
    grid = ParameterGrid.of({name: [float(v) for v in values] for name, values in specs.items()})
    names = sorted(specs)
    expected = [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(specs[name] for name in names))
    ]

    assert grid.size == len(expected)
    assert list(grid) == expected
    assert grid.names == tuple(names)


def test_an_index_outside_the_grid_is_refused() -> None:
    grid = ParameterGrid.of({"ema_fast": [5, 6]})

    with pytest.raises(IndexError):
        grid.combination(2)


def test_a_grid_over_the_cap_says_how_many_combinations_it_would_have() -> None:
    # 10^6 * 10^6 values: counted, never generated.
    huge = ValueRange(0, 999_999, 1)

    with pytest.raises(GridTooLarge) as raised:
        ParameterGrid.of({"ema_fast": huge, "ema_slow": huge})

    assert raised.value.details == {
        "ranges": [
            "1,000,000,000,000 combinations; at most 100,000: use fewer values or larger steps"
        ]
    }


def test_a_grid_exactly_at_the_cap_is_accepted_and_one_more_is_not() -> None:
    at_cap = ParameterGrid.of(
        {"a": ValueRange(1, 1000, 1), "b": ValueRange(1, MAX_COMBINATIONS // 1000, 1)}
    )
    assert at_cap.size == MAX_COMBINATIONS

    with pytest.raises(GridTooLarge, match="Too many combinations") as raised:
        ParameterGrid.of({"a": ValueRange(1, 1000, 1), "b": ValueRange(1, 101, 1)})
    assert raised.value.details["ranges"][0].startswith("101,000 combinations")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ValueRange(1, 5, 0), "step must be above 0"),
        (ValueRange(1, 5, -1), "step must be above 0"),
        (ValueRange(5, 1, 1), "max must not be below min"),
        (ValueRange(1, float("inf"), 1), "min, max and step must be finite numbers"),
        (ValueRange(1.5, 5, 1), "min, max and step must be whole numbers"),
        (ValueRange(1, 5, 0.5), "min, max and step must be whole numbers"),
        ([], "at least one value"),
        ([5, 5.0], "each value once"),
        ([5, 6.5], "whole numbers only"),
        ([float("nan")], "whole numbers only"),
    ],
)
def test_a_bad_range_is_named_with_what_is_wrong(
    spec: ValueRange | list[float], message: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        ParameterGrid.of({"ema_fast": spec, "stop_loss_perc": [1.0]}, whole={"ema_fast"})

    assert raised.value.details == {"ranges.ema_fast": [message]}


def test_fractions_are_fine_where_whole_numbers_are_not_required() -> None:
    grid = ParameterGrid.of({"stop_loss_perc": ValueRange(0.5, 1.5, 0.5)})

    assert grid.axes[0].values == (0.5, 1.0, 1.5)


def test_an_empty_grid_is_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        ParameterGrid.of({})

    assert raised.value.details == {"ranges": ["at least one parameter"]}
