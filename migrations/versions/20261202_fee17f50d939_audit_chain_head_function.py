"""audit chain head function

PostgreSQL: `audit_chain_head()` takes the audit chain's transaction-scoped advisory lock and
then returns the hash of the last event, in one statement sent by the app. A transaction
appends its audit events as it commits (tracker.services.audit): the lock makes appends one at a
time, and the read after it must see the event the previous holder committed. A single SELECT
would not: under READ COMMITTED its snapshot is taken when it starts, before it waits for the
lock. Each statement inside a VOLATILE function takes a snapshot of its own, so the read below
sees every transaction that committed while this one waited. SQLite needs nothing: its write
transactions already run one at a time.

The lock's key is tracker.services.audit.AUDIT_CHAIN_LOCK_KEY (kept as it was, written out here
so that this revision does not change if the app's code does).

Revision ID: fee17f50d939
Revises: 5b0c7e31d9a4
Create Date: 2026-12-02 00:40:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'fee17f50d939'
down_revision: str | None = '5b0c7e31d9a4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION audit_chain_head() RETURNS text LANGUAGE plpgsql VOLATILE AS $$\n"
        "DECLARE\n"
        "    head text;\n"
        "BEGIN\n"
        "    PERFORM pg_advisory_xact_lock(7305001);\n"
        "    SELECT hash INTO head FROM audit_events ORDER BY id DESC LIMIT 1;\n"
        "    RETURN head;  -- NULL before the first event\n"
        "END $$")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS audit_chain_head()")
