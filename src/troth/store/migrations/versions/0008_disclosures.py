"""disclosure register (disclosure_batch, disclosure) and legal requests: what left, to whom

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "disclosure_batch",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(80), nullable=False),
        sa.Column("purpose", sa.String(80), nullable=False),
        sa.Column("source", sa.String(260), nullable=True),
        sa.Column("disclosed_at", sa.String(32), nullable=False),
        sa.Column("legal_basis", sa.String(200), nullable=True),
        sa.Column("authority", sa.String(200), nullable=True),
        sa.Column("legal_reference", sa.String(200), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("legal_request", sa.String(32), nullable=True),
        sa.Column("shapes", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_disclosure_batch"),
    )
    op.create_table(
        "disclosure",
        sa.Column("id", BigInt, autoincrement=True, nullable=False),
        sa.Column("batch", sa.String(32), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("shape", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_disclosure"),
    )
    op.create_index("ix_disclosure_subject", "disclosure", ["subject"])
    op.create_table(
        "legal_request",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(80), nullable=False),
        sa.Column("purpose", sa.String(80), nullable=False),
        sa.Column("authority", sa.String(200), nullable=False),
        sa.Column("basis", sa.String(200), nullable=False),
        sa.Column("reference", sa.String(200), nullable=True),
        sa.Column("categories", sa.String(2000), nullable=False),
        sa.Column("confidential", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(400), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("requested_at", sa.String(32), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_at", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_legal_request"),
    )


def downgrade() -> None:
    op.drop_table("legal_request")
    op.drop_index("ix_disclosure_subject", table_name="disclosure")
    op.drop_table("disclosure")
    op.drop_table("disclosure_batch")
