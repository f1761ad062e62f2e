"""CDS Hooks 2.0 services: at order time (order-select, order-sign) an EHR sends the draft
orders and the patient; for an isotretinoin MedicationRequest the answer has a card for every
unmet requirement of the patient's next fill and an info card for an open authorization.

The EHR authenticates as the specification says: a JWT in `Authorization: Bearer`, signed with
the private key of a client registered with `tracker cds-clients add`, for this service's URL
as audience, used once (its `jti` is kept until it expires). It asks about the patients of the
prescribers it was registered for. The request is read strictly (tracker.fhir.cds_request):
anything malformed is a 400 naming the field, never a silent "no cards"."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import Blueprint, abort, g, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from tracker.fhir.cds_request import HookRequest, Malformed, read_hook_request
from tracker.fhir.cors import allow_cors
from tracker.fhir.medications import program_coding
from tracker.fhir.outcome import operation_outcome
from tracker.fhir.requirements import named_requirements
from tracker.http.access import PERMISSION_ATTR, public
from tracker.http.bearer import bearer_token
from tracker.http.requests import client_addr, context, request_id
from tracker.models import CdsClient
from tracker.services.cds_clients import verify_client_jwt
from tracker.services.context import Actor
from tracker.services.rems_status import PatientQuery, RemsStatus, rems_status

bp = Blueprint("cds", __name__, url_prefix="/cds-services")
BODY_MAX = 512 * 1024  # draft orders and a prefetched Patient
SOURCE = {"label": "tracker REMS administrator (iPLEDGE)"}
SERVICES = {
    "rems-order-sign": "order-sign",
    "rems-order-select": "order-select",
}
CASE_NUMBER_SYSTEM = "urn:tracker:program-number"
CDS_CLIENT = "cds-client"  # the permission: a JWT of a registered client


allow_cors(bp)


@bp.before_request
def _no_cookie_identity() -> None:
    g.user = None


@bp.route("", methods=["GET"])
@public
def discovery() -> ResponseReturnValue:
    """The services offered (CDS Hooks discovery); it holds no patient data."""
    return jsonify({"services": [
        {
            "hook": hook,
            "id": service,
            "title": "iPLEDGE REMS requirements",
            "description": "Cards for each unmet REMS requirement of the patient's next "
                           "isotretinoin fill, with the date it can be met.",
            "prefetch": {"patient": "Patient/{{context.patientId}}"},
        }
        for service, hook in SERVICES.items()
    ]})


def _client() -> CdsClient:
    client = verify_client_jwt(context(), bearer_token(), request.base_url)
    if client is None:
        abort(401)
    return client


@bp.errorhandler(Malformed)
def _malformed(exc: Malformed) -> ResponseReturnValue:
    # Not a rollback: the JWT's jti, kept by verify_client_jwt, must stay used.
    return operation_outcome(400, f"Not a valid CDS Hooks request: {exc}")


def _client_actor(client: CdsClient) -> Actor:
    """The client itself, as a system: the audit trail names the EHR, not a person; the
    patients it may ask about are its prescribers' (rems_status's `for_prescribers`)."""
    return Actor(user_id=None, role=None, name=f"CDS client {client.issuer}",
                 request_id=request_id(), client_addr=client_addr())


def _draft_isotretinoin(hook: HookRequest) -> bool:
    return any(program_coding(resource) is not None for resource in hook.draft_orders)


def _query(patient: dict[str, Any]) -> PatientQuery:
    case_number = next((i.get("value") for i in patient.get("identifier") or []
                        if isinstance(i, dict) and i.get("system") == CASE_NUMBER_SYSTEM
                        and isinstance(i.get("value"), str)), None)
    names = [n for n in patient.get("name") or [] if isinstance(n, dict)]
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = tuple(x for x in name.get("given") or [] if isinstance(x, str) and x.strip())
    family = name.get("family") if isinstance(name.get("family"), str) else None
    born = None
    if isinstance(patient.get("birthDate"), str) and len(patient["birthDate"]) == 10:
        try:
            born = date.fromisoformat(patient["birthDate"])
        except ValueError:
            born = None
    return PatientQuery(case_number, given, family, born)


def _card(summary: str, indicator: str, detail: str, link: str | None) -> dict[str, Any]:
    card: dict[str, Any] = {"uuid": str(uuid.uuid4()), "summary": summary[:140],
                            "indicator": indicator, "detail": detail, "source": SOURCE}
    if link is not None:
        card["links"] = [{"label": "Open the patient in tracker", "url": link,
                          "type": "absolute"}]
    return card


def _cards(status: RemsStatus) -> list[dict[str, Any]]:
    link = url_for("prescriber.patient", patient_id=status.patient.id, _external=True)
    cards = []
    for item in named_requirements(status):
        if item.met:
            continue
        # A single reason already ends with its date; say the group's date only when it adds
        # something (several reasons: the day all of them can be met).
        when = (f"\n\nCan be met from **{item.met_from}**."
                if item.met_from is not None
                and f"Can be met from {item.met_from}." not in item.text else "")
        cards.append(_card(f"REMS: {item.name} not met", "critical",
                           f"{item.text}{when}", link))
    auth = status.open_authorization
    if auth is not None:
        until = (f" It can be dispensed through **{auth.do_not_dispense_after}**."
                 if auth.do_not_dispense_after is not None else "")
        cards.append(_card(f"REMS authorization {auth.number} is open", "info",
                           f"Authorization **{auth.number}** was issued on {auth.issued_on}."
                           f"{until}", link))
    return cards


def service(service_id: str) -> ResponseReturnValue:
    """Cards for the draft isotretinoin order of the patient (none for other drugs)."""
    client = _client()
    request.max_content_length = BODY_MAX
    hook = read_hook_request(request.get_json(silent=True), SERVICES[service_id])
    if not _draft_isotretinoin(hook):
        return jsonify({"cards": []})
    patient = hook.prefetch.get("patient")
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        # CDS Hooks: the data the service needs was not prefetched. Answered here, not
        # aborted, so that the JWT's jti stays used.
        return operation_outcome(412, "Prefetch the patient: prefetch.patient must be the "
                                      "Patient of context.patientId.")
    if "id" in patient and patient["id"] != hook.context["patientId"].removeprefix("Patient/"):
        raise Malformed("prefetch.patient is not the patient of context.patientId.")
    # A deactivated prescriber's client no longer acts for them (nor sees their patients).
    acting_for = [p.id for p in client.prescribers if p.active]
    status = rems_status(context(_client_actor(client)), _query(patient),
                         for_prescribers=acting_for)
    if status is None:
        return jsonify({"cards": [_card(
            "REMS: patient not found in the isotretinoin program", "warning",
            "No patient of the prescribers this EHR acts for matches this patient's name and "
            "birth date in the REMS. Enroll the patient before prescribing isotretinoin.",
            None)]})
    return jsonify({"cards": _cards(status)})


for _service_id in SERVICES:
    _view = (lambda sid: lambda: service(sid))(_service_id)
    setattr(_view, PERMISSION_ATTR, CDS_CLIENT)
    bp.add_url_rule(f"/{_service_id}", endpoint=_service_id.replace("-", "_"),
                    view_func=_view, methods=["POST"])
