"""Program administration: pharmacies (activation, annual reactivation, staff training
attestation), users of every role (create, deactivate, reactivate, reset a password) and API
tokens. Only admins act here; every change is audited in the transaction that makes it.

A user is never deleted (audit rows and records point at the id, which is never reused):
deactivation ends every browser session of the user and revokes their API tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import String, cast, func, or_, select, update

from tracker.domain.facts import PharmacyFacts
from tracker.domain.policy import pharmacy_problems
from tracker.models import ApiToken, AuditEvent, LoginSession, Pharmacy, Role, User
from tracker.services import people
from tracker.services.audit import record_event
from tracker.services.context import Context
from tracker.services.errors import Forbidden, NotFound, ValidationFailed, require
from tracker.services.paging import PER_PAGE, Page, page_of, paginate
from tracker.services.passwords import hash_password

REASON_MAX = 500
LABEL_MAX = 100
NAME_MAX = 200
QUERY_MAX = 100
# How far ahead the administration warns that a pharmacy's activation or staff training
# attestation runs out, so that it can be renewed before the counter is refused.
RENEWAL_NOTICE_DAYS = 30


def require_admin(ctx: Context) -> None:
    """Only administrators manage the program."""
    if ctx.actor.role != Role.ADMIN:
        raise Forbidden("Only administrators manage pharmacies, users and tokens.")


def _reason(errors: dict[str, list[str]], value: str | None, what: str) -> str:
    text = " ".join((value or "").split())
    if not text:
        errors.setdefault("reason", []).append(f"Say why {what}.")
    elif len(text) > REASON_MAX:
        errors.setdefault("reason", []).append(f"The reason has at most {REASON_MAX} characters.")
    return text


def _like(query: str) -> str | None:
    query = " ".join((query or "").split())[:QUERY_MAX].lower()
    if not query:
        return None
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# --- pharmacies ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PharmacyStanding:
    """A pharmacy and what RULES.md §3 says of it today: `problems` is what must be renewed for
    it to dispense (empty: active); `due_on` is the first day within the notice period on which
    it would stop being active, with `due` saying what runs out then."""

    pharmacy: Pharmacy
    problems: tuple[str, ...]
    due_on: date | None = None
    due: tuple[str, ...] = ()
    staff: int = 0

    @property
    def active(self) -> bool:
        return not self.problems


def _facts(activated_on: date, trained_on: date | None) -> PharmacyFacts:
    return PharmacyFacts(activated_on=activated_on, trained_on=trained_on)


def _problems_on(ctx: Context, facts: PharmacyFacts, day: date) -> tuple[str, ...]:
    return pharmacy_problems(facts, day, ctx.policy(day))


def _renewal(ctx: Context, facts: PharmacyFacts) -> tuple[tuple[str, ...], date | None,
                                                             tuple[str, ...]]:
    """Today's problems, and for an active pharmacy the first day of the notice period on which
    the rules engine would find it inactive (the engine decides; this only asks it per day)."""
    today = ctx.today()
    problems = _problems_on(ctx, facts, today)
    if problems:
        return problems, None, ()
    horizon = today + timedelta(days=RENEWAL_NOTICE_DAYS)
    if not _problems_on(ctx, facts, horizon):
        return problems, None, ()
    for offset in range(1, RENEWAL_NOTICE_DAYS + 1):
        day = today + timedelta(days=offset)
        due = _problems_on(ctx, facts, day)
        if due:
            return problems, day, due
    return problems, None, ()  # pragma: no cover - the horizon itself had problems


def standing(ctx: Context, pharmacy: Pharmacy, staff: int = 0) -> PharmacyStanding:
    """Whether the pharmacy may dispense today and what it must renew (any role may ask: the
    counter is told what its own pharmacy must renew)."""
    problems, due_on, due = _renewal(ctx, _facts(pharmacy.activated_on, pharmacy.trained_on))
    return PharmacyStanding(pharmacy, problems, due_on, due, staff)


def _staff_counts(ctx: Context, pharmacy_ids: list[int]) -> dict[int, int]:
    if not pharmacy_ids:
        return {}
    rows = ctx.session.execute(
        select(User.pharmacy_id, func.count(User.id))
        .where(User.pharmacy_id.in_(pharmacy_ids), User.active.is_(True))
        .group_by(User.pharmacy_id)
    ).all()
    return {pharmacy_id: count for pharmacy_id, count in rows}


def list_pharmacies(ctx: Context, page: int = 1, query: str = "",
                    per_page: int = PER_PAGE) -> Page[PharmacyStanding]:
    """Pharmacies by name (or NCPDP id), one page at a time, each with its standing."""
    require_admin(ctx)
    stmt = select(Pharmacy)
    like = _like(query)
    if like is not None:
        stmt = stmt.where(or_(func.lower(Pharmacy.name).like(like, escape="\\"),
                              Pharmacy.ncpdp_id.like(like, escape="\\")))
    found = paginate(ctx.session, stmt.order_by(func.lower(Pharmacy.name), Pharmacy.id),
                     page, per_page, scalars=True)
    counts = _staff_counts(ctx, [p.id for p in found.items])
    items = [standing(ctx, p, counts.get(p.id, 0)) for p in found.items]
    return Page(items, found.number, found.per_page, found.total)


def pharmacies_needing_renewal(ctx: Context, page: int = 1,
                               per_page: int = PER_PAGE) -> Page[PharmacyStanding]:
    """Pharmacies that are inactive today or will be within the notice period, the ones that
    run out first listed first."""
    require_admin(ctx)
    rows = ctx.session.execute(
        select(Pharmacy.id, Pharmacy.activated_on, Pharmacy.trained_on).order_by(Pharmacy.id)
    ).all()
    flagged: list[tuple[date, int]] = []
    today = ctx.today()
    for pharmacy_id, activated_on, trained_on in rows:
        problems, due_on, _ = _renewal(ctx, _facts(activated_on, trained_on))
        if problems:
            flagged.append((today, pharmacy_id))
        elif due_on is not None:
            flagged.append((due_on, pharmacy_id))
    flagged.sort()
    chosen = page_of(flagged, page, per_page)
    ids = [pharmacy_id for _, pharmacy_id in chosen.items]
    by_id = {p.id: p for p in ctx.session.scalars(select(Pharmacy).where(Pharmacy.id.in_(ids)))}
    counts = _staff_counts(ctx, ids)
    items = [standing(ctx, by_id[i], counts.get(i, 0)) for i in ids]
    return Page(items, chosen.number, chosen.per_page, chosen.total)


def _pharmacy(ctx: Context, pharmacy_id: int) -> Pharmacy:
    pharmacy = ctx.session.get(Pharmacy, pharmacy_id)
    if pharmacy is None:
        raise NotFound("no such pharmacy")
    return pharmacy


def get_pharmacy(ctx: Context, pharmacy_id: int) -> PharmacyStanding:
    require_admin(ctx)
    pharmacy = _pharmacy(ctx, pharmacy_id)
    return standing(ctx, pharmacy, _staff_counts(ctx, [pharmacy.id]).get(pharmacy.id, 0))


def pharmacy_staff(ctx: Context, pharmacy_id: int, page: int = 1,
                   per_page: int = PER_PAGE) -> Page[User]:
    """The pharmacy's staff, active first, then by name."""
    require_admin(ctx)
    _pharmacy(ctx, pharmacy_id)
    stmt = (select(User).where(User.pharmacy_id == pharmacy_id)
            .order_by(User.active.desc(), func.lower(User.name), User.id))
    return paginate(ctx.session, stmt, page, per_page, scalars=True)


def create_pharmacy(ctx: Context, name: str, ncpdp_id: str, activated_on: date | None,
                    trained_on: date | None) -> Pharmacy:
    """A new pharmacy with its activation and staff training attestation dates (today when
    not given)."""
    require_admin(ctx)
    return people.create_pharmacy(ctx, name, (ncpdp_id or "").strip(), activated_on, trained_on)


def _check_program_day(errors: dict[str, list[str]], field: str, value: date | None,
                       today: date, what: str, required: bool = True) -> None:
    if value is None:
        if required:
            errors.setdefault(field, []).append(f"Enter the {what} (YYYY-MM-DD).")
    elif value > today:
        errors.setdefault(field, []).append(
            f"The {what} cannot be after today ({today.isoformat()}).")


def edit_pharmacy(ctx: Context, pharmacy_id: int, *, name: str, ncpdp_id: str,
                  activated_on: date | None, trained_on: date | None,
                  reason: str | None) -> Pharmacy:
    """Correct a pharmacy's details. The audit event keeps the old and the new values and why."""
    require_admin(ctx)
    pharmacy = _pharmacy(ctx, pharmacy_id)
    errors: dict[str, list[str]] = {}
    name = " ".join((name or "").split())
    ncpdp_id = (ncpdp_id or "").strip()
    if not name or len(name) > NAME_MAX:
        errors.setdefault("name", []).append(
            f"Enter the pharmacy's name (1 to {NAME_MAX} characters).")
    if not people.ncpdp_is_valid(ncpdp_id):
        errors.setdefault("ncpdp_id", []).append("The NCPDP id has exactly 7 digits.")
    elif ctx.session.scalar(select(Pharmacy.id).where(Pharmacy.ncpdp_id == ncpdp_id,
                                                      Pharmacy.id != pharmacy.id)):
        errors.setdefault("ncpdp_id", []).append("Another pharmacy has this NCPDP id.")
    today = ctx.today()
    _check_program_day(errors, "activated_on", activated_on, today, "activation date")
    _check_program_day(errors, "trained_on", trained_on, today,
                       "staff training attestation date", required=False)
    text = _reason(errors, reason, "the pharmacy is changed")
    require(errors)
    assert activated_on is not None
    old = {"name": pharmacy.name, "ncpdp_id": pharmacy.ncpdp_id,
           "activated_on": pharmacy.activated_on, "trained_on": pharmacy.trained_on}
    new = {"name": name, "ncpdp_id": ncpdp_id, "activated_on": activated_on,
           "trained_on": trained_on}
    changed = {k for k in new if new[k] != old[k]}
    if not changed:
        raise ValidationFailed(
            {"pharmacy": ["Nothing was changed: the values are the ones on file."]})
    pharmacy.name, pharmacy.ncpdp_id = name, ncpdp_id
    pharmacy.activated_on, pharmacy.trained_on = activated_on, trained_on
    ctx.session.flush()
    record_event(ctx, "pharmacy.updated", "pharmacy", pharmacy.id,
                 old={k: old[k] for k in sorted(changed)},
                 new={k: new[k] for k in sorted(changed)}, reason=text)
    return pharmacy


def record_reactivation(ctx: Context, pharmacy_id: int, activated_on: date | None) -> Pharmacy:
    """RULES.md §3: the annual reactivation starts a new 365-day activation on its date."""
    require_admin(ctx)
    pharmacy = _pharmacy(ctx, pharmacy_id)
    errors: dict[str, list[str]] = {}
    today = ctx.today()
    _check_program_day(errors, "activated_on", activated_on, today, "reactivation date")
    if activated_on is not None and activated_on < pharmacy.activated_on:
        errors.setdefault("activated_on", []).append(
            f"A reactivation cannot be dated before the current activation "
            f"({pharmacy.activated_on.isoformat()}); correct the date with Edit instead.")
    require(errors)
    assert activated_on is not None
    old = pharmacy.activated_on
    pharmacy.activated_on = activated_on
    ctx.session.flush()
    record_event(ctx, "pharmacy.reactivated", "pharmacy", pharmacy.id,
                 old={"activated_on": old}, new={"activated_on": activated_on})
    return pharmacy


def record_training(ctx: Context, pharmacy_id: int, trained_on: date | None,
                    attested_by: str | None) -> Pharmacy:
    """RULES.md §3 (from ipledge-2026): the pharmacy attests that its staff are trained; the
    attestation counts for 365 days from its date."""
    require_admin(ctx)
    pharmacy = _pharmacy(ctx, pharmacy_id)
    errors: dict[str, list[str]] = {}
    today = ctx.today()
    _check_program_day(errors, "trained_on", trained_on, today, "attestation date")
    if (trained_on is not None and pharmacy.trained_on is not None
            and trained_on < pharmacy.trained_on):
        errors.setdefault("trained_on", []).append(
            f"An attestation cannot be dated before the current one "
            f"({pharmacy.trained_on.isoformat()}); correct the date with Edit instead.")
    who = " ".join((attested_by or "").split())
    if not who or len(who) > NAME_MAX:
        errors.setdefault("attested_by", []).append(
            f"Enter the name of the pharmacist who signed the attestation (1 to {NAME_MAX} "
            f"characters).")
    require(errors)
    assert trained_on is not None
    old = pharmacy.trained_on
    pharmacy.trained_on = trained_on
    ctx.session.flush()
    record_event(ctx, "pharmacy.training_attested", "pharmacy", pharmacy.id,
                 old={"trained_on": old}, new={"trained_on": trained_on, "attested_by": who})
    return pharmacy


# --- users --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserRow:
    """A user as the administration lists them."""

    user: User
    pharmacy: Pharmacy | None
    last_seen: datetime | None
    active_tokens: int


USER_STATUSES = ("active", "deactivated")


def _user_rows(ctx: Context):  # type: ignore[no-untyped-def]
    last_seen = (
        select(LoginSession.user_id.label("user_id"),
               func.max(LoginSession.last_seen_at).label("last_seen"))
        .where(LoginSession.user_id.is_not(None))
        .group_by(LoginSession.user_id)
        .subquery()
    )
    tokens = (
        select(ApiToken.user_id.label("user_id"), func.count(ApiToken.id).label("tokens"))
        .where(ApiToken.revoked_at.is_(None))
        .group_by(ApiToken.user_id)
        .subquery()
    )
    return (
        select(User, Pharmacy, last_seen.c.last_seen, tokens.c.tokens)
        .outerjoin(Pharmacy, Pharmacy.id == User.pharmacy_id)
        .outerjoin(last_seen, last_seen.c.user_id == User.id)
        .outerjoin(tokens, tokens.c.user_id == User.id)
    )


def _row(found: object) -> UserRow:
    user, pharmacy, seen, tokens = found  # type: ignore[misc]
    return UserRow(user, pharmacy, seen, tokens or 0)


def list_users(ctx: Context, page: int = 1, query: str = "", role: str | None = None,
               status: str | None = None, per_page: int = PER_PAGE) -> Page[UserRow]:
    """Users by name, filtered by a name or email fragment, role and status."""
    require_admin(ctx)
    stmt = _user_rows(ctx)
    like = _like(query)
    if like is not None:
        stmt = stmt.where(or_(func.lower(User.name).like(like, escape="\\"),
                              func.lower(User.email).like(like, escape="\\")))
    if role in {r.value for r in Role}:
        stmt = stmt.where(User.role == role)
    if status == "active":
        stmt = stmt.where(User.active.is_(True))
    elif status == "deactivated":
        stmt = stmt.where(User.active.is_(False))
    stmt = stmt.order_by(func.lower(User.name), User.id)
    return paginate(ctx.session, stmt, page, per_page, row=_row)


def get_user(ctx: Context, user_id: int) -> UserRow:
    require_admin(ctx)
    found = ctx.session.execute(_user_rows(ctx).where(User.id == user_id)).one_or_none()
    if found is None:
        raise NotFound("no such user")
    return _row(found)


def _user(ctx: Context, user_id: int) -> User:
    user = ctx.session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    return user


def create_user(ctx: Context, *, role: str, email: str, name: str, npi: str | None,
                pharmacy_ncpdp: str | None, fast_hash: bool = False) -> people.NewUser:
    """A user of any role with a one-time initial password, to be changed at the first login.
    Pharmacy staff are attached to a pharmacy by its NCPDP id."""
    require_admin(ctx)
    ncpdp = (pharmacy_ncpdp or "").strip()
    pharmacy_id = None
    if ncpdp:
        # An unknown NCPDP id becomes id 0, which no pharmacy has, so that people.create_user
        # refuses it along with every other field error.
        pharmacy_id = ctx.session.scalar(
            select(Pharmacy.id).where(Pharmacy.ncpdp_id == ncpdp)) or 0
    try:
        return people.create_user(ctx, role=role, email=email, name=name,
                                  npi=(npi or "").strip() or None, pharmacy_id=pharmacy_id,
                                  fast_hash=fast_hash)
    except ValidationFailed as exc:
        errors = dict(exc.errors)
        if "pharmacy" in errors:
            if role != Role.PHARMACIST:
                message = "Only pharmacy staff belong to a pharmacy; leave the NCPDP id empty."
            elif not ncpdp:
                message = "Enter the NCPDP id of the pharmacy this person works at."
            else:
                message = f"No pharmacy has the NCPDP id {ncpdp}."
            errors["pharmacy"] = [message]
        raise ValidationFailed(errors) from None


def end_sessions(ctx: Context, user_id: int) -> int:
    """End every open browser session of the user; returns how many were open."""
    return ctx.session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
        .values(ended_at=ctx.now())
    ).rowcount


def deactivate_user(ctx: Context, user_id: int, reason: str | None) -> User:
    """Take a user out of the program: they can no longer sign in or use the API, their open
    sessions end and their tokens are revoked at once. A deactivated prescriber's prescriptions
    can no longer be marked dispensable or dispensed (RULES.md §3, PRESCRIBER_INACTIVE)."""
    require_admin(ctx)
    user = _user(ctx, user_id)
    errors: dict[str, list[str]] = {}
    text = _reason(errors, reason, "the user is deactivated")
    if user.id == ctx.actor.user_id:
        errors.setdefault("user", []).append(
            "You cannot deactivate your own account; another administrator can.")
    require(errors)
    now = ctx.now()
    # Conditional, so that two administrators pressing the button record one deactivation.
    moved = ctx.session.execute(
        update(User).where(User.id == user.id, User.active.is_(True))
        .values(active=False, deactivated_at=now)
    ).rowcount
    if moved != 1:
        raise ValidationFailed({"user": ["This user is already deactivated."]})
    sessions = end_sessions(ctx, user.id)
    tokens = ctx.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    ctx.session.flush()
    ctx.session.refresh(user)
    record_event(ctx, "user.deactivated", "user", user.id, old={"active": True},
                 new={"active": False, "sessions_ended": sessions, "tokens_revoked": tokens},
                 reason=text)
    return user


def reactivate_user(ctx: Context, user_id: int, reason: str | None) -> User:
    """Let a deactivated user back in with the same id. Their old tokens stay revoked."""
    require_admin(ctx)
    user = _user(ctx, user_id)
    errors: dict[str, list[str]] = {}
    text = _reason(errors, reason, "the user is reactivated")
    require(errors)
    moved = ctx.session.execute(
        update(User).where(User.id == user.id, User.active.is_(False))
        .values(active=True, deactivated_at=None)
    ).rowcount
    if moved != 1:
        raise ValidationFailed({"user": ["This user is already active."]})
    ctx.session.flush()
    ctx.session.refresh(user)
    record_event(ctx, "user.reactivated", "user", user.id, old={"active": False},
                 new={"active": True}, reason=text)
    return user


def reset_password(ctx: Context, user_id: int, fast_hash: bool = False) -> str:
    """Replace a forgotten password by a one-time one, to be changed at the next sign-in; the
    user's open sessions end. Returns the one-time password, which is stored only hashed."""
    require_admin(ctx)
    user = _user(ctx, user_id)
    if not user.active:
        raise ValidationFailed({"user": ["Reactivate the user before resetting the password."]})
    initial = secrets.token_urlsafe(12)
    user.password_hash = hash_password(initial, fast=fast_hash)
    user.must_change_password = True
    user.password_changed_at = ctx.now()
    sessions = end_sessions(ctx, user.id)
    ctx.session.flush()
    record_event(ctx, "user.password_reset", "user", user.id,
                 new={"must_change_password": True, "sessions_ended": sessions})
    return initial


# --- API tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenRow:
    token: ApiToken
    user: User


TOKEN_STATUSES = ("active", "revoked", "all")


def list_tokens(ctx: Context, page: int = 1, status: str = "active", user_id: int | None = None,
                per_page: int = PER_PAGE) -> Page[TokenRow]:
    """API tokens, newest first; never the tokens themselves, only their first characters."""
    require_admin(ctx)
    stmt = select(ApiToken, User).join(User, User.id == ApiToken.user_id)
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    if status == "active":
        stmt = stmt.where(ApiToken.revoked_at.is_(None))
    elif status == "revoked":
        stmt = stmt.where(ApiToken.revoked_at.is_not(None))
    stmt = stmt.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    return paginate(ctx.session, stmt, page, per_page,
                    row=lambda found: TokenRow(found[0], found[1]))


def issue_token(ctx: Context, user_id: int, label: str | None) -> str:
    """A new API token for the user, returned once and stored only as a hash."""
    require_admin(ctx)
    user = _user(ctx, user_id)
    text = " ".join((label or "").split()) or None
    if text is not None and len(text) > LABEL_MAX:
        raise ValidationFailed({"label": [f"The label has at most {LABEL_MAX} characters."]})
    return people.create_token(ctx, user, text)


def revoke_token(ctx: Context, token_id: int) -> ApiToken:
    """Revoke a token; it stops working with the next request."""
    require_admin(ctx)
    return people.revoke_token(ctx, token_id)


# --- the overview and the audit trail of one object -------------------------------------------


@dataclass(frozen=True)
class Overview:
    active_by_role: dict[str, int]
    deactivated: int
    pharmacies: int
    pharmacies_inactive: int
    pharmacies_due: int
    active_tokens: int


def overview(ctx: Context) -> Overview:
    """The counts on the administration's home page."""
    require_admin(ctx)
    by_role = {role.value: 0 for role in Role}
    for role, count in ctx.session.execute(
        select(User.role, func.count(User.id)).where(User.active.is_(True)).group_by(User.role)
    ):
        by_role[role] = count
    deactivated = ctx.session.scalar(
        select(func.count(User.id)).where(User.active.is_(False))) or 0
    inactive = due = total = 0
    for activated_on, trained_on in ctx.session.execute(
        select(Pharmacy.activated_on, Pharmacy.trained_on)
    ):
        total += 1
        problems, due_on, _ = _renewal(ctx, _facts(activated_on, trained_on))
        inactive += bool(problems)
        due += due_on is not None
    tokens = ctx.session.scalar(
        select(func.count(ApiToken.id)).where(ApiToken.revoked_at.is_(None))) or 0
    return Overview(by_role, deactivated, total, inactive, due, tokens)


def history(ctx: Context, object_type: str, object_id: int, page: int = 1,
            per_page: int = 10) -> Page[tuple[AuditEvent, str | None]]:
    """The audit events of one user or pharmacy, newest first, with the acting user's name.
    A user's history includes the issuing and revoking of their API tokens."""
    require_admin(ctx)
    if object_type not in {"user", "pharmacy"}:
        raise NotFound("no such history")
    about = (AuditEvent.object_type == object_type) & (AuditEvent.object_id == str(object_id))
    if object_type == "user":
        # Audit rows name their object by a string id.
        tokens = select(cast(ApiToken.id, String(40))).where(ApiToken.user_id == object_id)
        about = about | ((AuditEvent.object_type == "api_token")
                         & AuditEvent.object_id.in_(tokens))
    stmt = (
        select(AuditEvent, User.name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(about)
        .order_by(AuditEvent.id.desc())
    )
    return paginate(ctx.session, stmt, page, per_page,
                    row=lambda found: (found[0], found[1]))
