"""stored reports

The program report counted ahead by `tracker reports refresh` (a nightly job), with the audit
trail's last event id of the snapshot it was counted on; served while it is exactly what is
asked (docs/reports.md "Stored reports").

Revision ID: 5b0c7e31d9a4
Revises: 35e7da270ab3
Create Date: 2026-12-02 00:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tracker.db

revision: str = '5b0c7e31d9a4'
down_revision: str | None = '35e7da270ab3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('stored_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('rule_set', sa.String(length=40), nullable=True),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('counted_at', tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('watermark', sa.Integer(), nullable=False),
    sa.Column('milliseconds', sa.Integer(), nullable=False),
    sa.Column('report', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_reports')),
    sa.UniqueConstraint('first_day', 'last_day', 'rule_set',
                        name=op.f('uq_stored_reports_period'))
    )


def downgrade() -> None:
    op.drop_table('stored_reports')
