"""Sessions remember when they were last used, for the idle expiry.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from jobdeck.store.schema import UtcTime

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("last_seen_at", UtcTime))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("last_seen_at")
