"""The ceiling of benchmarks/http_load.py: a bare Litestar app, one JSON GET route.

Served like `tradebot serve` (uvicorn, same workers, host, access log off, no server
header), so the ratio of an API route to it is what our app costs on top of the
framework and the server.

    uvicorn benchmarks.bare_litestar_app:app --workers 2
"""

from __future__ import annotations

from litestar import Litestar, get


@get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "healthy", "service": "bare-litestar"}


app = Litestar([ping], logging_config=None, debug=False)
