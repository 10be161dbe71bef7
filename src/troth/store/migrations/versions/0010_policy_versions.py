"""policy versions: every published version of a policy, its text, hash and what it changed

Revision ID: 0010
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0005"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "policy_version",
        sa.Column("id", BigInt, autoincrement=True, nullable=False),
        sa.Column("policy_id", sa.String(80), nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("effective", sa.String(32), nullable=True),
        sa.Column("published_at", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("impact", sa.Text, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_policy_version"),
        sa.UniqueConstraint("policy_id", "version", name="uq_policy_version_policy_id_version"),
    )


def downgrade() -> None:
    op.drop_table("policy_version")
