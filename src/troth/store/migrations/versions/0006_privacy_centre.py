"""privacy centre: one-time codes, requests filed through the centre, rate limits, downloads

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "centre_code",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("identity_hash", sa.String(80), nullable=False),
        sa.Column("code_hash", sa.String(80), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("tries", sa.Integer, nullable=False),
        sa.Column("used_at", sa.String(32), nullable=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_centre_code"),
    )
    op.create_index("ix_centre_code_identity_hash", "centre_code", ["identity_hash"])
    op.create_index("ix_centre_code_expires_at", "centre_code", ["expires_at"])
    op.create_table(
        "centre_request",
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("token_hash", sa.String(80), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("contact", sa.Text, nullable=True),
        sa.Column("details", sa.Text, nullable=True),
        sa.Column("manual_verification", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("purged_at", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["dsr_request.id"],
            name="fk_centre_request_request_id_dsr_request",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", name="pk_centre_request"),
        sa.UniqueConstraint("token_hash", name="uq_centre_request_token_hash"),
    )
    op.create_table(
        "centre_rate",
        sa.Column("bucket", sa.String(100), nullable=False),
        sa.Column("slot", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("bucket", "slot", name="pk_centre_rate"),
    )
    op.create_table(
        "centre_download",
        sa.Column("token_hash", sa.String(80), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("file", sa.String(80), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("used_at", sa.String(32), nullable=True),
        sa.Column("deleted_at", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["dsr_request.id"],
            name="fk_centre_download_request_id_dsr_request",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name="pk_centre_download"),
    )
    op.create_index("ix_centre_download_request_id", "centre_download", ["request_id"])
    op.create_index("ix_centre_download_expires_at", "centre_download", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_centre_download_expires_at", table_name="centre_download")
    op.drop_index("ix_centre_download_request_id", table_name="centre_download")
    op.drop_table("centre_download")
    op.drop_table("centre_rate")
    op.drop_table("centre_request")
    op.drop_index("ix_centre_code_expires_at", table_name="centre_code")
    op.drop_index("ix_centre_code_identity_hash", table_name="centre_code")
    op.drop_table("centre_code")
