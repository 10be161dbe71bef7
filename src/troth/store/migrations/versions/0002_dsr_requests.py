"""data-subject requests: requests, identity hashes, key sets, store progress, restrictions

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _request_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["request_id"], ["dsr_request.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "dsr_request",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("identity_names", sa.String(400), nullable=False),
        sa.Column("identity_set", sa.String(80), nullable=False),
        sa.Column("jurisdiction", sa.String(20), nullable=True),
        sa.Column("received_at", sa.String(32), nullable=False),
        sa.Column("due_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("resolved_at", sa.String(32), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("retryable", sa.Boolean, nullable=False),
        sa.Column("result", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dsr_request"),
    )
    op.create_index("ix_dsr_request_status", "dsr_request", ["status"])
    op.create_index("ix_dsr_request_identity_set", "dsr_request", ["identity_set"])
    op.create_table(
        "dsr_identity",
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("hash", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "name", "hash", name="pk_dsr_identity"),
        _request_fk(),
    )
    op.create_table(
        "dsr_keyset",
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("table_ref", sa.String(300), nullable=False),
        sa.Column("column", sa.String(128), nullable=False),
        sa.Column("identity", sa.String(80), nullable=True),
        sa.Column("keys", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("request_id", "table_ref", "column", name="pk_dsr_keyset"),
        _request_fk(),
    )
    op.create_table(
        "dsr_store_progress",
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("connection", sa.String(80), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("counts", sa.Text, nullable=True),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "connection", name="pk_dsr_store_progress"),
        _request_fk(),
    )
    op.create_table(
        "dsr_restriction",
        sa.Column("identity_hash", sa.String(80), nullable=False),
        sa.Column("identity", sa.String(80), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=True),
        sa.Column("restricted_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("identity_hash", name="pk_dsr_restriction"),
    )


def downgrade() -> None:
    op.drop_table("dsr_restriction")
    op.drop_table("dsr_store_progress")
    op.drop_table("dsr_keyset")
    op.drop_table("dsr_identity")
    op.drop_index("ix_dsr_request_identity_set", "dsr_request")
    op.drop_index("ix_dsr_request_status", "dsr_request")
    op.drop_table("dsr_request")
