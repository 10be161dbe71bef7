"""audit ledger keyed with a MAC: audit_entry.ref (the audited row) and audit_head.key_id

Revision ID: 0005
Revises: 0004

Existing entries keep their unkeyed hashes until ``troth audit upgrade`` re-chains them with the
MAC (it needs the secret key, which a migration does not have); until then appends are refused.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entry") as batch:
        batch.add_column(sa.Column("ref", sa.String(120), nullable=True))
    op.create_index("ix_audit_entry_ref", "audit_entry", ["ref"])
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("key_id", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_index("ix_audit_entry_ref", table_name="audit_entry")
    with op.batch_alter_table("audit_entry") as batch:
        batch.drop_column("ref")
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("key_id")
