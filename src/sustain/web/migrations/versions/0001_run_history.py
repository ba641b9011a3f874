"""The run history: scenarios, their files, runs.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the three tables."""
    op.create_table(
        "scenarios",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "scenario_files",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("scenario_sha256", sa.String(64), sa.ForeignKey("scenarios.sha256"),
                  nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("scenario_sha256", "path"),
    )
    op.create_index("ix_scenario_files_scenario_sha256", "scenario_files", ["scenario_sha256"])
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("scenario_sha256", sa.String(64), sa.ForeignKey("scenarios.sha256"),
                  nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("sustain_version", sa.String(64), nullable=False),
        sa.Column("background", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
    )
    for column in ("kind", "status", "scenario_sha256", "created_at"):
        op.create_index(f"ix_runs_{column}", "runs", [column])


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("runs")
    op.drop_table("scenario_files")
    op.drop_table("scenarios")
