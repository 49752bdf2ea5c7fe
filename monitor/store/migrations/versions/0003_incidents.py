"""Stories, incidents, their items, the timeline, stage cursors.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from monitor.store.schema import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "item_stories",
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("story_id", sa.Integer, sa.ForeignKey("items.id"), nullable=False),
    )
    op.create_index("ix_item_stories_story", "item_stories", ["story_id"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("opened_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("first_item_id", sa.Integer, sa.ForeignKey("items.id"), nullable=False),
        sa.Column("first_source", sa.String(64), nullable=False),
        sa.Column("topics", sa.Text, nullable=False),
        sa.Column("keywords", sa.Text, nullable=False),
        sa.Column("places", sa.Text, nullable=False),
        sa.Column("region", sa.Text),
        sa.Column("items", sa.Integer, nullable=False),
        sa.Column("stories", sa.Integer, nullable=False),
        sa.Column("sources", sa.Integer, nullable=False),
        sa.Column("negative_share", sa.Float, nullable=False),
        sa.Column("heat", sa.Float, nullable=False),
        sa.Column("proposed_level", sa.String(4)),
        sa.Column("level", sa.String(4)),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("incidents.id")),
        sa.Column("merged_into", sa.Integer, sa.ForeignKey("incidents.id")),
    )
    op.create_index("ix_incidents_status", "incidents", ["status"])
    op.create_table(
        "incident_items",
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("added_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_incident_items_incident", "incident_items", ["incident_id"])
    op.create_table(
        "timeline",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_timeline_incident", "timeline", ["incident_id", "id"])
    op.create_table(
        "stage_cursors",
        sa.Column("stage", sa.String(32), primary_key=True),
        sa.Column("last_item_id", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("stage_cursors", "timeline", "incident_items", "incidents", "item_stories"):
        op.drop_table(table)
