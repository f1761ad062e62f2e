"""The administration's list of API tokens."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from tracker.models import ApiToken, User
from tracker.services.administration import require_admin
from tracker.services.context import Context
from tracker.services.paging import PER_PAGE, Page, paginate


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
