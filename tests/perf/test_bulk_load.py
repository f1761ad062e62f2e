"""What makes the demo generator fast keeps its results exact: the authorization signatures made
from a template are the service's own, and SQLite's journal switch for the load leaves the file
in WAL mode, and leaves it alone when another connection is using it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from tests.conftest import PG_URL, eastern_noon
from tracker import bulk_signing
from tracker.bulk_signing import AuthorizationSigner
from tracker.db import Database, sqlite_bulk_journal
from tracker.keyring import Keyring
from tracker.services.authorizations import authorization_fields
from tracker.services.signatures import sign

KEYS = Keyring.single(b"bulk-signing-test-key", "k2")


def _moment(day: int, hour: int) -> datetime:
    return eastern_noon(date.fromordinal(day)).replace(hour=hour + 5)


@pytest.mark.parametrize(("closes", "rule_set"), [(None, "2026-01"), (12, "pre-2026")])
def test_the_template_signature_is_the_services_signature(closes: int | None,
                                                          rule_set: str) -> None:
    signer = AuthorizationSigner(KEYS, _moment)
    day = date(2026, 3, 2).toordinal()
    for aid in (1, 2, 987654):
        number = f"ABCD-EF{aid % 10}G-HJKM"
        got = signer(aid, number, aid + 7, aid + 9, day, None if closes is None else day + closes,
                     rule_set, 42)
        fields = SimpleNamespace(
            id=aid, number=number, prescription_id=aid + 7, patient_id=aid + 9,
            issued_on=date.fromordinal(day), issued_at=_moment(day, 14), issued_by=42,
            do_not_dispense_after=None if closes is None else date.fromordinal(day + closes),
            rule_set=rule_set)
        assert got == sign(KEYS, "authorization", authorization_fields(fields)).hmac  # type: ignore[arg-type]
    assert signer.key_id == "k2"


def test_a_change_of_the_signed_fields_stops_the_bulk_signer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def more_fields(auth: object) -> dict[str, object]:
        return {**authorization_fields(auth), "extra": 1}  # type: ignore[arg-type]

    monkeypatch.setattr(bulk_signing, "authorization_fields", more_fields)
    signer = AuthorizationSigner(KEYS, lambda day, hour: datetime(2026, 1, 1, hour, tzinfo=UTC))
    with pytest.raises(RuntimeError, match="authorization_fields"):
        signer(1, "AAAA-AAAA-AAAA", 1, 1, date(2026, 1, 1).toordinal(), None, "2026-01", 1)


sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite's journal modes")


@sqlite_only
def test_the_bulk_journal_is_used_for_the_load_and_wal_comes_back(fresh_database: str) -> None:
    database = Database(fresh_database)
    try:
        with sqlite_bulk_journal(database.engine) as switched:
            assert switched
            with database.transaction() as session:
                # The load's own transaction gets the switched connection from the pool.
                assert session.scalar(text("PRAGMA journal_mode")) == "truncate"
        database.engine.dispose()
        with database.transaction(writes=False) as session:
            assert session.scalar(text("PRAGMA journal_mode")) == "wal"
    finally:
        database.engine.dispose()


@sqlite_only
def test_the_bulk_journal_leaves_a_file_in_use_in_wal(fresh_database: str) -> None:
    other = Database(fresh_database)
    database = Database(fresh_database)
    try:
        with other.engine.connect() as busy:
            busy.execute(text("SELECT 1"))  # another connection holds the file open
            with sqlite_bulk_journal(database.engine) as switched:
                assert not switched
                with database.transaction(writes=False) as session:
                    assert session.scalar(text("PRAGMA journal_mode")) == "wal"
    finally:
        other.engine.dispose()
        database.engine.dispose()


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL has no journal to switch")
def test_the_bulk_journal_does_nothing_on_postgresql(fresh_database: str) -> None:
    database = Database(fresh_database)
    try:
        with sqlite_bulk_journal(database.engine) as switched:
            assert not switched
    finally:
        database.engine.dispose()
