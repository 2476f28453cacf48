"""`tradebot worker`: the bot worker alone, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal

from entrypoints.container import build_container, close_container
from entrypoints.settings import Settings

log = logging.getLogger(__name__)


async def run_worker(settings: Settings) -> int:
    container = build_container(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await container.bot_worker().run(stop)
    finally:
        await close_container(container)
    return 0
