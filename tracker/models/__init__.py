"""The ORM: one module per aggregate. Importing this package registers every table on
`Base.metadata` (Alembic's env.py and the tests rely on it)."""

from tracker.db import Base
from tracker.models.audit import AuditEvent
from tracker.models.imports import ImportedPatient, PatientImport
from tracker.models.interop import CdsClient, CdsJwtId
from tracker.models.notices import Notice, NoticeAudience, NoticeStatus
from tracker.models.patient import Acknowledgment, CategoryChange, CourseEnd, Patient
from tracker.models.people import (
    ApiToken,
    FormDraft,
    LoginAttempt,
    LoginSession,
    PasswordReset,
    Pharmacy,
    Role,
    StaffAssignment,
    User,
)
from tracker.models.portal import PatientAccount, PortalInvitation
from tracker.models.prescription import (
    Authorization,
    AuthorizationState,
    Dispense,
    IdempotencyRecord,
    Prescription,
)
from tracker.models.records import (
    ComprehensionAttempt,
    ContraceptionEntry,
    Counseling,
    PregnancyTest,
)
from tracker.models.reports import StoredReport

__all__ = [
    "Acknowledgment",
    "ApiToken",
    "AuditEvent",
    "Authorization",
    "AuthorizationState",
    "Base",
    "CategoryChange",
    "CdsClient",
    "CdsJwtId",
    "ComprehensionAttempt",
    "ContraceptionEntry",
    "Counseling",
    "CourseEnd",
    "Dispense",
    "FormDraft",
    "IdempotencyRecord",
    "ImportedPatient",
    "LoginAttempt",
    "LoginSession",
    "Notice",
    "NoticeAudience",
    "NoticeStatus",
    "PasswordReset",
    "Patient",
    "PatientAccount",
    "PatientImport",
    "Pharmacy",
    "PortalInvitation",
    "PregnancyTest",
    "Prescription",
    "Role",
    "StaffAssignment",
    "StoredReport",
    "User",
]
