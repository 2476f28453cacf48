"""`GET /metrics` adds up all worker processes of `tradebot serve --workers N`.

The prometheus client does that through files in `PROMETHEUS_MULTIPROC_DIR`; it
reads the variable when first imported, so it is set here, in the parent, before
uvicorn starts the workers. An operator who sets it themselves (to count a separate
`tradebot worker` too) owns that directory and must empty it before each start.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from adapters.metrics.exposition import MULTIPROCESS_DIR_VARIABLE


@contextmanager
def metrics_shared_by(workers: int) -> Iterator[None]:
    if workers == 1 or os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        yield
        return
    directory = tempfile.mkdtemp(prefix="tradebot-metrics-")
    os.environ[MULTIPROCESS_DIR_VARIABLE] = directory
    try:
        yield
    finally:
        os.environ.pop(MULTIPROCESS_DIR_VARIABLE, None)
        shutil.rmtree(directory, ignore_errors=True)
