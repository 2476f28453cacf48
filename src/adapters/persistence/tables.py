"""Table definitions. Alembic migrations create them; this module only describes them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from adapters.persistence.types import Money, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("token_version", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

password_resets = Table(
    "password_resets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_password_resets_user_id", "user_id"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "user_id",
        Integer,
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("label", String(100), nullable=False, default=""),
    Column("api_key_masked", String(16), nullable=False),
    Column("encrypted_api_key", Text, nullable=False),
    Column("encrypted_secret", Text, nullable=False),
    Column("is_valid", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The paper exchange's own books: what a real exchange would hold for the user.
paper_balances = Table(
    "paper_balances",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("wallet", String(16), primary_key=True),
    Column("asset", String(32), primary_key=True),
    Column("amount", Money, nullable=False),
)

paper_orders = Table(
    "paper_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("market_type", String(16), nullable=False),
    Column("client_order_id", String(36), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", String(8), nullable=False),
    Column("type", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("amount", Money, nullable=False),
    Column("filled", Money, nullable=False),
    Column("price", Money, nullable=True),
    Column("average_price", Money, nullable=True),
    Column("fee", Money, nullable=False),
    Column("fee_asset", String(32), nullable=False),
    Column("reduce_only", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("user_id", "market_type", "client_order_id", name="uq_paper_orders_client_id"),
    Index("ix_paper_orders_open", "user_id", "status"),
)

paper_positions = Table(
    "paper_positions",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("symbol", String(32), primary_key=True),
    Column("side", String(8), nullable=False),
    Column("amount", Money, nullable=False),
    Column("entry_price", Money, nullable=False),
    Column("margin", Money, nullable=False),
    Column("leverage", Integer, nullable=False),
)

paper_leverage = Table(
    "paper_leverage",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("symbol", String(32), primary_key=True),
    Column("leverage", Integer, nullable=False),
)

bot_configs = Table(
    "bot_configs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # Deleting an API key deletes the bot configurations that trade with it (seed).
    Column("api_key_id", Integer, ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=True),
    Column("name", String(100), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("timeframe", String(8), nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("initial_capital", Money, nullable=False),
    Column("daily_target_perc", Float, nullable=True),
    Column("max_daily_loss_perc", Float, nullable=True),
    Column("position_size_perc", Float, nullable=True),
    Column("position_size_fixed", Money, nullable=True),
    Column("stop_loss_perc", Float, nullable=True),
    Column("take_profit_perc", Float, nullable=True),
    Column("trailing_stop_perc", Float, nullable=True),
    Column("trailing_stop_active", Boolean, nullable=False),
    Column("ema_fast", Integer, nullable=False),
    Column("ema_slow", Integer, nullable=False),
    Column("rsi_period", Integer, nullable=False),
    Column("rsi_oversold", Integer, nullable=False),
    Column("rsi_overbought", Integer, nullable=False),
    Column("max_daily_trades", Integer, nullable=False),
    Column("check_interval_seconds", Integer, nullable=False),
    Column("strategy", String(32), nullable=False),
    Column("ema_period", Integer, nullable=False),
    Column("custom_ema_fast", Integer, nullable=True),
    Column("custom_ema_slow", Integer, nullable=True),
    Column("custom_rsi_period", Integer, nullable=True),
    Column("custom_rsi_oversold", Integer, nullable=True),
    Column("custom_rsi_overbought", Integer, nullable=True),
    Column("custom_stop_loss", Float, nullable=True),
    Column("custom_take_profit", Float, nullable=True),
    Column("custom_trailing_stop", Float, nullable=True),
    Column("position_type", String(16), nullable=False),
    Column("transfer_amount", Money, nullable=True),
    Column("auto_transfer_funds", Boolean, nullable=False),
    Column("leverage", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_bot_configs_user_id", "user_id"),
    Index("ix_bot_configs_api_key_id", "api_key_id"),
)

bot_states = Table(
    "bot_states",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "bot_config_id",
        Integer,
        ForeignKey("bot_configs.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("in_position", Boolean, nullable=False),
    Column("position_side", String(8), nullable=True),
    Column("entry_price", Money, nullable=True),
    Column("current_position_size_coins", Money, nullable=True),
    Column("trailing_stop_price", Money, nullable=True),
    Column("max_price_since_entry", Money, nullable=True),
    Column("take_profit_price", Money, nullable=True),
    Column("stop_loss_price", Money, nullable=True),
    Column("daily_pnl", Money, nullable=False),
    Column("daily_trades_count", Integer, nullable=False),
    Column("last_run_at", UTCDateTime, nullable=True),
    Column("last_error_message", Text, nullable=True),
    Column("last_updated_at", UTCDateTime, nullable=False),
    Column("engine", JSON, nullable=True),
    Column("series_start_ms", BigInteger, nullable=True),
    Column("last_candle_ms", BigInteger, nullable=True),
    Column("signals", JSON, nullable=True),
    Column("filled_position", JSON, nullable=True),
    Column("reconciled_at", UTCDateTime, nullable=True),
    Column("funds_transferred", Boolean, nullable=False, server_default=false()),
    Column("exit_retry_reason", String(32), nullable=True),
    Column("exit_attempts", Integer, nullable=False, server_default="0"),
    # Optimistic concurrency: every write checks and bumps it (worker vs API).
    Column("version", Integer, nullable=False, server_default="0"),
    # Worker scheduling: when the bot is next due (market time, ms) and who holds it.
    Column("due_ms", BigInteger, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Index("ix_bot_states_user_id", "user_id"),
    Index("ix_bot_states_status_due_ms", "status", "due_ms"),
)

# The paper replay's anchor, shared by every process: market time replay_start_ms
# was reached at wall_start, and market time runs `speed` times faster than the wall.
paper_replay = Table(
    "paper_replay",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("replay_start_ms", BigInteger, nullable=False),
    Column("wall_start", UTCDateTime, nullable=False),
    Column("speed", Float, nullable=False),
)

trades = Table(
    "trades",
    metadata,
    Column("id", Integer, primary_key=True),
    # NULL for a manual order's fill (POST /orders), which belongs to no bot.
    Column(
        "bot_config_id", Integer, ForeignKey("bot_configs.id", ondelete="CASCADE"), nullable=True
    ),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("binance_order_id", String(64), nullable=True),
    Column("symbol", String(32), nullable=False),
    Column("side", String(8), nullable=False),
    Column("order_type", String(32), nullable=False),
    Column("price", Money, nullable=False),
    Column("quantity_filled", Money, nullable=False),
    Column("quote_quantity_filled", Money, nullable=False),
    Column("commission_amount", Money, nullable=False),
    Column("commission_asset", String(32), nullable=True),
    Column("pnl", Money, nullable=True),
    Column("realized_pnl", Money, nullable=True),
    Column("timestamp", UTCDateTime, nullable=False),
    # History is read newest first per user; the bot index serves the cascade and filter.
    Index("ix_trades_user_id_timestamp", "user_id", "timestamp"),
    Index("ix_trades_bot_config_id", "bot_config_id"),
)

# Market data, shared by every user: one row per candle, keyed by the series and its open
# time. WITHOUT ROWID on SQLite keeps the rows in key order, so a range read is one scan.
candles = Table(
    "candles",
    metadata,
    Column("exchange", String(32), primary_key=True),
    Column("market_type", String(16), primary_key=True),
    Column("symbol", String(32), primary_key=True),
    Column("interval", String(8), primary_key=True),
    Column("open_time_ms", BigInteger, primary_key=True),
    Column("open", Float, nullable=False),
    Column("high", Float, nullable=False),
    Column("low", Float, nullable=False),
    Column("close", Float, nullable=False),
    Column("volume", Float, nullable=False),
    sqlite_with_rowid=False,
)

# Ranges [start_ms, end_ms] of a series that were downloaded or imported, so they are
# not asked for again even where the exchange had no candles. Touching or overlapping
# ranges are merged into one row.
candle_coverage = Table(
    "candle_coverage",
    metadata,
    Column("exchange", String(32), primary_key=True),
    Column("market_type", String(16), primary_key=True),
    Column("symbol", String(32), primary_key=True),
    Column("interval", String(8), primary_key=True),
    Column("start_ms", BigInteger, primary_key=True),
    Column("end_ms", BigInteger, nullable=False),
)

# One row per stored backtest. What lists show is in columns; the rest of the result
# (parameters, metrics with daily and monthly results, trades, equity curve, candle
# count, gaps, test mode) is JSON, read only for a backtest's own detail.
backtests = Table(
    "backtests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("interval", String(8), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("market_type", String(16), nullable=False),
    Column("leverage", Integer, nullable=False),
    Column("strategy", String(32), nullable=False),
    Column("total_return", Float, nullable=False),
    Column("win_rate", Float, nullable=False),
    Column("total_trades", Integer, nullable=False),
    Column("parameters", JSON, nullable=False),
    Column("metrics", JSON, nullable=False),
    Column("trades", JSON, nullable=False),
    Column("equity_curve", JSON, nullable=False),
    Column("run_info", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Lists are read newest first per user.
    Index("ix_backtests_user_id_created_at", "user_id", "created_at"),
)

order_intents = Table(
    "order_intents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column(
        "bot_config_id",
        Integer,
        ForeignKey("bot_configs.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("client_order_id", String(36), nullable=False, unique=True),
    Column("symbol", String(32), nullable=False),
    Column("market_type", String(16), nullable=False),
    Column("side", String(8), nullable=False),
    Column("amount", Money, nullable=False),
    Column("reduce_only", Boolean, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("candle_open_ms", BigInteger, nullable=False),
    Column("pnl", Money, nullable=True),
    Column("status", String(16), nullable=False),
    Column("exchange_order_id", String(64), nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("filled_amount", Money, nullable=True),
    Index("ix_order_intents_status", "status", "bot_config_id"),
)

# Manual orders (POST /orders), recorded before they are sent. A row is also the request's
# idempotency record: (user_id, idempotency_key) is unique, and NULL keys never collide.
manual_orders = Table(
    "manual_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("idempotency_key", String(128), nullable=True),
    Column("request_hash", String(64), nullable=False),
    Column("client_order_id", String(36), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("market_type", String(16), nullable=False),
    Column("side", String(8), nullable=False),
    Column("type", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("exchange_order_id", String(64), nullable=True),
    Column("amount", Money, nullable=True),
    Column("filled", Money, nullable=True),
    Column("price", Money, nullable=True),
    Column("average_price", Money, nullable=True),
    Column("fee", Money, nullable=True),
    Column("fee_asset", String(32), nullable=True),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("placed_at", UTCDateTime, nullable=True),
    Column("api_key_id", Integer, nullable=True),
    UniqueConstraint("user_id", "idempotency_key", name="uq_manual_orders_idempotency_key"),
    # The follower's scan: orders still resting, and pending ones a crash may have left.
    Index("ix_manual_orders_status", "status"),
)

# Parameter optimisation jobs (POST /backtest/optimize). The request and the top-N results
# are JSON, read only for the job itself; (user_id, status) counts a user's unfinished jobs.
optimization_jobs = Table(
    "optimization_jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("request", JSON, nullable=False),
    Column("metric", String(32), nullable=False),
    Column("top_n", Integer, nullable=False),
    Column("total_sets", Integer, nullable=False),
    Column("done_sets", Integer, nullable=False),
    Column("results", JSON, nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Index("ix_optimization_jobs_user_id_status", "user_id", "status"),
)
