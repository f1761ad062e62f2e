"""auditor role

The role `auditor`: reads the program reports and the audit trails, changes nothing and opens
no clinical record page. Only the users.role CHECK widens; on SQLite the table's definition is
rewritten in place, as in 84a89c47c080 (rebuilding `users` is refused by the foreign keys
that point at it).

Revision ID: 35306ab1e6bb
Revises: 56d46fd93ba7
Create Date: 2026-12-01 18:30:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '35306ab1e6bb'
down_revision: str | None = '56d46fd93ba7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLES_BEFORE = "role IN ('admin', 'prescriber', 'pharmacist', 'staff')"
_ROLES_AFTER = "role IN ('admin', 'prescriber', 'pharmacist', 'staff', 'auditor')"


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


def downgrade() -> None:
    auditors = op.get_bind().exec_driver_sql(
        "SELECT count(*) FROM users WHERE role = 'auditor'").scalar_one()
    if auditors:
        raise RuntimeError(f"{auditors} auditor(s) exist: the role cannot be taken away")
    _set_role_check(_ROLES_AFTER, _ROLES_BEFORE)
