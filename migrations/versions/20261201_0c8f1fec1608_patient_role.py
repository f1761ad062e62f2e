"""patient role

The role `patient`: a patient's own account for the patient portal. Only the users.role CHECK
widens; the link from the account to the patient is the next migration's.

SQLite cannot alter a CHECK constraint, and rebuilding `users` (Alembic's batch mode) drops a
table every other table refers to; widening the CHECK changes no stored row, so on SQLite the
table's definition is rewritten in place, as in 84a89c47c080.

Revision ID: 0c8f1fec1608
Revises: b681d5272b3a
Create Date: 2026-12-01 18:20:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0c8f1fec1608'
down_revision: str | None = 'b681d5272b3a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLES_BEFORE = "role IN ('admin', 'prescriber', 'pharmacist', 'staff', 'auditor')"
_ROLES_AFTER = "role IN ('admin', 'prescriber', 'pharmacist', 'staff', 'auditor', 'patient')"


def _set_role_check(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
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
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    _set_role_check(_ROLES_BEFORE, _ROLES_AFTER)


def downgrade() -> None:
    patients = op.get_bind().exec_driver_sql(
        "SELECT count(*) FROM users WHERE role = 'patient'").scalar_one()
    if patients:
        raise RuntimeError(f"{patients} patient account(s) exist: the role cannot be taken away")
    _set_role_check(_ROLES_AFTER, _ROLES_BEFORE)
