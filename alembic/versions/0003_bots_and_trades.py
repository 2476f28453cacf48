"""bot configurations, bot states and trades

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.persistence.types import Money, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, referred: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{referred}.id"], name=f"fk_{table}_{column}_{referred}", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "bot_configs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("timeframe", sa.String(8), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("initial_capital", Money(), nullable=False),
        sa.Column("daily_target_perc", sa.Float(), nullable=True),
        sa.Column("max_daily_loss_perc", sa.Float(), nullable=True),
        sa.Column("position_size_perc", sa.Float(), nullable=True),
        sa.Column("position_size_fixed", Money(), nullable=True),
        sa.Column("stop_loss_perc", sa.Float(), nullable=True),
        sa.Column("take_profit_perc", sa.Float(), nullable=True),
        sa.Column("trailing_stop_perc", sa.Float(), nullable=True),
        sa.Column("trailing_stop_active", sa.Boolean(), nullable=False),
        sa.Column("ema_fast", sa.Integer(), nullable=False),
        sa.Column("ema_slow", sa.Integer(), nullable=False),
        sa.Column("rsi_period", sa.Integer(), nullable=False),
        sa.Column("rsi_oversold", sa.Integer(), nullable=False),
        sa.Column("rsi_overbought", sa.Integer(), nullable=False),
        sa.Column("max_daily_trades", sa.Integer(), nullable=False),
        sa.Column("check_interval_seconds", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.String(32), nullable=False),
        sa.Column("ema_period", sa.Integer(), nullable=False),
        sa.Column("custom_ema_fast", sa.Integer(), nullable=True),
        sa.Column("custom_ema_slow", sa.Integer(), nullable=True),
        sa.Column("custom_rsi_period", sa.Integer(), nullable=True),
        sa.Column("custom_rsi_oversold", sa.Integer(), nullable=True),
        sa.Column("custom_rsi_overbought", sa.Integer(), nullable=True),
        sa.Column("custom_stop_loss", sa.Float(), nullable=True),
        sa.Column("custom_take_profit", sa.Float(), nullable=True),
        sa.Column("custom_trailing_stop", sa.Float(), nullable=True),
        sa.Column("position_type", sa.String(16), nullable=False),
        sa.Column("transfer_amount", Money(), nullable=True),
        sa.Column("auto_transfer_funds", sa.Boolean(), nullable=False),
        sa.Column("leverage", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bot_configs"),
        _fk("bot_configs", "user_id", "users"),
        _fk("bot_configs", "api_key_id", "api_keys"),
    )
    op.create_index("ix_bot_configs_user_id", "bot_configs", ["user_id"])
    op.create_index("ix_bot_configs_api_key_id", "bot_configs", ["api_key_id"])
    op.create_table(
        "bot_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_config_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("in_position", sa.Boolean(), nullable=False),
        sa.Column("position_side", sa.String(8), nullable=True),
        sa.Column("entry_price", Money(), nullable=True),
        sa.Column("current_position_size_coins", Money(), nullable=True),
        sa.Column("trailing_stop_price", Money(), nullable=True),
        sa.Column("max_price_since_entry", Money(), nullable=True),
        sa.Column("take_profit_price", Money(), nullable=True),
        sa.Column("stop_loss_price", Money(), nullable=True),
        sa.Column("daily_pnl", Money(), nullable=False),
        sa.Column("daily_trades_count", sa.Integer(), nullable=False),
        sa.Column("last_run_at", UTCDateTime(), nullable=True),
        sa.Column("last_error_message", sa.Text(), nullable=True),
        sa.Column("last_updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bot_states"),
        _fk("bot_states", "bot_config_id", "bot_configs"),
        _fk("bot_states", "user_id", "users"),
        sa.UniqueConstraint("bot_config_id", name="uq_bot_states_bot_config_id"),
    )
    op.create_index("ix_bot_states_user_id", "bot_states", ["user_id"])
    op.create_table(
        "trades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_config_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("binance_order_id", sa.String(64), nullable=True),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("order_type", sa.String(32), nullable=False),
        sa.Column("price", Money(), nullable=False),
        sa.Column("quantity_filled", Money(), nullable=False),
        sa.Column("quote_quantity_filled", Money(), nullable=False),
        sa.Column("commission_amount", Money(), nullable=False),
        sa.Column("commission_asset", sa.String(32), nullable=True),
        sa.Column("pnl", Money(), nullable=True),
        sa.Column("realized_pnl", Money(), nullable=True),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trades"),
        _fk("trades", "bot_config_id", "bot_configs"),
        _fk("trades", "user_id", "users"),
    )
    op.create_index("ix_trades_user_id_timestamp", "trades", ["user_id", "timestamp"])
    op.create_index("ix_trades_bot_config_id", "trades", ["bot_config_id"])


def downgrade() -> None:
    op.drop_index("ix_trades_bot_config_id", table_name="trades")
    op.drop_index("ix_trades_user_id_timestamp", table_name="trades")
    op.drop_table("trades")
    op.drop_index("ix_bot_states_user_id", table_name="bot_states")
    op.drop_table("bot_states")
    op.drop_index("ix_bot_configs_api_key_id", table_name="bot_configs")
    op.drop_index("ix_bot_configs_user_id", table_name="bot_configs")
    op.drop_table("bot_configs")
