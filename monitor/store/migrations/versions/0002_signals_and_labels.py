"""Signals (analysis results) and labels (human feedback).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from monitor.store.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signals",
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("health", sa.Boolean, nullable=False),
        sa.Column("health_score", sa.Float, nullable=False),
        sa.Column("topics", sa.Text, nullable=False),
        sa.Column("negative", sa.Float, nullable=False),
        sa.Column("plans", sa.Text, nullable=False),
        sa.Column("places", sa.Text, nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("analysed_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_signals_health", "signals", ["health"])
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), nullable=False),
        sa.Column("relevant", sa.Boolean, nullable=False),
        sa.Column("topics", sa.Text),
        sa.Column("negative", sa.Boolean),
        sa.Column("labelled_by", sa.String(64), nullable=False),
        sa.Column("labelled_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_labels_item", "labels", ["item_id"])


def downgrade() -> None:
    op.drop_table("labels")
    op.drop_table("signals")
