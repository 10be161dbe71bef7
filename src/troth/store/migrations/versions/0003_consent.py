"""consent ledger (consent_event) and troth serve's API keys (api_key)

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "consent_event",
        sa.Column("id", BigInt, autoincrement=True, nullable=False),
        sa.Column("event_uid", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("consent_id", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("notice_version", sa.String(40), nullable=False),
        sa.Column("notice_hash", sa.String(64), nullable=False),
        sa.Column("event_time", sa.String(32), nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(80), nullable=False),
        sa.Column("collection_point", sa.String(80), nullable=True),
        sa.Column("jurisdiction", sa.String(20), nullable=True),
        sa.Column("gpc", sa.Boolean, nullable=False),
        sa.Column("user_agent", sa.String(400), nullable=True),
        sa.Column("ip_hash", sa.String(80), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_consent_event"),
        sa.UniqueConstraint("event_uid", name="uq_consent_event_event_uid"),
    )
    op.create_index("ix_consent_event_subject_consent", "consent_event", ["subject", "consent_id"])
    op.create_table(
        "api_key",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(80), nullable=False),
        sa.Column("scopes", sa.String(400), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("revoked_at", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_key"),
    )


def downgrade() -> None:
    op.drop_table("api_key")
    op.drop_index("ix_consent_event_subject_consent", table_name="consent_event")
    op.drop_table("consent_event")
