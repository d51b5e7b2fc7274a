"""Problems can be unpublished: ``problems.unpublished_at`` (hidden from students, submissions kept).

Revision ID: 0002_unpublished
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_unpublished"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("problems") as batch:
        batch.add_column(sa.Column("unpublished_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("problems") as batch:
        batch.drop_column("unpublished_at")
