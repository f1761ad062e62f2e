"""keyed audit chain and signature key ids

The audit chain is keyed from here on: each new event stores the id of the audit key whose
HMAC chained it. Events written before stay as they are (NULL key id, plain SHA-256); the
first keyed event covers the last of them, so they cannot be rewritten unnoticed either.
E-signatures store the id of their key; those made before were made with the one key there
was, which from here on carries the id "1" (keep it under that id when rotating).

Revision ID: 5e1c0a7d9b42
Revises: cc5716eab697
Create Date: 2026-12-01 15:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5e1c0a7d9b42'
down_revision: str | None = 'cc5716eab697'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SIGNED_TABLES = ("acknowledgments", "authorizations")


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy on SQLite, which would drop the audit table's triggers).
    op.add_column("audit_events", sa.Column("key_id", sa.String(length=32), nullable=True))
    for table in _SIGNED_TABLES:
        op.add_column(table, sa.Column("signature_key_id", sa.String(length=32),
                                       nullable=True))
        op.execute(f"UPDATE {table} SET signature_key_id = '1'")  # noqa: S608 - fixed names


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN works on PostgreSQL and SQLite >= 3.35 without copying the
    # table (a batch copy would drop the audit table's triggers).
    for table in (*_SIGNED_TABLES, "audit_events"):
        column = "key_id" if table == "audit_events" else "signature_key_id"
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
