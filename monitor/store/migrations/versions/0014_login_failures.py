"""Failed sign-ins in the database, so that every process of the service throttles alike.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from monitor.store.schema import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False))
    op.create_index("ix_login_failures_key", "login_failures", ["key", "at"])


def downgrade() -> None:
    op.drop_index("ix_login_failures_key", "login_failures")
    op.drop_table("login_failures")
