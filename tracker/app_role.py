"""PostgreSQL: the app connects as a role that owns nothing. The migrations run as the owner of
the tables; the app's role may read and write the records but only read and append to the audit
trail. Not owning the audit table, it cannot DELETE, UPDATE or TRUNCATE it, nor ALTER TABLE ...
DISABLE TRIGGER or drop its triggers: the database refuses, whatever the application does."""

from __future__ import annotations

import re

from sqlalchemy import text

from tracker.db import make_engine

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
APPEND_ONLY_TABLE = "audit_events"


def grant_statements(role: str, quote: str) -> list[str]:
    """The grants for the app role (`quote` is the role as a quoted identifier)."""
    return [
        f"GRANT USAGE ON SCHEMA public TO {quote}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quote}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {quote}",
        # The audit trail: read and append, nothing else.
        f"REVOKE ALL ON {APPEND_ONLY_TABLE} FROM {quote}",
        f"GRANT SELECT, INSERT ON {APPEND_ONLY_TABLE} TO {quote}",
        # Appending takes the chain's lock and reads its head through this function (granted
        # to PUBLIC by default; stated for databases that revoke that).
        f"GRANT EXECUTE ON FUNCTION audit_chain_head() TO {quote}",
        # The schema's version is the migrations' business.
        f"REVOKE ALL ON alembic_version FROM {quote}",
        f"GRANT SELECT ON alembic_version TO {quote}",
    ]


def grant_app_role(url: str, role: str) -> None:
    """Give an existing login role what the app needs on the migrated schema, run as the owner
    of the tables (after every `tracker db upgrade`: new tables need their grants)."""
    if not _ROLE_NAME.match(role):
        raise ValueError(f"{role!r} is not a plain role name (lower case letters, digits, _)")
    engine = make_engine(url)
    try:
        if engine.dialect.name != "postgresql":
            raise ValueError("an app role is a PostgreSQL setting; SQLite has no roles")
        quote = engine.dialect.identifier_preparer.quote(role)
        with engine.begin() as conn:
            owner = conn.execute(text(
                "SELECT tableowner FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename = :t"), {"t": APPEND_ONLY_TABLE}).scalar_one_or_none()
            if owner is None:
                raise ValueError("the schema is not there yet: run `tracker db upgrade` first")
            if owner == role:
                raise ValueError(f"{role} owns the tables; the app needs a role of its own")
            for statement in grant_statements(role, quote):
                conn.execute(text(statement))
    finally:
        engine.dispose()
