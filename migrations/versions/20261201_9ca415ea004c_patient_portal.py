"""patient portal

`patient_accounts` links a user of the role `patient` to the patient whose account it is (one
account per patient, one patient per account); `portal_invitations` holds the single-use
invitations with which a patient sets up that account (only a SHA-256 of the invitation code is
stored; a newer invitation voids the older ones).

Revision ID: 9ca415ea004c
Revises: 0c8f1fec1608
Create Date: 2026-12-01 18:21:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tracker.db

revision: str = '9ca415ea004c'
down_revision: str | None = '0c8f1fec1608'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('patient_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('created_at', tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'],
                            name=op.f('fk_patient_accounts_patient_id_patients')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_patient_accounts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_accounts')),
    sa.UniqueConstraint('patient_id', name=op.f('uq_patient_accounts_patient_id')),
    sa.UniqueConstraint('user_id', name=op.f('uq_patient_accounts_user_id'))
    )
    op.create_table('portal_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', tracker.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('voided_at', tracker.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'],
                            name=op.f('fk_portal_invitations_created_by_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'],
                            name=op.f('fk_portal_invitations_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_invitations')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_portal_invitations_code_hash'))
    )
    with op.batch_alter_table('portal_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_invitations_patient_id'), ['patient_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('portal_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_invitations_patient_id'))
    op.drop_table('portal_invitations')
    op.drop_table('patient_accounts')
