"""cds client prescribers and jwt ids

A CDS client (an EHR) acts for one or more prescribers: `cds_client_prescribers` replaces
`cds_clients.prescriber_id` (each existing client keeps its prescriber). `cds_jwt_ids` keeps the
`jti` of every JWT a client has used until the JWT expires, so that none is accepted twice.

Revision ID: 56d46fd93ba7
Revises: 7a2f4c9d1b36
Create Date: 2026-12-01 18:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tracker.db

revision: str = '56d46fd93ba7'
down_revision: str | None = '7a2f4c9d1b36'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The link to cds_clients is added once cds_clients has lost its column: on SQLite that
    # change copies the table, which a table referencing it would forbid.
    op.create_table('cds_client_prescribers',
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('prescriber_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['prescriber_id'], ['users.id'],
                            name=op.f('fk_cds_client_prescribers_prescriber_id_users')),
    sa.PrimaryKeyConstraint('client_id', 'prescriber_id',
                            name=op.f('pk_cds_client_prescribers'))
    )
    op.create_index(op.f('ix_cds_client_prescribers_prescriber_id'), 'cds_client_prescribers',
                    ['prescriber_id'], unique=False)
    op.execute("INSERT INTO cds_client_prescribers (client_id, prescriber_id) "
               "SELECT id, prescriber_id FROM cds_clients")
    with op.batch_alter_table('cds_clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cds_clients_prescriber_id'))
        batch_op.drop_constraint('fk_cds_clients_prescriber_id_users', type_='foreignkey')
        batch_op.drop_column('prescriber_id')
    with op.batch_alter_table('cds_client_prescribers', schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f('fk_cds_client_prescribers_client_id_cds_clients'), 'cds_clients',
            ['client_id'], ['id'])
    op.create_table('cds_jwt_ids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('jti', sa.String(length=255), nullable=False),
    sa.Column('expires_at', tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['cds_clients.id'],
                            name=op.f('fk_cds_jwt_ids_client_id_cds_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cds_jwt_ids')),
    sa.UniqueConstraint('client_id', 'jti', name='uq_cds_jwt_ids_client_jti')
    )
    op.create_index(op.f('ix_cds_jwt_ids_expires_at'), 'cds_jwt_ids', ['expires_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_cds_jwt_ids_expires_at'), table_name='cds_jwt_ids')
    op.drop_table('cds_jwt_ids')
    # Back to one prescriber per client: each keeps the first it was registered for. The link
    # to cds_clients goes first, so that SQLite may copy cds_clients.
    with op.batch_alter_table('cds_client_prescribers', schema=None) as batch_op:
        batch_op.drop_constraint('fk_cds_client_prescribers_client_id_cds_clients',
                                 type_='foreignkey')
    with op.batch_alter_table('cds_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prescriber_id', sa.Integer(), nullable=True))
    op.execute("UPDATE cds_clients SET prescriber_id = (SELECT min(prescriber_id) FROM "
               "cds_client_prescribers WHERE client_id = cds_clients.id)")
    op.execute("DELETE FROM cds_clients WHERE prescriber_id IS NULL")
    with op.batch_alter_table('cds_clients', schema=None) as batch_op:
        batch_op.alter_column('prescriber_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_cds_clients_prescriber_id_users', 'users',
                                    ['prescriber_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_cds_clients_prescriber_id'), ['prescriber_id'],
                              unique=False)
    op.drop_index(op.f('ix_cds_client_prescribers_prescriber_id'),
                  table_name='cds_client_prescribers')
    op.drop_table('cds_client_prescribers')
