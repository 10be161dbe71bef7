"""breach register: personal data breaches, their 72-hour clock and notifications

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "breach",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("detected_at", sa.String(32), nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("nature", sa.String(40), nullable=False),
        sa.Column("tables", sa.Text, nullable=False),
        sa.Column("categories", sa.Text, nullable=False),
        sa.Column("affected", sa.Text, nullable=False),
        sa.Column("risk", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("contained_at", sa.String(32), nullable=True),
        sa.Column("authority_notified_at", sa.String(32), nullable=True),
        sa.Column("people_notified_at", sa.String(32), nullable=True),
        sa.Column("closed_at", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_breach"),
    )


def downgrade() -> None:
    op.drop_table("breach")
