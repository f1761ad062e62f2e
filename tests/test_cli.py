"""The `tracker` command: each subcommand, its one-line errors, demo data, audit verification,
and a backup-and-restore drill."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tests.conftest import PG_URL
from tracker.cli import main
from tracker.db import Database, utcnow
from tracker.models import (
    Base,
    CdsClient,
    CdsJwtId,
    FormDraft,
    IdempotencyRecord,
    LoginAttempt,
    LoginSession,
    Patient,
    User,
)


@pytest.fixture
def env(fresh_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TRACKER_DATABASE_URL", fresh_database)
    monkeypatch.setenv("TRACKER_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("TRACKER_SECRET_KEY", "cli-test-secret")
    monkeypatch.delenv("TRACKER_ENV", raising=False)
    return fresh_database


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_set_up_commands_of_api_md(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "db", "upgrade")[0] == 0
    code, out, _ = run(capsys, "users", "create", "--role", "prescriber", "--email",
                       "doc@example.test", "--name", "Doc Smoke", "--npi", "1234567893")
    assert code == 0 and "initial password" in out
    code, out, _ = run(capsys, "pharmacies", "create", "--name", "Smoke Pharmacy", "--ncpdp",
                       "1234567", "--activated-on", "2026-01-02")
    assert code == 0 and out.strip().isdigit()
    pharmacy_id = out.strip()
    code, _, _ = run(capsys, "users", "create", "--role", "pharmacist", "--email",
                     "rx@example.test", "--name", "Rx Smoke", "--pharmacy", pharmacy_id)
    assert code == 0
    code, out, _ = run(capsys, "users", "create", "--role", "staff", "--email",
                       "nurse@example.test", "--name", "Nora Nurse", "--works-for",
                       "doc@example.test")
    assert code == 0 and "created staff nurse@example.test" in out
    code, _, err = run(capsys, "users", "create", "--role", "staff", "--email",
                       "nick@example.test", "--name", "Nick Nurse", "--works-for",
                       "doc@example.test", "--works-for", "ghost@example.test")
    assert code != 0
    assert err.strip() == "tracker: No prescriber has the email ghost@example.test."
    code, out, _ = run(capsys, "tokens", "create", "doc@example.test")
    assert code == 0 and out.startswith("trk_") and len(out.strip().splitlines()) == 1
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 0 and "intact" in out


def test_password_from_stdin_needs_no_change(env: str, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough passphrase\n"))
    code, out, _ = run(capsys, "users", "create", "--role", "admin", "--email",
                       "a@example.test", "--name", "Ada", "--password-stdin")
    assert code == 0 and "initial password" not in out
    db = Database(env)
    with db.transaction(writes=False) as s:
        user = s.scalar(select(User))
        assert user is not None and user.must_change_password is False
    db.engine.dispose()


def test_an_auditor_is_created_from_the_command_line(
        env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "users", "create", "--role", "auditor", "--email",
                       "audit@example.test", "--name", "Aud Itor")
    assert code == 0 and "created auditor audit@example.test" in out
    db = Database(env)
    with db.transaction(writes=False) as s:
        user = s.scalar(select(User).where(User.email == "audit@example.test"))
        assert user is not None and user.role == "auditor" and user.npi is None
    db.engine.dispose()
    # An auditor has no NPI and no pharmacy.
    code, _, err = run(capsys, "users", "create", "--role", "auditor", "--email",
                       "a2@example.test", "--name", "A", "--pharmacy", "1")
    assert code != 0 and "pharmacy" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["users", "create", "--role", "wizard", "--email", "w@example.test", "--name", "W"],
     "role"),
    (["users", "create", "--role", "prescriber", "--email", "p@example.test", "--name", "P",
      "--npi", "1234567890"], "check digit"),
    (["users", "create", "--role", "pharmacist", "--email", "p@example.test", "--name", "P",
      "--pharmacy", "999"], "pharmacy"),
    (["users", "create", "--role", "admin", "--email", "not-an-email", "--name", "P"],
     "email"),
    (["pharmacies", "create", "--name", "X", "--ncpdp", "12345"], "7 digits"),
    (["pharmacies", "create", "--name", "X", "--ncpdp", "1234567", "--activated-on", "soon"],
     "YYYY-MM-DD"),
    (["tokens", "create", "nobody@example.test"], "no user"),
    (["users", "create", "--role", "admin"], "Missing option"),
])
def test_bad_input_is_one_line_and_non_zero(env: str, capsys: pytest.CaptureFixture[str],
                                            argv: list[str], message: str) -> None:
    code, _, err = run(capsys, *argv)
    assert code != 0
    assert len(err.strip().splitlines()) == 1 and message in err


def test_duplicate_email_is_refused(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["users", "create", "--role", "admin", "--email", "a@example.test", "--name", "A"]
    assert run(capsys, *argv)[0] == 0
    code, _, err = run(capsys, *argv)
    assert code == 1 and "already exists" in err


def test_demo_creates_every_role_and_patients_and_refuses_a_second_time(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "demo")
    assert code == 0
    for role in ("admin", "prescriber", "pharmacist", "staff", "auditor"):
        assert role in out
    db = Database(env)
    with db.transaction(writes=False) as s:
        assert s.scalar(select(func.count()).select_from(Patient)) >= 10
        statuses = set(s.scalars(text("SELECT status FROM prescriptions")))
    db.engine.dispose()
    assert {"pending", "dispensable", "dispensed"} <= statuses
    assert run(capsys, "demo")[0] == 1
    code, out, _ = run(capsys, "demo", "--if-empty")
    assert code == 0 and "already there" in out
    assert run(capsys, "audit", "verify")[0] == 0


@pytest.mark.skipif(bool(PG_URL), reason="tracker backup copies SQLite; PostgreSQL uses pg_dump")
def test_backup_and_restore_drill(env: str, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(capsys, "demo")[0] == 0
    target = tmp_path / "backup" / "copy.sqlite3"
    code, out, _ = run(capsys, "backup", str(target))
    assert code == 0 and target.exists()

    def counts(url: str) -> dict[str, int]:
        db = Database(url)
        with db.transaction(writes=False) as s:
            result = {name: s.scalar(select(func.count()).select_from(table)) or 0
                      for name, table in Base.metadata.tables.items()}
        db.engine.dispose()
        return result

    restored = "sqlite:///" + str(target)
    assert counts(restored) == counts(env)
    monkeypatch.setenv("TRACKER_DATABASE_URL", restored)
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 0 and "signatures verify" in out
    assert run(capsys, "backup", str(target))[0] == 1  # never overwrites


def test_audit_verify_names_a_tampered_signature(env: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "demo")[0] == 0
    db = Database(env)
    with db.transaction() as s:
        s.execute(text("UPDATE acknowledgments SET signed_on = signed_on - 1 WHERE id = 1")
                  if not env.startswith("sqlite") else
                  text("UPDATE acknowledgments SET signed_on = '2020-01-01' WHERE id = 1"))
    db.engine.dispose()
    code, _, err = run(capsys, "audit", "verify")
    assert code == 1 and "acknowledgment 1" in err


def _drop_audit_tail(url: str, events: int) -> None:
    """What the owner of the database could do: triggers off, the newest events deleted."""
    db = Database(url)
    with db.transaction() as s:
        if url.startswith("sqlite"):
            s.execute(text("DROP TRIGGER audit_events_no_delete"))
        else:
            s.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        s.execute(text("DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events "
                       "ORDER BY id DESC LIMIT :n)"), {"n": events})
    db.engine.dispose()


def test_anchor_file_shows_a_truncated_audit_trail(env: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "demo")[0] == 0
    anchors = tmp_path / "anchors" / "audit.log"
    anchors.parent.mkdir()
    code, out, _ = run(capsys, "audit", "anchor", "--file", str(anchors))
    assert code == 0 and "events=" in out and "head=" in out
    assert anchors.stat().st_mode & 0o077 == 0
    code, out, _ = run(capsys, "audit", "verify", "--anchor", str(anchors))
    assert code == 0 and "1 anchors hold" in out
    _drop_audit_tail(env, 3)
    assert run(capsys, "audit", "verify")[0] == 0  # the keyed chain alone cannot see this
    code, _, err = run(capsys, "audit", "verify", "--anchor", str(anchors))
    assert code == 1 and "events were removed" in err


def test_anchor_goes_to_syslog(env: str, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    import syslog

    sent: list[str] = []
    monkeypatch.setattr(syslog, "syslog", lambda _priority, message: sent.append(message))
    assert run(capsys, "users", "create", "--role", "admin", "--email", "a@example.test",
               "--name", "Ada Admin")[0] == 0
    assert run(capsys, "audit", "anchor", "--syslog")[0] == 0
    assert len(sent) == 1 and "tracker-audit-anchor events=" in sent[0]
    assert run(capsys, "audit", "anchor")[0] == 1  # --file or --syslog, not neither


def test_rotated_keys_keep_the_trail_and_signatures_verifiable(
        env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(capsys, "demo")[0] == 0  # signed and chained with the keys of id 1
    monkeypatch.setenv("TRACKER_SIGNATURE_KEYS", "1:sig:cli-test-secret")
    monkeypatch.setenv("TRACKER_SIGNATURE_KEY", "the-new-signature-key")
    monkeypatch.setenv("TRACKER_SIGNATURE_KEY_ID", "2")
    monkeypatch.setenv("TRACKER_AUDIT_KEYS", "1:development-audit-key")
    monkeypatch.setenv("TRACKER_AUDIT_KEY", "the-new-audit-key")
    monkeypatch.setenv("TRACKER_AUDIT_KEY_ID", "2")
    assert run(capsys, "users", "create", "--role", "admin", "--email", "new@example.test",
               "--name", "Nia New")[0] == 0  # chained with the new key
    code, out, err = run(capsys, "audit", "verify")
    assert code == 0, err
    monkeypatch.delenv("TRACKER_AUDIT_KEYS")  # the old key dropped too early
    code, _, err = run(capsys, "audit", "verify")
    assert code == 1 and "audit key '1'" in err
    monkeypatch.setenv("TRACKER_AUDIT_KEYS", "1:development-audit-key")
    monkeypatch.delenv("TRACKER_SIGNATURE_KEYS")
    code, _, err = run(capsys, "audit", "verify")
    assert code == 1 and "signature(s) do not verify" in err


def test_maintenance_purge_removes_what_has_expired_and_keeps_the_rest(
        env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    monkeypatch.setenv("TRACKER_IDEMPOTENCY_RETENTION_HOURS", "24")
    assert run(capsys, "users", "create", "--role", "prescriber", "--email", "doc@example.test",
               "--name", "Doc Purge", "--npi", "1234567893")[0] == 0
    now = utcnow()
    day = timedelta(days=1)
    db = Database(env)
    with db.transaction() as s:
        user_id = s.scalar(select(User.id))
        s.add_all([
            LoginSession(id_hash="e" * 64, created_at=now - day, last_seen_at=now - day,
                         ended_at=now - day),
            LoginSession(id_hash="l" * 64, user_id=user_id, created_at=now, last_seen_at=now),
            LoginAttempt(key="account:old@example.test", failures=1,
                         first_failure_at=now - day),
            LoginAttempt(key="account:new@example.test", failures=1, first_failure_at=now),
            IdempotencyRecord(user_id=user_id, scope="POST /x", key="old", request_hash="0",
                              created_at=now - day - timedelta(minutes=1)),
            IdempotencyRecord(user_id=user_id, scope="POST /x", key="new", request_hash="0",
                              created_at=now - timedelta(hours=23)),
            FormDraft(id_hash="o" * 64, user_id=user_id, path="/x", fields="[]",
                      created_at=now - timedelta(hours=1, minutes=1)),
            FormDraft(id_hash="n" * 64, user_id=user_id, path="/x", fields="[]",
                      created_at=now - timedelta(minutes=59)),
        ])
        client = CdsClient(issuer="https://ehr.example.test", public_key="-",
                           prescribers=[s.get(User, user_id)])
        s.add(client)
        s.flush()
        s.add_all([CdsJwtId(client_id=client.id, jti="expired", expires_at=now - day),
                   CdsJwtId(client_id=client.id, jti="live",
                            expires_at=now + timedelta(minutes=5))])
    uploads = tmp_path / "instance" / "imports"
    uploads.mkdir(parents=True)
    for name, hours in (("o" * 64, 7), ("n" * 64, 5)):
        (uploads / f"{name}.jsonl").write_text("{}\n")
        stamp = (now - timedelta(hours=hours)).timestamp()
        os.utime(uploads / f"{name}.jsonl", (stamp, stamp))
    monkeypatch.setenv("TRACKER_IMPORT_UPLOAD_RETENTION_HOURS", "6")
    code, out, _ = run(capsys, "maintenance", "purge")
    assert code == 0
    assert out.strip() == ("removed 1 sign-in sessions, 1 login counters, "
                           "1 idempotency records, 1 form drafts, 1 expired CDS JWT ids, "
                           "1 unconfirmed import uploads")
    assert [p.name for p in uploads.iterdir()] == [f"{'n' * 64}.jsonl"]
    with db.transaction(writes=False) as s:
        assert s.scalars(select(LoginSession.id_hash)).all() == ["l" * 64]
        assert s.scalars(select(LoginAttempt.key)).all() == ["account:new@example.test"]
        assert s.scalars(select(IdempotencyRecord.key)).all() == ["new"]
        assert s.scalars(select(FormDraft.id_hash)).all() == ["n" * 64]
        assert s.scalars(select(CdsJwtId.jti)).all() == ["live"]
    db.engine.dispose()
    assert run(capsys, "maintenance", "purge")[1].startswith("removed 0 sign-in sessions")
    assert run(capsys, "audit", "verify")[0] == 0


def test_cds_clients_add_list_and_remove_are_audited(
        env: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from tracker.models import AuditEvent

    for n, email in enumerate(("one@example.test", "two@example.test")):
        assert run(capsys, "users", "create", "--role", "prescriber", "--email", email,
                   "--name", f"Doc {n}", "--npi", ("1234567893", "1245319599")[n])[0] == 0
    key = tmp_path / "ehr.pem"
    key.write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    code, out, _ = run(capsys, "cds-clients", "add", "--iss", "https://ehr.example.test",
                       "--public-key", str(key), "--prescriber", "one@example.test",
                       "--prescriber", "two@example.test")
    assert code == 0 and out.strip().isdigit()
    code, _, err = run(capsys, "cds-clients", "add", "--iss", "https://other.example.test",
                       "--public-key", str(key), "--prescriber", "one@example.test",
                       "--prescriber", "ghost@example.test")
    assert code != 0 and "ghost@example.test" in err
    code, out, _ = run(capsys, "cds-clients", "list")
    assert code == 0
    assert out.splitlines() == [
        f"{out.split()[0]}\thttps://ehr.example.test\tactive\tone@example.test,two@example.test"]
    assert run(capsys, "cds-clients", "remove", "--iss", "https://ehr.example.test")[0] == 0
    code, out, _ = run(capsys, "cds-clients", "list")
    assert "\trevoked " in out
    code, _, err = run(capsys, "cds-clients", "remove", "--iss", "https://ehr.example.test")
    assert code != 0 and "No registered client" in err
    db = Database(env)
    with db.transaction(writes=False) as s:
        actions = s.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("cds_client.%")).order_by(AuditEvent.id)).all()
    db.engine.dispose()
    assert actions == ["cds_client.registered", "cds_client.listed", "cds_client.revoked",
                       "cds_client.listed"]
