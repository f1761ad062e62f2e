"""The counts on the administration's home page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from tracker.models import ApiToken, Pharmacy, Role, User
from tracker.services.administration import require_admin
from tracker.services.context import Context
from tracker.services.pharmacies import pharmacy_facts_from, renewal


@dataclass(frozen=True)
class Overview:
    active_by_role: dict[Role, int]
    deactivated: int
    pharmacies: int
    pharmacies_inactive: int
    pharmacies_due: int
    active_tokens: int


def overview(ctx: Context) -> Overview:
    """The counts on the administration's home page."""
    require_admin(ctx)
    by_role = {role: 0 for role in Role}
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
        problems, due_on, _ = renewal(ctx, pharmacy_facts_from(activated_on, trained_on))
        inactive += bool(problems)
        due += due_on is not None
    tokens = ctx.session.scalar(
        select(func.count(ApiToken.id)).where(ApiToken.revoked_at.is_(None))) or 0
    return Overview(by_role, deactivated, total, inactive, due, tokens)
