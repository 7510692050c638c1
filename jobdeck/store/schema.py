"""The tables, in SQLAlchemy Core. Changes to them go through a new migration."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Times are stored as timezone-aware UTC; SQLite keeps them as ISO text via UtcTime.


class UtcTime(sa.types.TypeDecorator[object]):
    """A UTC instant that reads back aware on every backend (SQLite has no zones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: object, dialect: sa.Dialect) -> object:
        from datetime import UTC, datetime

        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError("naive datetimes are refused: store UTC instants")
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: object, dialect: sa.Dialect) -> object:
        from datetime import UTC, datetime

        if isinstance(value, datetime):
            if value.tzinfo is None:
                return value.replace(tzinfo=UTC)
            return value.astimezone(UTC)
        return value


jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("paused", sa.Boolean, nullable=False, default=False),
    sa.Column("paused_by", sa.String(128)),
    sa.Column("paused_at", UtcTime),
    sa.Column("paused_until", UtcTime),
    sa.Column("interval_override", sa.Integer),
    sa.Column("interval_set_by", sa.String(128)),
    sa.Column("interval_set_at", UtcTime),
    sa.Column("total_runs", sa.Integer, nullable=False, default=0),
    sa.Column("last_run_at", UtcTime),
    sa.Column("last_duration_ms", sa.Integer),
    sa.Column("last_outcome", sa.String(16)),
    sa.Column("last_error", sa.Text),
    sa.Column("last_scheduled_at", UtcTime),
    sa.Column("last_summary", sa.Text),
)

runs = sa.Table(
    "runs",
    metadata,
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
    sa.Column("log", sa.Text),
    sa.Column("traceback", sa.Text),
    sa.Index("ix_runs_job_started", "job_name", "started_at"),
    sa.Index(
        "ix_runs_unfinished",
        "finished_at",
        sqlite_where=sa.text("finished_at IS NULL"),
        postgresql_where=sa.text("finished_at IS NULL"),
    ),
)

audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UtcTime, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("job_name", sa.String(64)),
    sa.Column("before", sa.JSON),
    sa.Column("after", sa.JSON),
    sa.Column("client", sa.String(64)),
    sa.Index("ix_audit_job", "job_name", "id"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("username", sa.String(128), primary_key=True),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", UtcTime, nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(128), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UtcTime, nullable=False),
    sa.Column("expires_at", UtcTime, nullable=False),
    sa.Column("last_seen_at", UtcTime),
    sa.Index("ix_sessions_user", "username"),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", UtcTime, nullable=False),
    sa.Column("expires_at", UtcTime),
)
