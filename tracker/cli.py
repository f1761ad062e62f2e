"""The `tracker` console script: schema, users, pharmacies, tokens, demo data, audit checks,
stored reports.

Each command runs in one transaction and exits non-zero with a one-line message on bad input."""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from contextlib import contextmanager, nullcontext
from datetime import date
from typing import Any

import click

from tracker.db import Database, sqlite_bulk_journal
from tracker.services.context import Actor, Context
from tracker.services.errors import NotFound, ValidationFailed


class Fail(click.ClickException):
    """A one-line error for the person at the terminal."""


def _app():  # type: ignore[no-untyped-def]
    from tracker import create_app

    return create_app()


@contextmanager
def _context(writes: bool = True, app: Any = None, snapshot: bool = False) -> Iterator[Context]:
    app = app or _app()
    database: Database = app.extensions["tracker.db"]
    try:
        with database.transaction(writes=writes, snapshot=snapshot) as session:
            yield Context(
                session=session,
                actor=Actor.system("tracker-cli"),
                program_timezone=app.config["PROGRAM_TIMEZONE"],
                policy_2026_effective=app.config["POLICY_2026_EFFECTIVE"],
                signature_keys=app.config["SIGNATURE_KEYRING"],
                audit_keys=app.config["AUDIT_KEYRING"],
                audit_unkeyed_events=app.config["AUDIT_UNKEYED_EVENTS"],
            )
    finally:
        database.engine.dispose()


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise Fail(f"{option} must be a date YYYY-MM-DD, not {value!r}") from exc


@click.group(help="Administer the tracker (database named by TRACKER_DATABASE_URL).")
def cli() -> None:
    pass


@cli.group(help="Database schema.")
def db() -> None:
    pass


@db.command("upgrade", help="Create or migrate the schema to the newest revision.")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    from tracker.migrate import upgrade

    config = _app().config
    upgrade(config["DATABASE_URL"], revision)
    click.echo(f"schema at {revision}")
    if config["APP_DB_ROLE"]:
        _grant(config["DATABASE_URL"], config["APP_DB_ROLE"])


@db.command("grant-app-role", help="PostgreSQL: let ROLE (an existing login role that owns "
            "nothing) read and write the records and only read and append to the audit trail. "
            "Run as the owner of the tables, after every upgrade.")
@click.argument("role")
def db_grant_app_role(role: str) -> None:
    _grant(_app().config["DATABASE_URL"], role)


def _grant(url: str, role: str) -> None:
    from tracker.app_role import grant_app_role

    try:
        grant_app_role(url, role)
    except ValueError as exc:
        raise Fail(str(exc)) from exc
    click.echo(f"granted the app's rights to {role} (audit trail: SELECT and INSERT only)")


@db.command("downgrade", help="Step the schema back to REVISION (e.g. -1 or base).")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    from tracker.migrate import downgrade

    downgrade(_app().config["DATABASE_URL"], revision)
    click.echo(f"schema at {revision}")


@db.command("check", help="Fail when the models and the migrations differ.")
def db_check() -> None:
    from alembic.util.exc import CommandError

    from tracker.migrate import check

    try:
        check(_app().config["DATABASE_URL"])
    except CommandError as exc:
        raise Fail(str(exc).splitlines()[0]) from exc
    click.echo("no drift between models and migrations")


@cli.group(help="People who log in.")
def users() -> None:
    pass


@users.command("create", help="Create a user; prints a one-time initial password if none given.")
@click.option("--role", required=True, help="admin, prescriber, pharmacist, staff or auditor")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--npi", help="prescribers: 10-digit NPI")
@click.option("--pharmacy", "pharmacy_id", help="pharmacy staff: the pharmacy's id")
@click.option("--works-for", "works_for", multiple=True, metavar="PRESCRIBER_EMAIL",
              help="office staff: a prescriber they work for (repeat for several)")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def users_create(role: str, email: str, name: str, npi: str | None, pharmacy_id: str | None,
                 works_for: tuple[str, ...], password_stdin: bool) -> None:
    from tracker.services.users import create_user

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    pid = None
    if pharmacy_id is not None:
        if not pharmacy_id.isdigit():
            raise Fail(f"unknown pharmacy {pharmacy_id!r}")
        pid = int(pharmacy_id)
    with _context() as ctx:
        new = create_user(ctx, role=role, email=email, name=name, password=password, npi=npi,
                          pharmacy_id=pid, works_for=list(works_for))
        user_id = new.user.id
    click.echo(f"created {role} {email} (id {user_id})")
    if new.initial_password:
        click.echo(f"initial password (shown once, to be changed at first login): "
                   f"{new.initial_password}")


@cli.group(help="Pharmacies.")
def pharmacies() -> None:
    pass


@pharmacies.command("create", help="Create a pharmacy; prints its id.")
@click.option("--name", required=True)
@click.option("--ncpdp", required=True, help="7-digit NCPDP id")
@click.option("--activated-on", help="activation date (default today)")
@click.option("--trained-on", help="staff training attestation date (default today)")
def pharmacies_create(name: str, ncpdp: str, activated_on: str | None,
                      trained_on: str | None) -> None:
    from tracker.services.pharmacies import create_pharmacy

    with _context() as ctx:
        pharmacy = create_pharmacy(ctx, name, ncpdp, _date(activated_on, "--activated-on"),
                                   _date(trained_on, "--trained-on"))
        pharmacy_id = pharmacy.id
    click.echo(str(pharmacy_id))


@cli.group(help="API tokens.")
def tokens() -> None:
    pass


@tokens.command("create", help=(
    "Create an API token for the user with this email; prints it. For the server operator "
    "bootstrapping the first integrations: a token signs as its owner, so hand it only to that "
    "user's own system. Users create their own tokens on their account page, after "
    "re-entering their password; the audit trail records this command as the creator."))
@click.argument("email")
def tokens_create(email: str) -> None:
    from tracker.services.tokens import create_token
    from tracker.services.users import user_by_email

    with _context() as ctx:
        try:
            user = user_by_email(ctx, email)
        except NotFound as exc:
            raise Fail(f"no user with email {email!r}") from exc
        token = create_token(ctx, user, label="command line")
    click.echo(token)


@cli.group("cds-clients", help="EHRs allowed to call the CDS Hooks services.")
def cds_clients() -> None:
    pass


@cds_clients.command("add", help=(
    "Register an EHR: the issuer (iss) of its JWTs, the file with its RSA or EC public key "
    "(PEM) and the prescribers whose patients it asks about (--prescriber, once per "
    "prescriber of the practice the EHR serves)."))
@click.option("--iss", "issuer", required=True)
@click.option("--public-key", "key_file", required=True, type=click.File("r"))
@click.option("--prescriber", "prescriber_emails", required=True, multiple=True)
def cds_clients_add(issuer: str, key_file, prescriber_emails: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    from tracker.services.cds_clients import PUBLIC_KEY_MAX, register_cds_client

    pem = key_file.read(PUBLIC_KEY_MAX + 1)
    with _context() as ctx:
        try:
            client = register_cds_client(ctx, issuer, pem, prescriber_emails)
        except ValidationFailed as exc:
            raise Fail(" ".join(m for ms in exc.errors.values() for m in ms)) from exc
        client_id = client.id
    click.echo(str(client_id))


@cds_clients.command("list", help="Print one line per registered EHR: id, issuer, whether it "
                     "is active or revoked, and the emails of its prescribers.")
def cds_clients_list() -> None:
    from tracker.services.cds_clients import list_cds_clients

    with _context() as ctx:
        lines = [
            "\t".join((str(c.id), c.issuer,
                       "active" if c.revoked_at is None else f"revoked {c.revoked_at:%Y-%m-%d}",
                       ",".join(p.email for p in c.prescribers)))
            for c in list_cds_clients(ctx)
        ]
    for line in lines:
        click.echo(line)


def _remove_cds_client(issuer: str) -> None:
    from tracker.services.cds_clients import revoke_cds_client

    with _context() as ctx:
        try:
            revoke_cds_client(ctx, issuer)
        except ValidationFailed as exc:
            raise Fail(" ".join(m for ms in exc.errors.values() for m in ms)) from exc


@cds_clients.command("remove", help="Stop accepting the JWTs of the EHR with this issuer (it "
                     "stays listed as revoked, for the audit trail).")
@click.option("--iss", "issuer", required=True)
def cds_clients_remove(issuer: str) -> None:
    _remove_cds_client(issuer)


@cds_clients.command("revoke", help="The same as remove.")
@click.option("--iss", "issuer", required=True)
def cds_clients_revoke(issuer: str) -> None:
    _remove_cds_client(issuer)


@cli.group(help="The audit trail.")
def audit() -> None:
    pass


@audit.command("verify", help="Check the audit trail's keyed hash chain and every e-signature; "
               "with --anchor, also that the chain still holds each anchored head.")
@click.option("--anchor", "anchor_file", type=click.Path(dir_okay=False),
              help="a file written by `tracker audit anchor --file` (or syslog lines of it)")
def audit_verify(anchor_file: str | None) -> None:
    from tracker.services.anchors import parse_anchors
    from tracker.services.integrity import verify_all

    anchors = None
    if anchor_file is not None:
        try:
            with open(anchor_file, encoding="utf-8") as lines:
                anchors = parse_anchors(lines.read())
        except (OSError, ValueError) as exc:
            raise Fail(f"cannot read the anchors: {exc}") from exc
        if not anchors:
            raise Fail(f"{anchor_file} holds no anchor")
    with _context(writes=False) as ctx:
        report = verify_all(ctx, anchors)
    if not report.chain.ok:
        where = "" if report.chain.first_broken_id is None else \
            f" at event {report.chain.first_broken_id}"
        raise Fail(f"audit trail broken{where}: {report.chain.problem}")
    if report.bad_signatures:
        raise Fail(f"{len(report.bad_signatures)} signature(s) do not verify, first: "
                   f"{report.bad_signatures[0]}")
    anchored = f", {len(anchors)} anchors hold" if anchors else ""
    legacy = (f" ({report.chain.unkeyed} from before the chain was keyed)"
              if report.chain.unkeyed else "")
    click.echo(f"audit trail intact: {report.chain.events} events{legacy}{anchored}; "
               f"{report.signatures_checked} signatures verify")


@audit.command("anchor", help="Record the audit chain's event count and head hash (with the "
               "time) outside the database: appended to FILE or sent to syslog.")
@click.option("--file", "anchor_file", type=click.Path(dir_okay=False),
              help="append the anchor to this file (keep it off the database's machine)")
@click.option("--syslog", "to_syslog", is_flag=True, help="send the anchor to syslog")
def audit_anchor(anchor_file: str | None, to_syslog: bool) -> None:
    import os

    from tracker.services.anchors import take_anchor

    if (anchor_file is None) == (not to_syslog):
        raise Fail("give exactly one of --file FILE and --syslog")
    with _context(writes=False) as ctx:
        anchor = take_anchor(ctx)
    if anchor_file is not None:
        try:
            fd = os.open(anchor_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as out:
                out.write(anchor.line() + "\n")
        except OSError as exc:
            raise Fail(f"cannot write the anchor: {exc}") from exc
    else:
        import syslog

        syslog.openlog("tracker", 0, syslog.LOG_AUTH)
        syslog.syslog(syslog.LOG_NOTICE, anchor.line())
        syslog.closelog()
    click.echo(anchor.line())


@cli.group(help="Housekeeping, to run from cron or a systemd timer.")
def maintenance() -> None:
    pass


@maintenance.command("purge", help="Remove ended or expired sign-in sessions, login counters "
                     "the throttle no longer needs and Idempotency-Key answers older than "
                     "TRACKER_IDEMPOTENCY_RETENTION_HOURS, form drafts kept after an expired "
                     "session for more than an hour, the ids of expired CDS client JWTs and "
                     "import files uploaded and not confirmed within "
                     "TRACKER_IMPORT_UPLOAD_RETENTION_HOURS; print how many of each.")
def maintenance_purge() -> None:
    from datetime import timedelta

    from tracker.services.maintenance import PurgeLimits, purge

    app = _app()
    config = app.config
    limits = PurgeLimits(
        session_idle=timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
        session_absolute=timedelta(hours=config["SESSION_ABSOLUTE_HOURS"]),
        idempotency_retention=timedelta(hours=config["IDEMPOTENCY_RETENTION_HOURS"]),
        import_upload_retention=timedelta(hours=config["IMPORT_UPLOAD_RETENTION_HOURS"]),
    )
    with _context(app=app) as ctx:
        report = purge(ctx, limits, app.instance_path)
    click.echo(f"removed {report.sessions} sign-in sessions, {report.login_attempts} login "
               f"counters, {report.idempotency_records} idempotency records, "
               f"{report.form_drafts} form drafts, {report.cds_jwt_ids} expired CDS JWT ids, "
               f"{report.import_uploads} unconfirmed import uploads")


@cli.group(help="The program report (docs/reports.md).")
def reports() -> None:
    pass


@reports.command("refresh", help=(
    "Count the program report ahead and store it: the page, its CSV files and the API serve a "
    "stored report instantly when it is exactly the period, rule set and day asked. Without "
    "options: the page's default period (the last twelve months) for every rule set and for "
    "each rule set in force during it, as of today; with --from, --to or --rule-set, that one "
    "period. Each report is counted on one consistent snapshot of the data and replaces the "
    "one stored before; audited. Meant for a nightly job, just after midnight in the program's "
    "time zone (a stored report is served only on the day it was counted as of)."))
@click.option("--from", "first", metavar="YYYY-MM-DD",
              help="first day (default: as on the page)")
@click.option("--to", "last", metavar="YYYY-MM-DD", help="last day (default: today)")
@click.option("--rule-set", "rule_set", metavar="ID",
              help="only the days this rule set was in force (default: every rule set)")
def reports_refresh(first: str | None, last: str | None, rule_set: str | None) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from tracker.services.queries.program_report import choose_period
    from tracker.services.stored_reports import count_for_storage, refresh_periods, store

    first_day, last_day = _date(first, "--from"), _date(last, "--to")
    if rule_set is not None and not rule_set.strip():
        raise Fail("--rule-set names a rule set; leave it out for every rule set")
    app = _app()
    with _context(writes=False, app=app) as ctx:
        try:
            periods = refresh_periods(ctx) if (first, last, rule_set) == (None, None, None) \
                else [choose_period(ctx, first_day, last_day, rule_set)]
        except ValidationFailed as exc:
            raise Fail(" ".join(f"--{name.replace('_', '-')}: {message}"
                                for name, messages in exc.errors.items()
                                for message in messages)) from exc
    for done, period in enumerate(periods):
        try:
            # Counted on one snapshot, read only; stored in a transaction of its own after it.
            with _context(writes=False, snapshot=True, app=app) as ctx:
                counted = count_for_storage(ctx, period)
            with _context(app=app) as ctx:
                store(ctx, counted)
        except SQLAlchemyError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise Fail(f"counting {period.rule_set or 'every rule set'}, "
                       f"{period.first.isoformat()} to {period.last.isoformat()} failed "
                       f"({reason}); nothing was stored for it ({done} report(s) before it "
                       f"were)") from exc
        click.echo(f"{period.rule_set or 'every rule set'}, {period.first.isoformat()} to "
                   f"{period.last.isoformat()}, as of {counted.report.as_of.isoformat()}: "
                   f"counted in {counted.milliseconds / 1000:.1f} s up to audit event "
                   f"{counted.watermark}; stored")


@cli.group(help="Reminder emails to patients and their care team.")
def notify() -> None:
    pass


@notify.command("run", help="Queue the reminders due today and send what is due through "
                "TRACKER_SMTP_URL (from TRACKER_MAIL_FROM). Safe to run every 15 minutes "
                "from cron or a systemd timer, and on several machines at once: no notice is "
                "sent twice. Exits 1 when the SMTP server could not be reached.")
def notify_run() -> None:
    from tracker.mail import MailConfigError
    from tracker.notify import run

    app = _app()
    database: Database = app.extensions["tracker.db"]
    try:
        report = run(app)
    except MailConfigError as exc:
        raise Fail(str(exc)) from exc
    finally:
        database.engine.dispose()
    click.echo(report.line())
    if report.server_down:
        raise Fail("the SMTP server could not be reached; unsent notices wait for the next run")


@cli.command("backup", help="Copy the database to PATH (SQLite online backup).")
@click.argument("path")
def backup(path: str) -> None:
    from tracker.backup import backup_sqlite

    url = _app().config["DATABASE_URL"]
    if not url.startswith("sqlite"):
        raise Fail("tracker backup copies SQLite databases; for PostgreSQL use pg_dump "
                   "(see the README)")
    try:
        count = backup_sqlite(url, path)
    except (OSError, ValueError) as exc:
        raise Fail(str(exc)) from exc
    click.echo(f"backed up {count} pages to {path}")


@cli.command("demo", help="Fill an empty database with demo users, pharmacies and patients; "
             "with --patients N, add N generated patients (bulk, for scale and benchmarks).")
@click.option("--if-empty", is_flag=True, help="do nothing when users exist already")
@click.option("--patients", type=click.IntRange(min=1), default=None,
              help="also generate N realistic patients with bulk inserts")
@click.option("--seed", type=int, default=2026, show_default=True,
              help="the same seed gives the same generated patients")
def demo(if_empty: bool, patients: int | None, seed: int) -> None:
    from pathlib import Path

    from tracker.demo import build_demo, has_users, write_logins

    app = _app()
    logins_file = Path(app.instance_path) / "demo-logins.txt"
    logins = None
    bulk = sqlite_bulk_journal(app.extensions["tracker.db"].engine) if patients else nullcontext()
    with bulk, _context(app=app) as ctx:
        if has_users(ctx.session):
            if if_empty:
                if logins_file.exists():
                    click.echo("Demo data is already there. Sign in with (role, email, "
                               "password):")
                    click.echo(logins_file.read_text().rstrip())
                return
            if patients is None:
                raise Fail("the database already has users; demo data goes into an empty one")
        else:
            logins = build_demo(ctx)
        if patients is not None:
            _generate(ctx, patients, seed)
    if logins is not None:
        write_logins(logins_file, logins)
        click.echo("Demo data created. Sign in with (role, email, password):")
        click.echo(logins_file.read_text().rstrip())
        click.echo(f"(kept in {logins_file})")


def _generate(ctx: Context, patients: int, seed: int) -> None:
    """N generated patients in the command's transaction, with a progress bar on stderr."""
    import time

    from tracker.bulkdemo import generate_patients, summary

    began = time.monotonic()
    with click.progressbar(length=patients, label="Generating patients", file=sys.stderr,
                           show_pos=True, show_eta=True) as bar:
        report = generate_patients(ctx, patients, seed, progress=bar.update, trust_keys=True)
    click.echo("\n".join(summary(report)))
    click.echo(f"written in {time.monotonic() - began:,.0f} s; committing", err=True)


@cli.command("import", help="Import patients already in treatment, with their history, from "
             "a JSON Lines file (one patient per line; see the README). The whole file is "
             "checked first: any invalid line and nothing is written. Then the patients are "
             "written in batches, each in its own transaction. Prints one JSON line per "
             "patient.")
@click.option("--prescriber", "prescriber_email", required=True,
              help="email of the prescriber the patients belong to")
@click.option("--dry-run", is_flag=True, help="validate and report, write nothing")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="processes checking the lines side by side  [default: the machine's cores]")
@click.option("--batch-size", type=click.IntRange(min=1), default=250, show_default=True,
              help="patients written per transaction")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_patients(prescriber_email: str, dry_run: bool, workers: int | None, batch_size: int,
                    file: str) -> None:
    import os
    import time

    from tracker.services.imports import build_settings, check_file, start_import

    with open(file, "rb") as source:
        data = source.read()
    began = time.monotonic()
    lines = sum(1 for line in data.splitlines() if line.strip())
    app = _app()
    with click.progressbar(length=2 * lines if not dry_run else lines,
                           label="Importing" if not dry_run else "Checking",
                           file=sys.stderr, show_pos=True, show_eta=True) as bar:
        try:
            # Checking reads only: no write lock is held while the lines are checked.
            with _context(writes=False, app=app) as ctx:
                plan = check_file(ctx, prescriber_email, os.path.basename(file), data,
                                  dry_run=dry_run, progress=bar.update,
                                  workers=workers or os.cpu_count() or 1)
        except NotFound as exc:
            raise Fail(str(exc)) from exc
        report = plan.report
        if not report.ok:
            for problem in report.problems:
                click.echo(problem, err=True)
            raise Fail(f"{len(report.problems)} problem(s) in {report.file_name}; "
                       f"nothing was imported")
        bar.update(lines - len(plan.fresh))  # lines with nothing to write
        batches = plan.batches(batch_size) if not dry_run else []
        if batches:
            with _context(app=app) as ctx:
                start_import(ctx, plan)
                settings = build_settings(ctx, plan)
            _write_batches(app, plan, batches, settings, workers or os.cpu_count() or 1, bar)
    report = plan.finish()
    for imported in report.ids:
        click.echo(imported.line())
    verb = "would import" if dry_run else "imported"
    click.echo(f"{verb} {report.new} new patient(s), {len(report.ids) - report.new} already "
               f"imported, from {report.file_name} (sha256 {report.sha256}) in "
               f"{time.monotonic() - began:,.1f} s", err=True)


def _write_batches(app: Any, plan: Any, batches: list[Any], settings: Any, workers: int,
                   bar: Any) -> None:
    """Each batch written in a transaction of its own. The rows of each are built before its
    transaction (by worker processes for a large file: the next batches while this one is
    written), which then only inserts: between batches the database serves others (on SQLite,
    the write lock is free). The whole file was checked before, so a batch fails only for a
    reason outside the file (the database, the disk)."""
    from concurrent.futures.process import BrokenProcessPool

    from sqlalchemy.exc import SQLAlchemyError

    from tracker.services.errors import Forbidden
    from tracker.services.import_lines import History
    from tracker.services.import_rows import BatchIds, RowBuilder, built_in_workers
    from tracker.services.imports import PARALLEL_FROM_LINES, reserve_batch_ids, write_batch

    def reserve(batch: list[History], after: BatchIds | None) -> BatchIds:
        with _context(writes=False, app=app) as ctx:
            return reserve_batch_ids(ctx, batch, after)

    prepared_batches: Generator[Any, None, None] = \
        built_in_workers(batches, settings, reserve, workers) \
        if workers > 1 and len(plan.fresh) >= PARALLEL_FROM_LINES else \
        (RowBuilder(settings).build(batch, reserve(batch, None)) for batch in batches)
    done = 0
    try:
        for number in range(1, len(batches) + 1):
            try:
                prepared = next(prepared_batches)
                with _context(app=app) as ctx:
                    write_batch(ctx, plan, prepared)
            # A worker process that died (killed, out of memory) fails its batch the same way.
            except (SQLAlchemyError, NotFound, Forbidden, OSError, BrokenProcessPool) as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise Fail(
                    f"writing batch {number} of {len(batches)} failed ({reason}); nothing of "
                    f"that batch was written. {done} patient(s) of earlier batches were "
                    f"written and stay (import {plan.report.import_id}). Run the same command "
                    f"again to import the rest: the patients already imported are found by "
                    f"their external_id and skipped") from exc
            done += len(prepared.batch)
            bar.update(len(prepared.batch))
    finally:
        prepared_batches.close()


@cli.command("serve", help="Serve the app on this machine (development server).")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
def serve(host: str, port: int) -> None:
    app = _app()
    click.echo(f"tracker is at http://{host}:{port}/ (Ctrl-C to stop)")
    app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point: every failure is one line on stderr and a non-zero exit."""
    from tracker.config import ConfigError

    try:
        cli.main(args=argv, prog_name="tracker", standalone_mode=False)
    except ValidationFailed as exc:
        messages = [m for ms in exc.errors.values() for m in ms]
        click.echo("tracker: " + " ".join(messages), err=True)
        return 1
    except (click.ClickException, ConfigError) as exc:
        message = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
        click.echo("tracker: " + message.splitlines()[0], err=True)
        return getattr(exc, "exit_code", 1) or 1
    except click.exceptions.Abort:
        click.echo("tracker: aborted", err=True)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
