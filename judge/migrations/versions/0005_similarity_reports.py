"""Similarity reports: the class's similar submissions, compared by a judge worker.

Revision ID: 0005_similarity_reports
Revises: 0004_lti
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_similarity_reports"
down_revision = "0004_lti"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "similarity_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signature", sa.String(length=255), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_similarity_reports_created", "similarity_reports", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_similarity_reports_created", table_name="similarity_reports")
    op.drop_table("similarity_reports")
