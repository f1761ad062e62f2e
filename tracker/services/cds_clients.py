"""The EHRs registered to call the CDS Hooks services: each signs its requests with a JWT whose
issuer (`iss`) names it and whose signature its public key verifies (CDS Hooks 2.0,
"Trusting CDS Clients"). The server operator registers them from the command line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tracker.models import CdsClient, CdsJwtId, Role, User
from tracker.services.audit import record_event
from tracker.services.context import Context
from tracker.services.errors import Forbidden, ValidationFailed

ISSUER_MAX = 255
PUBLIC_KEY_MAX = 16 * 1024  # far above any RSA or EC public key in PEM
_PEM_START = "-----BEGIN PUBLIC KEY-----"


def register_cds_client(ctx: Context, issuer: str, public_key_pem: str,
                        prescriber_emails: str | Sequence[str]) -> CdsClient:
    """Register an EHR by the issuer of its JWTs and its public key (PEM, RSA or EC), for the
    patients of the prescribers named (one or more). Only the system (the operator's command
    line) registers clients."""
    if ctx.actor.user_id is not None:
        raise Forbidden("CDS clients are registered by the server operator.")
    issuer = (issuer or "").strip()
    errors: dict[str, list[str]] = {}
    if not issuer or len(issuer) > ISSUER_MAX or any(c.isspace() for c in issuer):
        errors["iss"] = [f"Give the client's issuer (its iss claim): 1 to {ISSUER_MAX} "
                         f"characters, no spaces."]
    pem = (public_key_pem or "").strip()
    if len(pem) > PUBLIC_KEY_MAX or not pem.startswith(_PEM_START) or not _usable_key(pem):
        errors["public_key"] = ["Give an RSA or EC public key in PEM form "
                                f"(a file that starts with {_PEM_START})."]
    prescribers, unknown = _prescribers(
        ctx, [prescriber_emails] if isinstance(prescriber_emails, str) else prescriber_emails)
    if unknown or not prescribers:
        errors["prescriber"] = ["Give the email of an active prescriber for each --prescriber"
                                + (f" (not one: {', '.join(unknown)})." if unknown else ".")]
    if not errors and active_client(ctx, issuer) is not None:
        errors["iss"] = ["A client with this issuer is already registered."]
    if errors:
        raise ValidationFailed(errors)
    client = CdsClient(issuer=issuer, public_key=pem + "\n", prescribers=prescribers)
    ctx.session.add(client)
    try:
        with ctx.session.begin_nested():
            ctx.session.flush()
    except IntegrityError as exc:
        raise ValidationFailed({"iss": ["A client with this issuer was registered before; "
                                        "issuers are never reused."]}) from exc
    record_event(ctx, "cds_client.registered", "cds_client", client.id,
                 new={"iss": issuer, "prescriber_ids": [p.id for p in prescribers]})
    return client


def _prescribers(ctx: Context, emails: Sequence[str]) -> tuple[list[User], list[str]]:
    """The active prescribers of the emails (each once), and the emails that name none."""
    wanted = list(dict.fromkeys((e or "").strip().lower() for e in emails if (e or "").strip()))
    found = {u.email.lower(): u for u in ctx.session.scalars(select(User).where(
        func.lower(User.email).in_(wanted), User.role == Role.PRESCRIBER,
        User.active.is_(True)))} if wanted else {}
    return [found[e] for e in wanted if e in found], [e for e in wanted if e not in found]


def _usable_key(pem: str) -> bool:
    # Imported here so that only registering and verifying load the cryptography backend.
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(pem.encode())
    except ValueError:
        return False
    return isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)


def active_client(ctx: Context, issuer: str) -> CdsClient | None:
    """The registered, not revoked, client of an issuer."""
    return ctx.session.scalar(select(CdsClient).where(CdsClient.issuer == issuer,
                                                      CdsClient.revoked_at.is_(None)))


def list_cds_clients(ctx: Context) -> list[CdsClient]:
    """Every client ever registered, revoked ones included; the reading is audited (it names
    which EHR may ask about which prescribers' patients)."""
    if ctx.actor.user_id is not None:
        raise Forbidden("CDS clients are listed by the server operator.")
    clients = list(ctx.session.scalars(select(CdsClient).order_by(CdsClient.id)))
    record_event(ctx, "cds_client.listed", "cds_client", None, new={"count": len(clients)})
    return clients


def revoke_cds_client(ctx: Context, issuer: str) -> CdsClient:
    """Stop accepting a client's JWTs from the next request on. The row stays (revoked), so
    the audit trail keeps naming the client."""
    if ctx.actor.user_id is not None:
        raise Forbidden("CDS clients are removed by the server operator.")
    client = active_client(ctx, (issuer or "").strip())
    if client is None:
        raise ValidationFailed({"iss": ["No registered client has this issuer."]})
    client.revoked_at = ctx.now()
    record_event(ctx, "cds_client.revoked", "cds_client", client.id, new={"iss": client.issuer})
    return client


# Asymmetric algorithms only: a shared secret would have to be stored here, and "none" or an
# HMAC keyed with the public key would let anyone sign.
JWT_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
JWT_MAX = 8 * 1024
JWT_LEEWAY_SECONDS = 30


JTI_MAX = 255


def verify_client_jwt(ctx: Context, token: str, audience: str) -> CdsClient | None:
    """The registered client that signed `token` for `audience` (the CDS service's URL), or
    None: unknown or revoked issuer, bad signature, wrong or missing audience, expired, a
    `jti` already used, or missing one of iss, aud, exp, iat, jti (CDS Hooks 2.0, "Trusting
    CDS Clients"). A JWT accepted here is never accepted again: its `jti` is kept until it
    expires."""
    import jwt  # PyJWT; only CDS requests need it

    if not token or len(token) > JWT_MAX:
        return None
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
        issuer = unverified.get("iss")
        if not isinstance(issuer, str):
            return None
        client = active_client(ctx, issuer)
        if client is None:
            return None
        claims = jwt.decode(
            token, client.public_key, algorithms=list(JWT_ALGORITHMS), audience=audience,
            issuer=issuer, leeway=JWT_LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except jwt.PyJWTError:
        return None
    return client if _first_use(ctx, client, claims) else None


def _first_use(ctx: Context, client: CdsClient, claims: dict[str, object]) -> bool:
    """Keep the JWT's `jti` until the JWT expires; False when the client used it before. The
    unique constraint decides, so two requests racing with one JWT cannot both pass."""
    jti, exp = claims.get("jti"), claims.get("exp")
    if not isinstance(jti, str) or not jti or len(jti) > JTI_MAX or not isinstance(
            exp, int | float):
        return False
    expires_at = datetime.fromtimestamp(exp, UTC) + timedelta(seconds=JWT_LEEWAY_SECONDS)
    try:
        with ctx.session.begin_nested():
            ctx.session.add(CdsJwtId(client_id=client.id, jti=jti, expires_at=expires_at))
            ctx.session.flush()
    except IntegrityError:
        return False
    return True
