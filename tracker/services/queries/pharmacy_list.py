"""The administration's pharmacy pages: the list with each pharmacy's standing, the ones to
renew soon, one pharmacy and its staff."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_, select

from tracker.models import Pharmacy, User
from tracker.services.administration import like_pattern, require_admin
from tracker.services.context import Context
from tracker.services.paging import PER_PAGE, Page, page_of, paginate
from tracker.services.pharmacies import (
    PharmacyStanding,
    pharmacy_by_id,
    pharmacy_facts_from,
    renewal,
    standing,
)


def _staff_counts(ctx: Context, pharmacy_ids: list[int]) -> dict[int, int]:
    if not pharmacy_ids:
        return {}
    rows = ctx.session.execute(
        select(User.pharmacy_id, func.count(User.id))
        .where(User.pharmacy_id.in_(pharmacy_ids), User.active.is_(True))
        .group_by(User.pharmacy_id)
    ).all()
    return {pharmacy_id: count for pharmacy_id, count in rows if pharmacy_id is not None}


def list_pharmacies(ctx: Context, page: int = 1, query: str = "",
                    per_page: int = PER_PAGE) -> Page[PharmacyStanding]:
    """Pharmacies by name (or NCPDP id), one page at a time, each with its standing."""
    require_admin(ctx)
    stmt = select(Pharmacy)
    like = like_pattern(query)
    if like is not None:
        stmt = stmt.where(or_(func.lower(Pharmacy.name).like(like, escape="\\"),
                              Pharmacy.ncpdp_id.like(like, escape="\\")))
    ordered = stmt.order_by(func.lower(Pharmacy.name), Pharmacy.id)
    found: Page[Pharmacy] = paginate(ctx.session, ordered, page, per_page, scalars=True)
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
        problems, due_on, _ = renewal(ctx, pharmacy_facts_from(activated_on, trained_on))
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


def get_pharmacy(ctx: Context, pharmacy_id: int) -> PharmacyStanding:
    require_admin(ctx)
    pharmacy = pharmacy_by_id(ctx, pharmacy_id)
    return standing(ctx, pharmacy, _staff_counts(ctx, [pharmacy.id]).get(pharmacy.id, 0))


def pharmacy_staff(ctx: Context, pharmacy_id: int, page: int = 1,
                   per_page: int = PER_PAGE) -> Page[User]:
    """The pharmacy's staff, active first, then by name."""
    require_admin(ctx)
    pharmacy_by_id(ctx, pharmacy_id)
    stmt = (select(User).where(User.pharmacy_id == pharmacy_id)
            .order_by(User.active.desc(), func.lower(User.name), User.id))
    return paginate(ctx.session, stmt, page, per_page, scalars=True)
