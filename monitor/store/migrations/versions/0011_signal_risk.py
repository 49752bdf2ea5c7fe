"""Signals carry risk apart from tone: the risk score, and the cues that explain both (the
risk categories an item touches and what raised its negativity).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signals") as batch:
        batch.add_column(sa.Column("risk", sa.Float, nullable=False, server_default="0"))
        batch.add_column(sa.Column("cues", sa.Text, nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("signals") as batch:
        batch.drop_column("cues")
        batch.drop_column("risk")
