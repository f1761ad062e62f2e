"""patient reminders and the notice outbox

Patients get an optional email address, the language of their reminders (en or es, English by
default) and a reminder opt-out. `notices` is the outbox of `tracker notify run`: one row per
notice under a unique key (the same notice is never queued twice), with its status, attempts,
next attempt time and last error.

The new patient columns are added in place (ALTER TABLE ... ADD COLUMN, with the language
CHECK on the column): on SQLite a batch rebuild of `patients` would have to rebuild every
table that refers to it.

Revision ID: b681d5272b3a
Revises: 35306ab1e6bb
Create Date: 2026-12-01 18:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tracker.db

revision: str = 'b681d5272b3a'
down_revision: str | None = '35306ab1e6bb'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('patients', sa.Column('email', sa.String(length=254), nullable=True))
    op.add_column('patients', sa.Column(
        'language', sa.String(length=2),
        sa.CheckConstraint("language IN ('en', 'es')", name='language_known'),
        nullable=False, server_default='en'))
    op.add_column('patients', sa.Column('reminders_opted_out', sa.Boolean(), nullable=False,
                                        server_default=sa.false()))
    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_at', tracker.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', tracker.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("audience IN ('patient', 'care_team')",
                       name=op.f('ck_notices_audience_known')),
    sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')",
                       name=op.f('ck_notices_status_known')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'],
                            name=op.f('fk_notices_patient_id_patients')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notices_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices'))
    )
    op.create_index('ix_notices_key', 'notices', ['key'], unique=True)
    op.create_index('ix_notices_status_next_attempt', 'notices', ['status', 'next_attempt_at'],
                    unique=False)
    op.create_index('ix_notices_created_at', 'notices', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_notices_created_at', table_name='notices')
    op.drop_index('ix_notices_status_next_attempt', table_name='notices')
    op.drop_index('ix_notices_key', table_name='notices')
    op.drop_table('notices')
    # In place again (SQLite 3.35+ drops a column whose only CHECK is its own column
    # constraint), rather than a batch rebuild of `patients` and the tables referring to it.
    op.drop_column('patients', 'reminders_opted_out')
    op.drop_column('patients', 'language')
    op.drop_column('patients', 'email')
