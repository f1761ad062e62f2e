"""FHIR R4 endpoints of the REMS administrator: `$rems-etasu` (at the guide's path and at the
`/4_0_0/` path the reference clients call) and the CapabilityStatement.

The operation's guard, in order: a valid bearer token (401), a role that may ask (403), a body
of at most BODY_MAX bytes (413) sent as FHIR JSON or JSON (415), a readable Parameters (400).
Then the answer is 200: `failure` when the medication is not one of this program or no
patient the caller may see matches, the same whether the patient exists or not; or 429 when
pharmacy staff failed too many look-ups within the hour (tracker.services.counter_access)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, g, request
from flask.typing import ResponseReturnValue

from tracker.fhir.cors import allow_cors
from tracker.fhir.guidance import GUIDE, etasu_answer, etasu_failure
from tracker.fhir.medications import program_coding
from tracker.fhir.outcome import FHIR_JSON, fhir_json, operation_outcome
from tracker.fhir.parameters import Unreadable, read_etasu_request, read_json
from tracker.http.access import PERMISSION_ATTR, public
from tracker.http.bearer import admit_token_holder
from tracker.http.requests import context
from tracker.models import Role
from tracker.services.errors import Throttled
from tracker.services.rems_status import rems_status

bp = Blueprint("fhir", __name__)
BODY_MAX = 256 * 1024  # a Parameters with a Patient and a Medication(Request) is a few kB
BODY_TYPES = (FHIR_JSON, "application/json")
# Who may ask: prescribers about their own patients, pharmacy staff about any (folded). A new
# role is admitted here and given its patients in tracker.services.rems_status._scope.
ETASU_ROLES = (Role.PRESCRIBER, Role.STAFF, Role.PHARMACIST)
NOT_A_PROGRAM_DRUG = ("The medication is not one this REMS administers (isotretinoin, coded in "
                      "RxNorm or NDC).")
NO_PATIENT = ("No patient of this REMS that you may see matches the case number, or the name "
              "and birth date, sent.")


allow_cors(bp)


@bp.before_request
def _no_cookie_identity() -> None:
    # Like the JSON API, FHIR never uses the browser session: identity is the bearer token.
    g.user = None


def _token_holder(*roles: Role) -> Callable[[Callable[..., ResponseReturnValue]],
                                            Callable[..., ResponseReturnValue]]:
    allowed = tuple(str(r) for r in roles)

    def decorate(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
        @wraps(view)
        def guarded(**kwargs: Any) -> ResponseReturnValue:
            admit_token_holder(allowed)
            request.max_content_length = BODY_MAX
            if request.mimetype not in BODY_TYPES:
                abort(415)
            return view(**kwargs)

        setattr(guarded, PERMISSION_ATTR, ",".join(allowed))
        return guarded

    return decorate


@bp.errorhandler(Unreadable)
def _unreadable(exc: Unreadable) -> ResponseReturnValue:
    g.rollback = True
    return operation_outcome(400, str(exc))


@bp.errorhandler(Throttled)
def _throttled(exc: Throttled) -> ResponseReturnValue:
    # Not a rollback: the locked attempt was audited by the service.
    response = operation_outcome(429, f"{exc} Try again in {exc.retry_after} seconds.")
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@bp.route("/fhir/r4/GuidanceResponse/$rems-etasu", methods=["POST"])
@bp.route("/4_0_0/GuidanceResponse/$rems-etasu", methods=["POST"], endpoint="rems_etasu_alias")
@_token_holder(*ETASU_ROLES)
def rems_etasu() -> ResponseReturnValue:
    """Whether the REMS requirements of the patient's next fill are met (US Medication REMS
    `$rems-etasu`)."""
    asked = read_etasu_request(read_json(request.get_data(cache=True)))
    if program_coding(asked.medication) is None:
        return fhir_json(etasu_failure(NOT_A_PROGRAM_DRUG, asked.patient_reference))
    status = rems_status(context(), asked.query)
    if status is None:
        return fhir_json(etasu_failure(NO_PATIENT, asked.patient_reference))
    return fhir_json(etasu_answer(status, asked.patient_reference))


@bp.route("/fhir/r4/metadata", methods=["GET"])
@public
def metadata() -> ResponseReturnValue:
    """The CapabilityStatement: FHIR R4, JSON, the `$rems-etasu` operation on GuidanceResponse."""
    return fhir_json({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-01",
        "publisher": "tracker",
        "kind": "instance",
        "software": {"name": "tracker"},
        "implementation": {"description": "REMS administrator for the isotretinoin "
                                          "pregnancy-prevention program",
                           "url": request.url_root.rstrip("/") + "/fhir/r4"},
        "fhirVersion": "4.0.1",
        "format": [FHIR_JSON, "json"],
        "implementationGuide": [GUIDE],
        "rest": [{
            "mode": "server",
            "security": {"description": "Authorization: Bearer <API token> (tracker tokens "
                                        "create)."},
            "resource": [{
                "type": "GuidanceResponse",
                "operation": [{"name": "rems-etasu",
                               "definition": GUIDE + "/OperationDefinition/rems-etasu"}],
            }],
        }],
    })
