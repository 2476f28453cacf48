"""Crash points for the crash-safety tests, off unless TRADEBOT_FAILPOINTS is set.

`TRADEBOT_FAILPOINTS="intents_committed=2,order_sent=1"` makes the process SIGKILL
itself the 2nd time intents are committed, or the 1st time an order comes back from
the exchange, whichever comes first: no cleanup runs, as in a power cut.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Callable, Mapping

VARIABLE = "TRADEBOT_FAILPOINTS"


def failpoints(environ: Mapping[str, str] | None = None) -> Callable[[str], None] | None:
    spec = (os.environ if environ is None else environ).get(VARIABLE, "").strip()
    if not spec:
        return None
    limits: dict[str, int] = {}
    for part in spec.split(","):
        name, _, count = part.partition("=")
        limits[name.strip()] = int(count or 1)
    reached: Counter[str] = Counter()

    def checkpoint(point: str) -> None:
        reached[point] += 1
        if reached[point] == limits.get(point):
            os.kill(os.getpid(), signal.SIGKILL)

    return checkpoint
