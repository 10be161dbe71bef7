"""workers: the transactional outbox (worker_outbox), queued requests' sealed identities, and
request pause / extension (dsr_request.paused_at, paused_from, extended_at), webhook endpoints and
their deliveries, deadline notices sent (dsr_deadline_notice)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
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
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("events", sa.String(100), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("disabled_at", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_endpoint"),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", BigInt, autoincrement=True, nullable=False),
        sa.Column("endpoint_id", sa.String(16), nullable=False),
        sa.Column("event_id", BigInt, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_code", sa.Integer, nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoint.id"],
            ondelete="CASCADE",
            name="fk_webhook_delivery_endpoint_id_webhook_endpoint",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_delivery"),
        sa.UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_delivery_endpoint_id"),
    )
    op.create_index("ix_webhook_delivery_status", "webhook_delivery", ["status"])
    op.create_table(
        "dsr_deadline_notice",
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("notice", sa.String(80), nullable=False),
        sa.Column("sent_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["dsr_request.id"],
            ondelete="CASCADE",
            name="fk_dsr_deadline_notice_request_id_dsr_request",
        ),
        sa.PrimaryKeyConstraint("request_id", "notice", name="pk_dsr_deadline_notice"),
    )


def downgrade() -> None:
    op.drop_table("dsr_deadline_notice")
    op.drop_index("ix_webhook_delivery_status", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook_endpoint")
    with op.batch_alter_table("dsr_request") as batch:
        batch.drop_column("extended_at")
        batch.drop_column("paused_from")
        batch.drop_column("paused_at")
    op.drop_table("dsr_sealed")
    op.drop_index("ix_worker_outbox_pending", table_name="worker_outbox")
    op.drop_table("worker_outbox")
