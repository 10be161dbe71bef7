"""retention: runs, progress per binding, person holds

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "retention_run",
        sa.Column("id", BigInt, autoincrement=True, nullable=False),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.Column("finished_at", sa.String(32), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("rules", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_retention_run"),
    )
    op.create_table(
        "retention_progress",
        sa.Column("run_id", BigInt, nullable=False),
        sa.Column("binding", sa.String(400), nullable=False),
        sa.Column("rule_id", sa.String(80), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("cutoff", sa.String(32), nullable=False),
        sa.Column("deleted", sa.Integer, nullable=False),
        sa.Column("anonymised", sa.Integer, nullable=False),
        sa.Column("held", sa.Integer, nullable=False),
        sa.Column("batches", sa.Integer, nullable=False),
        sa.Column("longest_batch_ms", sa.Float, nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "binding", name="pk_retention_progress"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["retention_run.id"],
            name="fk_retention_progress_run_id_retention_run",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "retention_person_hold",
        sa.Column("id", BigInt, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("identity", sa.String(80), nullable=True),
        sa.Column("value_hash", sa.String(80), nullable=True),
        sa.Column("dataset", sa.String(80), nullable=True),
        sa.Column("table_name", sa.String(128), nullable=True),
        sa.Column("row_key", sa.String(200), nullable=True),
        sa.Column("basis", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(400), nullable=False),
        sa.Column("law", sa.String(200), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("released_at", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_retention_person_hold"),
    )
    op.create_index("ix_retention_person_hold_value_hash", "retention_person_hold", ["value_hash"])


def downgrade() -> None:
    op.drop_index("ix_retention_person_hold_value_hash", table_name="retention_person_hold")
    op.drop_table("retention_person_hold")
    op.drop_table("retention_progress")
    op.drop_table("retention_run")
