"""The administration's user pages: users with their pharmacy, when they were last seen and
how many API tokens they hold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from tracker.models import ApiToken, LoginSession, Pharmacy, Role, User
from tracker.services.administration import like_pattern, require_admin
from tracker.services.context import Context
from tracker.services.errors import NotFound
from tracker.services.paging import PER_PAGE, Page, paginate


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


def _row(found: Sequence[Any]) -> UserRow:
    user, pharmacy, seen, tokens = found
    return UserRow(user, pharmacy, seen, tokens or 0)


def list_users(ctx: Context, page: int = 1, query: str = "", role: str | None = None,
               status: str | None = None, per_page: int = PER_PAGE) -> Page[UserRow]:
    """Users by name, filtered by a name or email fragment, role and status."""
    require_admin(ctx)
    stmt = _user_rows(ctx)
    like = like_pattern(query)
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
