"""The systems outside tracker that call it on their own behalf: CDS Hooks clients (EHRs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db import Base, utcnow
from tracker.models.people import User

# The prescribers a CDS client asks for: the EHR of a practice acts for the prescribers of that
# practice (a JWT names the EHR, never the clinician at the keyboard).
cds_client_prescribers = Table(
    "cds_client_prescribers", Base.metadata,
    Column("client_id", ForeignKey("cds_clients.id"), primary_key=True),
    Column("prescriber_id", ForeignKey("users.id"), primary_key=True, index=True),
)


class CdsClient(Base):
    """An EHR allowed to call the CDS services: the issuer (`iss`) of its JWTs, the public key
    (PEM) that verifies them and the prescribers whose patients it asks about (the EHR answers
    for their practice). Registered by the server operator; revoked, never deleted, so the
    audit trail keeps naming who it was."""

    __tablename__ = "cds_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255), unique=True)
    public_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    prescribers: Mapped[list[User]] = relationship(secondary=cds_client_prescribers,
                                                   order_by=User.id)


class CdsJwtId(Base):
    """The `jti` of a JWT a CDS client has used, kept until the JWT expires: a JWT is accepted
    once (CDS Hooks 2.0: the service should refuse a replayed `jti`). `tracker maintenance
    purge` removes the expired ones, which could not be replayed anyway."""

    __tablename__ = "cds_jwt_ids"
    __table_args__ = (UniqueConstraint("client_id", "jti", name="uq_cds_jwt_ids_client_jti"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("cds_clients.id"))
    jti: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(index=True)
