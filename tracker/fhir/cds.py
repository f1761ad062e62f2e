"""CDS Hooks 2.0 services: at order time (order-select, order-sign) an EHR sends the draft
orders and the patient; for an isotretinoin MedicationRequest the answer has a card for every
unmet requirement of the patient's next fill and an info card for an open authorization.

The EHR authenticates as the specification says: a JWT in `Authorization: Bearer`, signed with
the private key of a client registered with `tracker cds-clients add`, for this service's URL
as audience. It asks about the patients of the prescriber it was registered for."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import Blueprint, abort, g, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from tracker.fhir.cors import allow_cors
from tracker.fhir.medications import program_coding
from tracker.fhir.requirements import named_requirements
from tracker.http.access import PERMISSION_ATTR, public
from tracker.http.bearer import bearer_token
from tracker.http.requests import client_addr, context, request_id
from tracker.models import CdsClient, Role
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


def _acting_for(client: CdsClient) -> Actor:
    doctor = client.prescriber
    return Actor(user_id=doctor.id, role=Role(doctor.role), name=f"CDS client {client.issuer}",
                 request_id=request_id(), client_addr=client_addr())


def _draft_isotretinoin(body: dict[str, Any]) -> bool:
    orders = (body.get("context") or {}).get("draftOrders") if isinstance(
        body.get("context"), dict) else None
    entries = orders.get("entry") if isinstance(orders, dict) else None
    return isinstance(entries, list) and any(
        isinstance(e, dict) and program_coding(e.get("resource")) is not None for e in entries)


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
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or body.get("hook") != SERVICES[service_id]:
        abort(400)
    if not _draft_isotretinoin(body):
        return jsonify({"cards": []})
    prefetch = body.get("prefetch")
    patient = prefetch.get("patient") if isinstance(prefetch, dict) else None
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        abort(412)  # CDS Hooks: the data the service needs was not prefetched
    status = rems_status(context(_acting_for(client)), _query(patient))
    if status is None:
        return jsonify({"cards": [_card(
            "REMS: patient not found in the isotretinoin program", "warning",
            "No patient of this prescriber in the REMS matches this patient's name and birth "
            "date. Enroll the patient before prescribing isotretinoin.", None)]})
    return jsonify({"cards": _cards(status)})


for _service_id in SERVICES:
    _view = (lambda sid: lambda: service(sid))(_service_id)
    setattr(_view, PERMISSION_ATTR, CDS_CLIENT)
    bp.add_url_rule(f"/{_service_id}", endpoint=_service_id.replace("-", "_"),
                    view_func=_view, methods=["POST"])
