"""outbound notices: Art. 19 notices to recipients and consent withdrawals pushed to services

Revision ID: 0013
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbound_notice",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("ref", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("recipient", sa.String(80), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("sealed", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("sent_at", sa.String(32), nullable=True),
        sa.Column("error", sa.String(400), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbound_notice"),
        sa.UniqueConstraint("ref", "recipient", "kind", name="uq_outbound_notice"),
    )
    op.create_index("ix_outbound_notice_status", "outbound_notice", ["status"])
    op.create_table(
        "outbound_notice_subject",
        sa.Column("notice_id", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("notice_id", "subject", name="pk_outbound_notice_subject"),
    )
    op.create_index("ix_outbound_notice_subject_subject", "outbound_notice_subject", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_outbound_notice_subject_subject", "outbound_notice_subject")
    op.drop_table("outbound_notice_subject")
    op.drop_index("ix_outbound_notice_status", "outbound_notice")
    op.drop_table("outbound_notice")
