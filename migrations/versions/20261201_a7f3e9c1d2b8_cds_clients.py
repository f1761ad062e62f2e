"""cds clients

The EHRs allowed to call the CDS Hooks services: the issuer of their JWTs, the public key
that verifies them and the prescriber whose patients they ask about.

Revision ID: a7f3e9c1d2b8
Revises: e7a2c9d41b63
Create Date: 2026-12-01 17:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tracker.db

revision: str = 'a7f3e9c1d2b8'
down_revision: str | None = 'e7a2c9d41b63'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cds_clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('public_key', sa.Text(), nullable=False),
    sa.Column('prescriber_id', sa.Integer(), nullable=False),
    sa.Column('created_at', tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', tracker.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['prescriber_id'], ['users.id'],
                            name=op.f('fk_cds_clients_prescriber_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cds_clients')),
    sa.UniqueConstraint('issuer', name=op.f('uq_cds_clients_issuer'))
    )
    with op.batch_alter_table('cds_clients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cds_clients_prescriber_id'), ['prescriber_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cds_clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cds_clients_prescriber_id'))
    op.drop_table('cds_clients')
