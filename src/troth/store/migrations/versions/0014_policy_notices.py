"""policy notices: which addresses (keyed hashes) were sent the notice of a published change

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "policy_notice",
        sa.Column("id", BigInt, autoincrement=True, nullable=False),
        sa.Column("policy_id", sa.String(80), nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("recipient", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("sent_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_policy_notice"),
        sa.UniqueConstraint(
            "policy_id", "version", "recipient", name="uq_policy_notice_policy_id_version_recipient"
        ),
    )


def downgrade() -> None:
    op.drop_table("policy_notice")
