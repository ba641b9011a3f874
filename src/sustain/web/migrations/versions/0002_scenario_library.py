"""The scenario library of the browser pages: saved scenarios, their versions, and which
version each run from the pages was made on.

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


def upgrade() -> None:
    """Create the three tables of the library."""
    op.create_table(
        "saved_scenarios",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "scenario_versions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("saved_id", sa.Integer(), sa.ForeignKey("saved_scenarios.id"),
                  nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("scenario_sha256", sa.String(64), sa.ForeignKey("scenarios.sha256"),
                  nullable=False),
        sa.Column("note", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("saved_id", "number"),
    )
    op.create_index("ix_scenario_versions_saved_id", "scenario_versions", ["saved_id"])
    op.create_table(
        "version_runs",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("scenario_versions.id"),
                  nullable=False),
    )
    op.create_index("ix_version_runs_version_id", "version_runs", ["version_id"])


def downgrade() -> None:
    """Drop the library's tables."""
    op.drop_table("version_runs")
    op.drop_table("scenario_versions")
    op.drop_table("saved_scenarios")
