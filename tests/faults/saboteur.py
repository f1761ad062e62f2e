"""PostgreSQL faults made from a second connection, at points the test chooses: the audit
chain's advisory lock held so that an app's write waits mid-transaction (after its rows, before
its audit event), its backend terminated there; every backend of the database terminated and
new connections refused for a while (what a restart or a failover looks like to the app)."""

from __future__ import annotations

import time
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from tracker.services.audit import AUDIT_CHAIN_LOCK_KEY


def _conninfo(url: str, database: str | None = None) -> str:
    parsed = make_url(url)
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


class Saboteur:
    def __init__(self, url: str) -> None:
        self.database = make_url(url).database
        self.admin = psycopg.connect(_conninfo(url, "postgres"), autocommit=True)
        self.holder: psycopg.Connection[Any] | None = psycopg.connect(_conninfo(url),
                                                                      autocommit=True)
        self.refusing = False

    def close(self) -> None:
        if self.refusing:
            self.accept_connections()
        if self.holder is not None:
            self.holder.close()
        self.admin.close()

    def hold_audit_chain(self) -> None:
        """Writers now wait at their audit event, with their own rows already written."""
        assert self.holder is not None
        self.holder.execute("SELECT pg_advisory_lock(%s)", (AUDIT_CHAIN_LOCK_KEY,))

    def release_audit_chain(self) -> None:
        assert self.holder is not None
        self.holder.execute("SELECT pg_advisory_unlock(%s)", (AUDIT_CHAIN_LOCK_KEY,))

    def hold_table(self, table: str) -> None:
        """Writers of `table` now wait before their first write to it (readers pass)."""
        assert self.holder is not None
        self.holder.execute("BEGIN")
        self.holder.execute(f'LOCK TABLE "{table}" IN SHARE MODE')

    def release_table(self) -> None:
        assert self.holder is not None
        self.holder.execute("ROLLBACK")

    def waiting_for_table(self, table: str, timeout: float = 20) -> int:
        """The backend of the app's request that waits to write `table`."""
        assert self.holder is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = self.holder.execute(
                "SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE c.relname = %s AND NOT l.granted", (table,)).fetchone()
            if row is not None:
                return int(row[0])
            time.sleep(0.02)
        raise AssertionError(f"no request came to wait for {table}")

    def waiting_writer(self, timeout: float = 20) -> int:
        """The backend of the app's request that waits for the audit chain."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = self.admin.execute(
                "SELECT a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND NOT l.granted AND a.datname = %s",
                (self.database,)).fetchone()
            if row is not None:
                return int(row[0])
            time.sleep(0.02)
        raise AssertionError("no request came to wait for the audit chain")

    def has_written(self, pid: int, table: str) -> bool:
        """Whether the backend's open transaction has inserted or updated rows of `table`
        (asked on the test's database: pg_class is the catalog of one database)."""
        assert self.holder is not None
        row = self.holder.execute(
            "SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = %s AND c.relname = %s AND l.mode = 'RowExclusiveLock' AND l.granted",
            (pid, table)).fetchone()
        return row is not None

    def terminate(self, pid: int) -> None:
        """Terminate the backend and wait (up to 5 s) until it is gone."""
        self.admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))

    def app_backends(self) -> int:
        own = self.holder.info.backend_pid if self.holder is not None else 0
        row = self.admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
            (self.database, own)).fetchone()
        return int(row[0]) if row else 0

    def refuse_connections(self) -> None:
        """What a restart looks like from the app: every connection dropped, new ones refused."""
        if self.holder is not None:
            self.holder.close()
            self.holder = None
        self.refusing = True
        self.admin.execute(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS false')
        self.admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = %s", (self.database,))

    def accept_connections(self) -> None:
        self.admin.execute(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS true')
        self.refusing = False
