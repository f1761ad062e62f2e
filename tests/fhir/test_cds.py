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
    register_cds_client(ctx, ISSUER, _pem(key), user.email)
    return user


def _jwt(key: ec.EllipticCurvePrivateKey, issuer: str = ISSUER, audience: str = AUDIENCE,
         expires_in: int = 300) -> str:
    now = int(time.time())
    return jwt.encode({"iss": issuer, "aud": audience, "iat": now, "exp": now + expires_in,
                       "jti": str(uuid.uuid4())}, key, algorithm="ES384")


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
                                     "expired", "hmac", "revoked"])
def test_a_jwt_not_from_a_registered_client_is_401(
        ctx: Context, client: FlaskClient, doctor: Any, key: ec.EllipticCurvePrivateKey,
        problem: str) -> None:
    from tracker.services.cds_clients import revoke_cds_client

    token: str | None = {
        "none": None,
        "unknown issuer": _jwt(key, issuer="https://other.example.org"),
        "other key": _jwt(ec.generate_private_key(ec.SECP384R1())),
        "wrong audience": _jwt(key, audience="http://localhost/cds-services/other"),
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
        register_cds_client(ctx, "https://x.example.org", "not a key", doctor.email)
    assert "public_key" in bad_key.value.errors
    with pytest.raises(ValidationFailed) as twice:
        register_cds_client(ctx, ISSUER, _pem(key), doctor.email)
    assert "iss" in twice.value.errors
