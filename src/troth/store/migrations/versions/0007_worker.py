"""workers: the transactional outbox (worker_outbox), queued requests' sealed identities, and
request pause / extension (dsr_request.paused_at, paused_from, extended_at)

Revision ID: 0007
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "worker_outbox",
        sa.Column("id", BigInt, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(60), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("not_before", sa.String(32), nullable=True),
        sa.Column("claimed_until", sa.String(32), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("sent_at", sa.String(32), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_worker_outbox"),
    )
    op.create_index("ix_worker_outbox_pending", "worker_outbox", ["sent_at", "id"])
    op.create_table(
        "dsr_sealed",
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("blob", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["dsr_request.id"],
            ondelete="CASCADE",
            name="fk_dsr_sealed_request_id_dsr_request",
        ),
        sa.PrimaryKeyConstraint("request_id", name="pk_dsr_sealed"),
    )

    with op.batch_alter_table("dsr_request") as batch:
        batch.add_column(sa.Column("paused_at", sa.String(32), nullable=True))
        batch.add_column(sa.Column("paused_from", sa.String(20), nullable=True))
        batch.add_column(sa.Column("extended_at", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dsr_request") as batch:
        batch.drop_column("extended_at")
        batch.drop_column("paused_from")
        batch.drop_column("paused_at")
    op.drop_table("dsr_sealed")
    op.drop_index("ix_worker_outbox_pending", table_name="worker_outbox")
    op.drop_table("worker_outbox")
