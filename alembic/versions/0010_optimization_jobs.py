"""optimisation jobs: parameter sweeps run in the background, with their top-N results

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.persistence.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "optimization_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("top_n", sa.Integer(), nullable=False),
        sa.Column("total_sets", sa.Integer(), nullable=False),
        sa.Column("done_sets", sa.Integer(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_optimization_jobs"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_optimization_jobs_user_id_users",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_optimization_jobs_user_id_status", "optimization_jobs", ["user_id", "status"]
    )


def downgrade() -> None:
    op.drop_index("ix_optimization_jobs_user_id_status", table_name="optimization_jobs")
    op.drop_table("optimization_jobs")
