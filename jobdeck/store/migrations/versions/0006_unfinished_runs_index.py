"""The index of unfinished runs holds only those.

It serves one query, the runs left open by a process that exited; indexing every
finished run as well cost a B-tree insert per run for nothing.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"

UNFINISHED = sa.text("finished_at IS NULL")


def upgrade() -> None:
    op.drop_index("ix_runs_unfinished", table_name="runs")
    op.create_index(
        "ix_runs_unfinished",
        "runs",
        ["finished_at"],
        sqlite_where=UNFINISHED,
        postgresql_where=UNFINISHED,
    )


def downgrade() -> None:
    op.drop_index("ix_runs_unfinished", table_name="runs")
    op.create_index("ix_runs_unfinished", "runs", ["finished_at"])
