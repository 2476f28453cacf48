"""The grid of an optimisation: every combination of some parameters' values, in one
fixed order, and never more combinations than the cap."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext

from domain.errors import InvalidInput

MAX_COMBINATIONS = 100_000

Value = int | float


class GridTooLarge(InvalidInput):
    message = "Too many combinations"


@dataclass(frozen=True, slots=True)
class ValueRange:
    """minimum, minimum + step, ... up to maximum (included when a step lands on it)."""

    minimum: float
    maximum: float
    step: float


@dataclass(frozen=True, slots=True)
class Axis:
    name: str
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class ParameterGrid:
    """Axes sorted by name; combination i is the i-th of itertools.product over them
    (the last axis changes fastest), so a grid always enumerates in the same order."""

    axes: tuple[Axis, ...]

    @classmethod
    def of(
        cls,
        specs: Mapping[str, ValueRange | Sequence[float]],
        whole: Collection[str] = (),
        cap: int = MAX_COMBINATIONS,
    ) -> ParameterGrid:
        """The grid of `specs` (a range or an explicit list of values per parameter);
        the parameters in `whole` take whole numbers only. InvalidInput names the
        `ranges.<name>` at fault; GridTooLarge says how many combinations there
        would be, before any value is generated."""
        if not specs:
            raise InvalidInput("Validation failed", details={"ranges": ["at least one parameter"]})
        problems: dict[str, list[str]] = {}
        counts: dict[str, int] = {}
        for name, spec in specs.items():
            problem = _problem(spec, name in whole)
            if problem:
                problems[f"ranges.{name}"] = [problem]
            else:
                counts[name] = _count(spec)
        if problems:
            raise InvalidInput("Validation failed", details=problems)
        size = math.prod(counts.values())
        if size > cap:
            raise GridTooLarge(
                details={
                    "ranges": [
                        f"{size:,} combinations; at most {cap:,}: use fewer values or larger steps"
                    ]
                }
            )
        return cls(tuple(Axis(name, _values(specs[name], name in whole)) for name in sorted(specs)))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(axis.name for axis in self.axes)

    @property
    def size(self) -> int:
        return math.prod(len(axis.values) for axis in self.axes)

    def combination(self, index: int) -> dict[str, Value]:
        if not 0 <= index < self.size:
            raise IndexError(index)
        chosen: dict[str, Value] = {}
        for axis in reversed(self.axes):
            index, position = divmod(index, len(axis.values))
            chosen[axis.name] = axis.values[position]
        return {name: chosen[name] for name in self.names}

    def __iter__(self) -> Iterator[dict[str, Value]]:
        return (self.combination(i) for i in range(self.size))


def _problem(spec: ValueRange | Sequence[float], whole: bool) -> str | None:
    kind = "whole numbers" if whole else "numbers"
    if isinstance(spec, ValueRange):
        bounds = (spec.minimum, spec.maximum, spec.step)
        if not all(math.isfinite(v) for v in bounds):
            return "min, max and step must be finite numbers"
        if spec.step <= 0:
            return "step must be above 0"
        if spec.maximum < spec.minimum:
            return "max must not be below min"
        if whole and not all(float(v).is_integer() for v in bounds):
            return "min, max and step must be whole numbers"
        return None
    if len(spec) == 0:
        return "at least one value"
    if not all(math.isfinite(v) for v in spec) or (
        whole and not all(float(v).is_integer() for v in spec)
    ):
        return f"{kind} only"
    if len(set(spec)) != len(spec):
        return "each value once"
    return None


def _count(spec: ValueRange | Sequence[float]) -> int:
    if not isinstance(spec, ValueRange):
        return len(spec)
    # Decimal steps, so that 0.1 to 0.3 by 0.1 has three values, not two.
    with localcontext() as context:
        context.prec = 60
        span = (_decimal(spec.maximum) - _decimal(spec.minimum)) / _decimal(spec.step)
        return int(span.to_integral_value(ROUND_FLOOR)) + 1


def _values(spec: ValueRange | Sequence[float], whole: bool) -> tuple[Value, ...]:
    if isinstance(spec, ValueRange):
        first, step = _decimal(spec.minimum), _decimal(spec.step)
        with localcontext() as context:
            context.prec = 60
            decimals = [first + i * step for i in range(_count(spec))]
        return tuple(int(v) if whole else float(v) for v in decimals)
    return tuple(int(v) if whole else float(v) for v in spec)


def _decimal(value: float) -> Decimal:
    return Decimal(repr(float(value)))
