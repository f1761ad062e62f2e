"""CDS Hooks: discovery, cards for an isotretinoin draft order, and JWTs of registered clients
only."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask.testing import FlaskClient

from tests import builders as b
from tracker.services.cds_clients import register_cds_client
from tracker.services.context import Context

SERVICE = "/cds-services/rems-order-sign"
AUDIENCE = "http://localhost" + SERVICE
ISSUER = "https://ehr.example.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def _pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture
def doctor(ctx: Context, key: ec.EllipticCurvePrivateKey) -> Any:
    user = b.prescriber(ctx)
    register_cds_client(ctx, ISSUER, _pem(key), [user.email])
    return user


def _jwt(key: ec.EllipticCurvePrivateKey, issuer: str = ISSUER, audience: str | None = AUDIENCE,
         expires_in: int = 300, jti: str | None = None) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": issuer, "iat": now, "exp": now + expires_in,
                              "jti": jti or str(uuid.uuid4())}
    if audience is not None:
        claims["aud"] = audience
    return jwt.encode(claims, key, algorithm="ES384")


def _hook(code: str = "6064", prefetch: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "order-sign", "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": "pat-1", "draftOrders": {
            "resourceType": "Bundle", "type": "collection", "entry": [{"resource": {
                "resourceType": "MedicationRequest", "status": "draft", "intent": "order",
                "subject": {"reference": "Patient/pat-1"},
                "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code}]},
            }}]}},
    }
    if prefetch:
        body["prefetch"] = {"patient": {
            "resourceType": "Patient", "id": "pat-1",
            "name": [{"family": "Rivera", "given": ["Alex"]}], "birthDate": "1995-04-02"}}
    return body


def _call(client: FlaskClient, token: str | None, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    headers = {"Authorization": "Bearer " + token} if token else {}
    return client.post(SERVICE, json=body, headers=headers)


def test_discovery_lists_the_order_services(client: FlaskClient) -> None:
    response = client.get("/cds-services")
    assert response.status_code == 200
    services = {s["id"]: s["hook"] for s in response.get_json()["services"]}
    assert services == {"rems-order-sign": "order-sign", "rems-order-select": "order-select"}


def test_unmet_requirements_are_critical_cards_with_dates(
        ctx: Context, client: FlaskClient, doctor: Any, key: ec.EllipticCurvePrivateKey) -> None:
    b.enrolled_patient(b.as_user(ctx, doctor))
    response = _call(client, _jwt(key), _hook())
    assert response.status_code == 200
    cards = response.get_json()["cards"]
    assert cards and {c["indicator"] for c in cards} == {"critical"}
    summaries = " ".join(c["summary"] for c in cards)
    assert "Pregnancy Test" in summaries and "Comprehension" in summaries
    assert any("Can be met from" in c["detail"] for c in cards)
    for card in cards:  # each date it can be met from is said once
        said = re.findall(r"Can be met from \**(\d{4}-\d\d-\d\d)", card["detail"])
        assert len(said) == len(set(said)), card["detail"]
    for card in cards:
        assert card["source"]["label"] and len(card["summary"]) <= 140
        assert card["links"][0]["url"].startswith("http://localhost/patients/")


def test_an_open_authorization_is_an_info_card(ctx: Context, client: FlaskClient, doctor: Any,
                                              key: ec.EllipticCurvePrivateKey) -> None:
    from tests.builders import SIGNED
    from tracker.services import authorizations

    doc = b.as_user(ctx, doctor)
    patient = b.ready_for_first_fill(doc)
    rx = b.prescription(doc, patient.id)
    number = authorizations.authorize(doc, rx.id, signature=SIGNED).number
    cards = _call(client, _jwt(key), _hook()).get_json()["cards"]
    info = [c for c in cards if c["indicator"] == "info"]
    assert len(info) == 1 and number in info[0]["summary"]


def test_another_drug_gets_no_card(ctx: Context, client: FlaskClient, doctor: Any,
                                   key: ec.EllipticCurvePrivateKey) -> None:
    b.enrolled_patient(b.as_user(ctx, doctor))
    response = _call(client, _jwt(key), _hook(code="161"))
    assert response.status_code == 200 and response.get_json() == {"cards": []}


def test_no_prefetched_patient_is_412(ctx: Context, client: FlaskClient, doctor: Any,
                                      key: ec.EllipticCurvePrivateKey) -> None:
    assert _call(client, _jwt(key), _hook(prefetch=False)).status_code == 412


def test_another_prescribers_patient_is_not_shown(
        ctx: Context, client: FlaskClient, doctor: Any, key: ec.EllipticCurvePrivateKey) -> None:
    b.enrolled_patient(b.as_user(ctx, b.prescriber(ctx, name="Olive Other")))
    cards = _call(client, _jwt(key), _hook()).get_json()["cards"]
    assert [c["indicator"] for c in cards] == ["warning"]
    assert "not found" in cards[0]["summary"]


@pytest.mark.parametrize("problem", ["none", "unknown issuer", "other key", "wrong audience",
                                     "no audience", "discovery as audience",
                                     "other service as audience", "expired", "hmac",
                                     "revoked"])
def test_a_jwt_not_from_a_registered_client_is_401(
        ctx: Context, client: FlaskClient, doctor: Any, key: ec.EllipticCurvePrivateKey,
        problem: str) -> None:
    from tracker.services.cds_clients import revoke_cds_client

    token: str | None = {
        "none": None,
        "unknown issuer": _jwt(key, issuer="https://other.example.org"),
        "other key": _jwt(ec.generate_private_key(ec.SECP384R1())),
        "wrong audience": _jwt(key, audience="http://localhost/cds-services/other"),
        # CDS Hooks 2.0: aud is the service's endpoint, as an absolute URL; nothing else.
        "no audience": _jwt(key, audience=None),
        "discovery as audience": _jwt(key, audience="http://localhost/cds-services"),
        "other service as audience": _jwt(
            key, audience="http://localhost/cds-services/rems-order-select"),
        "expired": _jwt(key, expires_in=-3600),
        # An HMAC signature proves nothing here: only the client's private key counts.
        "hmac": jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "iat": int(time.time()),
                            "exp": int(time.time()) + 60, "jti": "x"},
                           "a-shared-secret-of-32-bytes-long!", algorithm="HS256"),
        "revoked": _jwt(key),
    }[problem]
    if problem == "revoked":
        revoke_cds_client(ctx, ISSUER)
    response = _call(client, token, _hook())
    assert response.status_code == 401
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_registration_refuses_a_bad_key_and_a_second_issuer(
        ctx: Context, doctor: Any, key: ec.EllipticCurvePrivateKey) -> None:
    from tracker.services.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as bad_key:
        register_cds_client(ctx, "https://x.example.org", "not a key", [doctor.email])
    assert "public_key" in bad_key.value.errors
    with pytest.raises(ValidationFailed) as twice:
        register_cds_client(ctx, ISSUER, _pem(key), [doctor.email])
    assert "iss" in twice.value.errors


def test_a_jwt_is_accepted_once(ctx: Context, client: FlaskClient, doctor: Any,
                                key: ec.EllipticCurvePrivateKey) -> None:
    """CDS Hooks 2.0: a replayed jti is refused within the JWT's lifetime."""
    b.enrolled_patient(b.as_user(ctx, doctor))
    token = _jwt(key)
    assert _call(client, token, _hook()).status_code == 200
    replayed = _call(client, token, _hook())
    assert replayed.status_code == 401
    assert replayed.get_json()["resourceType"] == "OperationOutcome"
    # The same jti in a new JWT is the same replay.
    same_jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    assert _call(client, _jwt(key, jti=same_jti), _hook()).status_code == 401
    assert _call(client, _jwt(key), _hook()).status_code == 200


def test_a_jwt_of_a_malformed_request_cannot_be_replayed_with_a_good_one(
        ctx: Context, client: FlaskClient, doctor: Any, key: ec.EllipticCurvePrivateKey) -> None:
    b.enrolled_patient(b.as_user(ctx, doctor))
    token = _jwt(key)
    malformed = _hook()
    malformed["hookInstance"] = "not-a-uuid"
    assert _call(client, token, malformed).status_code == 400
    assert _call(client, token, _hook()).status_code == 401
    no_prefetch = _jwt(key)
    assert _call(client, no_prefetch, _hook(prefetch=False)).status_code == 412
    assert _call(client, no_prefetch, _hook()).status_code == 401


def test_a_used_jti_is_kept_until_the_jwt_expires_and_purged_after(
        ctx: Context, client: FlaskClient, doctor: Any, key: ec.EllipticCurvePrivateKey) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from tracker.models import CdsJwtId
    from tracker.services.cds_clients import JWT_LEEWAY_SECONDS
    from tracker.services.maintenance import PurgeLimits, purge

    token = _jwt(key, expires_in=120)
    assert _call(client, token, _hook()).status_code == 200
    kept = ctx.session.scalars(select(CdsJwtId)).one()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert kept.jti == claims["jti"]
    assert kept.expires_at == datetime.fromtimestamp(claims["exp"], UTC) + timedelta(
        seconds=JWT_LEEWAY_SECONDS)
    limits = PurgeLimits(timedelta(minutes=15), timedelta(hours=12), timedelta(hours=24))
    ctx.clock = lambda: kept.expires_at - timedelta(seconds=1)
    assert purge(ctx, limits).cds_jwt_ids == 0  # still live: kept
    ctx.clock = lambda: kept.expires_at + timedelta(seconds=1)
    assert purge(ctx, limits).cds_jwt_ids == 1
    assert ctx.session.scalars(select(CdsJwtId)).all() == []


def _without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    target = body
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return body


def _with(body: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


MALFORMED = {
    "another hook": (lambda: _with(_hook(), "patient-view", "hook"), "hook"),
    "no hook": (lambda: _without(_hook(), "hook"), "hook"),
    "no hookInstance": (lambda: _without(_hook(), "hookInstance"), "hookInstance"),
    "hookInstance not a UUID": (lambda: _with(_hook(), "1234", "hookInstance"), "hookInstance"),
    "hookInstance a number": (lambda: _with(_hook(), 7, "hookInstance"), "hookInstance"),
    "hookInstance a UUID without dashes": (
        lambda: _with(_hook(), uuid.uuid4().hex, "hookInstance"), "hookInstance"),
    "no context": (lambda: _without(_hook(), "context"), "context"),
    "context a list": (lambda: _with(_hook(), [], "context"), "context"),
    "no userId": (lambda: _without(_hook(), "context", "userId"), "context.userId"),
    "empty userId": (lambda: _with(_hook(), " ", "context", "userId"), "context.userId"),
    "no patientId": (lambda: _without(_hook(), "context", "patientId"), "context.patientId"),
    "no draftOrders": (lambda: _without(_hook(), "context", "draftOrders"),
                       "context.draftOrders"),
    "draftOrders not a Bundle": (
        lambda: _with(_hook(), "MedicationRequest", "context", "draftOrders", "resourceType"),
        "context.draftOrders"),
    "draftOrders entries not a list": (
        lambda: _with(_hook(), {}, "context", "draftOrders", "entry"),
        "context.draftOrders.entry"),
    "an entry's resource without a type": (
        lambda: _without(_hook(), "context", "draftOrders", "entry", 0, "resource",  # type: ignore[arg-type]
                         "resourceType"), "context.draftOrders.entry.resource"),
    "selections not a list": (lambda: _with(_hook(), "x", "context", "selections"),
                              "context.selections"),
    "prefetch null": (lambda: _with(_hook(), None, "prefetch"), "prefetch"),
    "prefetched patient not a resource": (lambda: _with(_hook(), "Patient/pat-1", "prefetch",
                                                        "patient"), "prefetch.patient"),
    "prefetched patient of another id": (lambda: _with(_hook(), "pat-2", "prefetch", "patient",
                                                       "id"), "prefetch.patient"),
    "fhirServer a number": (lambda: _with(_hook(), 1, "fhirServer"), "fhirServer"),
    "fhirAuthorization a string": (lambda: _with(_hook(), "token", "fhirAuthorization"),
                                   "fhirAuthorization"),
    "body a list": (lambda: [_hook()], "request body"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_request_is_400_naming_the_field(
        ctx: Context, client: FlaskClient, doctor: Any, key: ec.EllipticCurvePrivateKey,
        case: str) -> None:
    b.enrolled_patient(b.as_user(ctx, doctor))
    make, field = MALFORMED[case]
    response = _call(client, _jwt(key), make())
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "application/fhir+json"
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert field in body["issue"][0]["diagnostics"]
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_body_that_is_not_json_is_400(ctx: Context, client: FlaskClient, doctor: Any,
                                        key: ec.EllipticCurvePrivateKey) -> None:
    for data, mimetype in (("{not json", "application/json"), ("hook=order-sign", "text/plain")):
        response = client.post(SERVICE, data=data, content_type=mimetype,
                               headers={"Authorization": "Bearer " + _jwt(key)})
        assert response.status_code == 400
        assert response.get_json()["resourceType"] == "OperationOutcome"


def test_optional_fields_of_the_specification_are_accepted(
        ctx: Context, client: FlaskClient, doctor: Any, key: ec.EllipticCurvePrivateKey) -> None:
    b.enrolled_patient(b.as_user(ctx, doctor))
    body = _hook()
    body["fhirServer"] = "https://ehr.example.org/fhir"
    body["fhirAuthorization"] = {"access_token": "x", "token_type": "Bearer", "expires_in": 300,
                                 "scope": "patient/Patient.read", "subject": "tracker"}
    body["extension"] = {"com.example.flag": True}
    body["context"]["encounterId"] = "enc-1"
    body["prefetch"]["medications"] = None  # a prefetch the client found nothing for
    body["hookInstance"] = body["hookInstance"].upper()
    response = _call(client, _jwt(key), body)
    assert response.status_code == 200 and response.get_json()["cards"]


def test_order_select_needs_its_selections(ctx: Context, client: FlaskClient, doctor: Any,
                                           key: ec.EllipticCurvePrivateKey) -> None:
    b.enrolled_patient(b.as_user(ctx, doctor))
    select_url = "http://localhost/cds-services/rems-order-select"
    body = _hook()
    body["hook"] = "order-select"
    response = client.post("/cds-services/rems-order-select", json=body, headers={
        "Authorization": "Bearer " + _jwt(key, audience=select_url)})
    assert response.status_code == 400
    assert "context.selections" in response.get_json()["issue"][0]["diagnostics"]
    body["context"]["selections"] = ["MedicationRequest/mr-1"]
    response = client.post("/cds-services/rems-order-select", json=body, headers={
        "Authorization": "Bearer " + _jwt(key, audience=select_url)})
    assert response.status_code == 200 and response.get_json()["cards"]


def test_a_client_acts_for_each_of_its_prescribers_and_no_other(
        ctx: Context, client: FlaskClient, key: ec.EllipticCurvePrivateKey) -> None:
    first = b.prescriber(ctx, name="Fay First")
    second = b.prescriber(ctx, name="Sam Second")
    register_cds_client(ctx, ISSUER, _pem(key), [first.email, second.email])
    b.enrolled_patient(b.as_user(ctx, second))
    cards = _call(client, _jwt(key), _hook()).get_json()["cards"]
    assert cards and {c["indicator"] for c in cards} == {"critical"}

    other_key = ec.generate_private_key(ec.SECP384R1())
    register_cds_client(ctx, "https://other-ehr.example.org", _pem(other_key), [first.email])
    cards = _call(client, _jwt(other_key, issuer="https://other-ehr.example.org"),
                  _hook()).get_json()["cards"]
    assert [c["indicator"] for c in cards] == ["warning"]


def test_the_audit_trail_names_the_client_not_a_person(
        ctx: Context, client: FlaskClient, doctor: Any, key: ec.EllipticCurvePrivateKey) -> None:
    from sqlalchemy import select

    from tracker.models import AuditEvent

    patient = b.enrolled_patient(b.as_user(ctx, doctor))
    assert _call(client, _jwt(key), _hook()).status_code == 200
    event = ctx.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "rems.status_read")).one()
    assert event.actor_id is None and event.patient_id == patient.id
    assert ISSUER in (event.new_values or "")


def test_registration_needs_active_prescribers(ctx: Context,
                                               key: ec.EllipticCurvePrivateKey) -> None:
    from tracker.services.errors import ValidationFailed

    doctor = b.prescriber(ctx)
    for emails in ([], [doctor.email, "ghost@example.test"]):
        with pytest.raises(ValidationFailed) as refused:
            register_cds_client(ctx, ISSUER, _pem(key), emails)
        assert "prescriber" in refused.value.errors
    client = register_cds_client(ctx, ISSUER, _pem(key), [doctor.email, doctor.email.upper()])
    assert [p.id for p in client.prescribers] == [doctor.id]


def test_a_deactivated_prescribers_patients_are_no_longer_shown(
        ctx: Context, client: FlaskClient, doctor: Any, key: ec.EllipticCurvePrivateKey) -> None:
    from tracker.services.users import deactivate_user

    b.enrolled_patient(b.as_user(ctx, doctor))
    deactivate_user(b.as_user(ctx, b.admin(ctx)), doctor.id, "left the practice")
    cards = _call(client, _jwt(key), _hook()).get_json()["cards"]
    assert [c["indicator"] for c in cards] == ["warning"]
