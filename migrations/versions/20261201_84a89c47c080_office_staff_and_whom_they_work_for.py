"""office staff and whom they work for

The role `staff` (a prescriber's designees), the prescribers each staff member works for, and
who entered a prescription (staff draft them for the prescriber's signature).

SQLite cannot alter a CHECK constraint, and rebuilding `users` (Alembic's batch mode) drops a
table every other table refers to, which foreign keys refuse once there are rows. Widening the
role CHECK changes no stored row, so on SQLite the table's definition is rewritten in place,
the procedure SQLite documents for changing CHECK constraints (sqlite.org/lang_altertable.html,
"Making Other Kinds Of Table Schema Changes").

Revision ID: 84a89c47c080
Revises: a7f3e9c1d2b8
Create Date: 2026-12-01 16:04:20.154354+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tracker.db

revision: str = '84a89c47c080'
down_revision: str | None = 'a7f3e9c1d2b8'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLES_BEFORE = "role IN ('admin', 'prescriber', 'pharmacist')"
_ROLES_AFTER = "role IN ('admin', 'prescriber', 'pharmacist', 'staff')"


def _set_role_check(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        # op.f(): the name is final (the naming convention would prefix it again).
        op.drop_constraint(op.f("ck_users_role_known"), "users", type_="check")
        op.create_check_constraint(op.f("ck_users_role_known"), "users", new)
        return
    table_sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'").scalar_one()
    if table_sql.count(old) != 1:
        raise RuntimeError("users: the role CHECK is not the one this migration expects")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'users'",
        (table_sql.replace(old, new),))
    # A new schema version makes every connection read the changed definition.
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    _set_role_check(_ROLES_BEFORE, _ROLES_AFTER)
    op.create_table('staff_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('prescriber_id', sa.Integer(), nullable=False),
    sa.Column('started_at', tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_by', sa.Integer(), nullable=True),
    sa.Column('ended_at', tracker.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.Integer(), nullable=True),
    sa.CheckConstraint('staff_id <> prescriber_id', name=op.f('ck_staff_assignments_not_self')),
    sa.ForeignKeyConstraint(['ended_by'], ['users.id'], name=op.f('fk_staff_assignments_ended_by_users')),
    sa.ForeignKeyConstraint(['prescriber_id'], ['users.id'], name=op.f('fk_staff_assignments_prescriber_id_users')),
    sa.ForeignKeyConstraint(['staff_id'], ['users.id'], name=op.f('fk_staff_assignments_staff_id_users')),
    sa.ForeignKeyConstraint(['started_by'], ['users.id'], name=op.f('fk_staff_assignments_started_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_assignments')),
    sa.UniqueConstraint('staff_id', 'prescriber_id', name='uq_staff_assignments_pair')
    )
    with op.batch_alter_table('staff_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_assignments_prescriber_id'), ['prescriber_id'], unique=False)

    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('written_by', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_prescriptions_written_by_users'), 'users', ['written_by'], ['id'])


def downgrade() -> None:
    staff = op.get_bind().exec_driver_sql(
        "SELECT count(*) FROM users WHERE role = 'staff'").scalar_one()
    if staff:
        raise RuntimeError(f"{staff} staff user(s) exist: the role cannot be taken away")
    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_prescriptions_written_by_users'), type_='foreignkey')
        batch_op.drop_column('written_by')

    with op.batch_alter_table('staff_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_assignments_prescriber_id'))

    op.drop_table('staff_assignments')
    _set_role_check(_ROLES_AFTER, _ROLES_BEFORE)
