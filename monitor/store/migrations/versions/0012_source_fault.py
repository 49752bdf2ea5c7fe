"""Source health says whose the last failure was: the host was busy and the source waited
its turn, the server was slow or down, the request was refused, or the feed was unreadable.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source_health") as batch:
        batch.add_column(sa.Column("fault", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("source_health") as batch:
        batch.drop_column("fault")
