"""Reading Server-Sent Events in tests: frames as dicts, keep-alive comments included."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx


class SseReader:
    def __init__(self, response: httpx.Response) -> None:
        self._lines: AsyncIterator[str] = response.aiter_lines()

    async def next_frame(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next frame: {"comment": ...} or {"id", "event", "data"} (data decoded)."""
        frame: dict[str, Any] = {}
        while True:
            line = await asyncio.wait_for(anext(self._lines), timeout)
            if line == "":
                if frame:
                    return frame
                continue
            if line.startswith(":"):
                return {"comment": line[1:].strip()}
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                frame["data"] = json.loads(value)
            elif field == "id":
                frame["id"] = int(value)
            elif field == "event":
                frame["event"] = value

    async def next_event(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next frame that is an event (keep-alive comments skipped)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            frame = await self.next_frame(max(left, 0.01))
            if "comment" not in frame:
                return frame
