"""The README's offline walk-through, step by step, against a real `tradebot serve`:
candles imported with `tradebot data import`, the paper exchange fed by their replay,
the bot worker running inside the server (embedded default)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.live_replay import write_candles
from tests.integration.test_live_server import TRADEBOT, clean_env, running_server

PASSWORD = "Correct-Horse-9-Battery"
PAPER_KEY = "PaperKey0123456789abcdef"
PAPER_SECRET = "PaperSecret0123456789abcdefXYZ"


def test_offline_walkthrough_register_paper_key_bot_and_live_trades(tmp_path: Path) -> None:
    replay = {
        "TRADEBOT_EXCHANGE": "paper",
        "TRADEBOT_PAPER_FEED": "replay",
        "TRADEBOT_PAPER_REPLAY_SPEED": "600",  # ten one-minute candles a second
    }
    csv = tmp_path / "btc-1m.csv"
    write_candles(csv, 3000)
    env = clean_env(tmp_path, **replay)
    subprocess.run(
        [str(TRADEBOT), "db", "upgrade"], env=env, cwd=tmp_path, check=True, capture_output=True
    )
    imported = subprocess.run(
        [str(TRADEBOT), "data", "import", str(csv), "--symbol", "BTCUSDT", "--interval", "1m"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert imported.returncode == 0, imported.stderr

    with (
        running_server(tmp_path, **replay) as server,
        httpx.Client(base_url=server.base_url, timeout=10.0) as http,
    ):
        email = "walker@example.com"
        assert http.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        ).is_success
        token = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json()[
            "access_token"
        ]
        auth = {"Authorization": f"Bearer {token}"}
        key = http.post(
            "/api/v1/api-keys/",
            json={"api_key": PAPER_KEY, "secret_key": PAPER_SECRET},
            headers=auth,
        )
        assert key.status_code == 201, key.text
        bot = http.post(
            "/api/v1/bot-configs/",
            json={
                "name": "replay bot", "symbol": "BTCUSDT", "timeframe": "1m",
                "strategy": "ema_crossover", "ema_fast": 3, "ema_slow": 8,
                "stop_loss_perc": 1.0, "take_profit_perc": 1.5, "position_size_perc": 50,
                "api_key_id": key.json()["id"],
            },
            headers=auth,
        )  # fmt: skip
        assert bot.status_code == 201, bot.text
        bot_id = bot.json()["id"]
        started = http.post(f"/api/v1/bot-configs/{bot_id}/start", headers=auth)
        assert started.json()["status"] == "pending"

        deadline = time.monotonic() + 30
        trades: list[dict[str, object]] = []
        runs: set[object] = set()
        while time.monotonic() < deadline and len(trades) < 2:
            state = http.get(f"/api/v1/bot-states/{bot_id}", headers=auth).json()
            runs.add(state["last_run_at"])
            trades = http.get("/api/v1/trades/", headers=auth).json()
            time.sleep(0.3)
        assert len(trades) >= 2, server.stderr_path.read_text()[-3000:]
        assert state["status"] in {"running", "waiting"}
        assert len(runs - {None}) >= 2, "the state changes as replayed candles close"
        assert {t["bot_config_id"] for t in trades} == {bot_id}
        assert trades[-1]["side"] == "BUY"  # newest first: the first trade was an entry
        # Every round trip reconciles to the cent with its own prices and fees.
        ordered = sorted(trades, key=lambda t: (str(t["timestamp"]), int(str(t["id"]))))
        for buy, sell in zip(ordered[::2], ordered[1::2], strict=False):
            assert (buy["side"], sell["side"]) == ("BUY", "SELL")
            for trade in (buy, sell):
                notional = float(str(trade["price"])) * float(str(trade["quantity_filled"]))
                assert float(str(trade["quote_quantity_filled"])) == pytest.approx(
                    notional, abs=0.005
                )
            own = (
                float(str(sell["quote_quantity_filled"])) - float(str(sell["commission_amount"]))
                - float(str(buy["quote_quantity_filled"])) - float(str(buy["commission_amount"]))
            )  # fmt: skip
            assert float(str(sell["pnl"])) == pytest.approx(own, abs=0.005)
