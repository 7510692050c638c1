"""The first schema: jobs, runs, audit, users, sessions.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from jobdeck.store.schema import UtcTime

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("paused_by", sa.String(128)),
        sa.Column("paused_at", UtcTime),
        sa.Column("paused_until", UtcTime),
        sa.Column("interval_override", sa.Integer),
        sa.Column("interval_set_by", sa.String(128)),
        sa.Column("interval_set_at", UtcTime),
        sa.Column("total_runs", sa.Integer, nullable=False),
        sa.Column("last_run_at", UtcTime),
        sa.Column("last_duration_ms", sa.Integer),
        sa.Column("last_outcome", sa.String(16)),
        sa.Column("last_error", sa.Text),
        sa.Column("last_scheduled_at", UtcTime),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("job_name", sa.String(64), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("user", sa.String(128)),
        sa.Column("node", sa.String(128)),
        sa.Column("started_at", UtcTime, nullable=False),
        sa.Column("finished_at", UtcTime),
        sa.Column("duration_ms", sa.Integer),
        sa.Column("outcome", sa.String(16)),
        sa.Column("summary", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_runs_job_started", "runs", ["job_name", "started_at"])
    op.create_index("ix_runs_unfinished", "runs", ["finished_at"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UtcTime, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("job_name", sa.String(64)),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON),
        sa.Column("client", sa.String(64)),
    )
    op.create_index("ix_audit_job", "audit", ["job_name", "id"])
    op.create_table(
        "users",
        sa.Column("username", sa.String(128), primary_key=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", UtcTime, nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", UtcTime, nullable=False),
        sa.Column("expires_at", UtcTime, nullable=False),
    )
    op.create_index("ix_sessions_user", "sessions", ["username"])


def downgrade() -> None:
    for table in ("sessions", "users", "audit", "runs", "jobs"):
        op.drop_table(table)
