"""Items and source health.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from monitor.store.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("ident", sa.String(256), nullable=False),
        sa.Column("guid", sa.Text),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("url_norm", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("title_norm", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("published_at", UTCDateTime),
        sa.Column("fetched_at", UTCDateTime, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("language", sa.String(32)),
        sa.Column("encoding", sa.String(64)),
        sa.Column("repost_of", sa.Integer, sa.ForeignKey("items.id")),
    )
    op.create_index("ix_items_source_ident", "items", ["source", "ident"], unique=True)
    op.create_index("ix_items_source_hash", "items", ["source", "content_hash"])
    op.create_index("ix_items_url_norm", "items", ["url_norm"])
    op.create_index("ix_items_title_norm", "items", ["title_norm"])
    op.create_index("ix_items_fetched_at", "items", ["fetched_at"])
    op.create_table(
        "source_health",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("status", sa.String(16)),
        sa.Column("http_status", sa.Integer),
        sa.Column("last_attempt_at", UTCDateTime),
        sa.Column("last_success_at", UTCDateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("last_warning", sa.Text),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_check_at", UTCDateTime),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("body_hash", sa.String(64)),
        sa.Column("entries_per_day", sa.Float, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("source_health")
    op.drop_table("items")
