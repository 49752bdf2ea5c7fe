"""Response clocks: the frozen policy per incident, deadlines, due actions and the outbox.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from monitor.store.schema import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clocks",
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("start_rule", sa.String(16), nullable=False),
        sa.Column("detected_at", UTCDateTime, nullable=False),
        sa.Column("first_item_at", UTCDateTime, nullable=False),
        sa.Column("occurred_at", UTCDateTime),
        sa.Column("start_at", UTCDateTime, nullable=False),
        sa.Column("level", sa.String(4), nullable=False),
        sa.Column("level_confirmed", sa.Boolean, nullable=False),
        sa.Column("acknowledged_at", UTCDateTime),
        sa.Column("acknowledged_by", sa.String(64)),
        sa.Column("stopped", sa.String(16)),
    )
    op.create_table(
        "deadlines",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("met_by", sa.Text, nullable=False),
        sa.Column("hard", sa.Boolean, nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("met_at", UTCDateTime),
        sa.Column("missed_at", UTCDateTime),
    )
    op.create_index("ux_deadlines_incident_key", "deadlines", ["incident_id", "key"],
                    unique=True)
    op.create_table(
        "due_actions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("deadline_key", sa.String(32)),
        sa.Column("step", sa.Integer),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("done_at", UTCDateTime),
    )
    op.create_index("ix_due_actions_pending", "due_actions", ["status", "due_at"])
    op.create_index("ix_due_actions_incident", "due_actions", ["incident_id", "status"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(128), nullable=False, unique=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("person", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("channels", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_at", UTCDateTime),
    )
    op.create_index("ix_outbox_status", "outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    for table in ("outbox", "due_actions", "deadlines", "clocks"):
        op.drop_table(table)
