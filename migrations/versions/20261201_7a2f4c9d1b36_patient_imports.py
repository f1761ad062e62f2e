"""patient imports

Patients already in treatment are imported with their history (`tracker import`). `imports`
records each run (file name and SHA-256, prescriber, who ran it, when); `imported_patients`
links each imported patient to its run under the source system's id, unique per prescriber,
which makes importing the same file again change nothing.

Revision ID: 7a2f4c9d1b36
Revises: 84a89c47c080
Create Date: 2026-12-01 17:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tracker.db

revision: str = '7a2f4c9d1b36'
down_revision: str | None = '84a89c47c080'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('prescriber_id', sa.Integer(), nullable=False),
    sa.Column('ran_by', sa.Integer(), nullable=True),
    sa.Column('ran_by_name', sa.String(length=200), nullable=False),
    sa.Column('ran_at', tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('patients', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['prescriber_id'], ['users.id'],
                            name=op.f('fk_imports_prescriber_id_users')),
    sa.ForeignKeyConstraint(['ran_by'], ['users.id'], name=op.f('fk_imports_ran_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imports'))
    )
    op.create_index(op.f('ix_imports_sha256'), 'imports', ['sha256'], unique=False)
    op.create_table('imported_patients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('prescriber_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'],
                            name=op.f('fk_imported_patients_import_id_imports')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'],
                            name=op.f('fk_imported_patients_patient_id_patients')),
    sa.ForeignKeyConstraint(['prescriber_id'], ['users.id'],
                            name=op.f('fk_imported_patients_prescriber_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imported_patients')),
    sa.UniqueConstraint('patient_id', name=op.f('uq_imported_patients_patient_id')),
    sa.UniqueConstraint('prescriber_id', 'external_id',
                        name='uq_imported_patients_external_id')
    )
    op.create_index(op.f('ix_imported_patients_import_id'), 'imported_patients', ['import_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_imported_patients_import_id'), table_name='imported_patients')
    op.drop_table('imported_patients')
    op.drop_index(op.f('ix_imports_sha256'), table_name='imports')
    op.drop_table('imports')
