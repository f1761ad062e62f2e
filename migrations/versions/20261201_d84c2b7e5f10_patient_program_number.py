"""patient program number

Every patient gets a random, unique program number (API.md `program_number`, the FHIR case
number). Patients registered before get one now. The column stays nullable in the database:
SQLite cannot make a column of a table with rows NOT NULL without rebuilding the table and the
tables that refer to it; the application sets it at registration.

Revision ID: d84c2b7e5f10
Revises: b3d91f4c2a17
Create Date: 2026-12-01 16:00:00.000000+00:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'd84c2b7e5f10'
down_revision: str | None = 'b3d91f4c2a17'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The alphabet and shape of tracker.services.codes.new_program_number, written out here so the
# migration keeps producing the same kind of number whatever the code becomes.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _program_number() -> str:
    return "P-" + "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4))
                           for _ in range(3))


def upgrade() -> None:
    op.add_column("patients", sa.Column("program_number", sa.String(length=20), nullable=True))
    connection = op.get_bind()
    patients = sa.table("patients", sa.column("id", sa.Integer),
                        sa.column("program_number", sa.String))
    ids = connection.execute(sa.select(patients.c.id)).scalars().all()
    given: set[str] = set()
    for patient_id in ids:
        number = _program_number()
        while number in given:
            number = _program_number()
        given.add(number)
        connection.execute(sa.update(patients).where(patients.c.id == patient_id)
                           .values(program_number=number))
    op.create_index("ix_patients_program_number", "patients", ["program_number"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_patients_program_number", table_name="patients")
    with op.batch_alter_table("patients") as batch:
        batch.drop_column("program_number")
