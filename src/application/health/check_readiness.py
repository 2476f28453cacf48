from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from domain.ports.readiness_probe import ReadinessProbe


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    checks: dict[str, str]


class CheckReadiness:
    """Ask every dependency at once, each within a time limit; ready only when all answer."""

    def __init__(self, probes: Sequence[ReadinessProbe], timeout_seconds: float = 2.0) -> None:
        self._probes = probes
        self._timeout = timeout_seconds

    async def execute(self) -> Readiness:
        results = await asyncio.gather(*(self._check(probe) for probe in self._probes))
        checks = dict(results)
        return Readiness(ready=all(v == "ok" for v in checks.values()), checks=checks)

    async def _check(self, probe: ReadinessProbe) -> tuple[str, str]:
        try:
            await asyncio.wait_for(probe.check(), self._timeout)
        except TimeoutError:
            return probe.name, "timeout"
        except Exception as exc:
            return probe.name, f"unavailable: {type(exc).__name__}"
        return probe.name, "ok"
