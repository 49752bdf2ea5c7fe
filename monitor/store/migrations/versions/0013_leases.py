"""One pipeline leader among any number of processes: the lease they compete for, and a log
of takeovers.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from monitor.store.schema import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("acquired_at", UTCDateTime, nullable=False),
        sa.Column("renewed_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False))
    op.create_table(
        "service_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("data", sa.Text, nullable=False))


def downgrade() -> None:
    op.drop_table("service_log")
    op.drop_table("leases")
