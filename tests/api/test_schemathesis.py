"""schemathesis against the OpenAPI document, on the app in process (WSGI): for every operation,
data that fits the document and data that breaks it, sent with a token of a role the operation
admits. No answer is a server error, every answer has a documented status, content type, headers
and shape, data that fits the document is accepted (but for the refusals that depend on stored
data, tests/api/schemathesis_hooks.py), data that breaks the document is refused, and without a
token every request answers 401. .ci/api-fuzz runs the same checks, and the rest of
`--checks all`, against gunicorn.

The FHIR `$rems-etasu` operation and the CDS Hooks services are generated the same way, with a
prescriber's token and a registered CDS client's JWT.

Bounded and deterministic: a fixed number of examples per operation, derandomized."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
import schemathesis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api import schemathesis_hooks  # noqa: F401 - registers the filter of its docstring
from tests.api.scenarios import World
from tracker.api.registry import OPERATIONS, Operation
from tracker.services.cds_clients import register_cds_client
from tracker.services.context import Context

INTEROP_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
                  response_schema_conformance, negative_data_rejection, ignored_auth]
# The JSON API's document states every constraint JSON Schema can express, so valid data is
# accepted too. (The FHIR bodies are described by outline only: see openapi_interop.py.)
CHECKS = [*INTEROP_CHECKS, positive_data_acceptance, response_headers_conformance]
EXAMPLES = 12  # per operation and mode: enough to find shape bugs, small enough to stay quick
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


@pytest.fixture
def api_schema(app: Flask, connection: Any) -> Any:
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def _existing(op: Operation, w: World) -> dict[str, Any]:
    """Path (and query) values naming objects that exist, so that generated bodies reach the
    services' checks instead of stopping at 404."""
    if op.endpoint == "get_authorization":
        return {"path_parameters": {"number": w.number},
                "query": {"date_of_birth": "1990-06-09"}}
    if "{number}" in op.path:
        return {"path_parameters": {"number": w.number}}
    if op.path.startswith("/patients/{id}"):
        return {"path_parameters": {"id": w.patient.id}}
    if "{id}" in op.path:
        rx = w.authorized_rx if op.endpoint == "post_dispense" else w.rx
        return {"path_parameters": {"id": rx.id}}
    return {}


def _bearer(token: str) -> Callable[[], dict[str, str]]:
    """The headers of every request with an API token."""
    return lambda: {"Authorization": "Bearer " + token}


def _keeps_to_document(strategy: Any, auth: Callable[[], dict[str, str]],
                       checks: list[Any]) -> None:
    """Every case with the credentials passes the checks; without them it answers 401.
    `auth` gives the headers of one request (a CDS JWT is accepted once: a new one each)."""

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.data_too_large])
    @given(case=strategy)
    def check(case: Any) -> None:
        case.call_and_validate(headers=auth(), checks=checks)
        anonymous = case.call()
        routed = not (case.meta and case.meta.is_negative_at(ParameterLocation.PATH))
        if routed:
            assert anonymous.status_code == 401, (case.path, anonymous.status_code)
        else:  # a path value that matches no route answers 404 before any token is read
            assert anonymous.status_code in (401, 404)

    check()


@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
@pytest.mark.parametrize("op", OPERATIONS, ids=[f"{o.method} {o.path}" for o in OPERATIONS])
def test_operation_keeps_to_its_document(app: Flask, ctx: Context, api_schema: Any,
                                         op: Operation, mode: GenerationMode) -> None:
    w = World(app, ctx)
    token = w.token_for(op.roles[0]) or ""
    operation = api_schema["/api/v1" + op.path][op.method]
    strategy = operation.as_strategy(generation_mode=mode)
    existing = _existing(op, w)
    if existing:
        strategy = st.one_of(strategy, operation.as_strategy(generation_mode=mode, **existing))

    _keeps_to_document(strategy, _bearer(token), CHECKS)


# The FHIR and CDS Hooks operations of the document, each with the credentials it takes. The
# CapabilityStatement and CDS discovery take no input and no credentials: nothing to generate,
# and the anonymous check below (every request answers 401) does not apply to them.
ETASU_PATHS = ("/fhir/r4/GuidanceResponse/$rems-etasu", "/4_0_0/GuidanceResponse/$rems-etasu")
CDS_SERVICE = "/cds-services/{id}"
INTEROP = [(path, mode) for path in (*ETASU_PATHS, CDS_SERVICE) for mode in MODES]


def _cds_jwts(ctx: Context, w: World, service_id: str) -> Callable[[], dict[str, str]]:
    """The headers of one request of a CDS client registered for the world's prescriber: a
    new JWT (its own jti) for the service's URL each time."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    register_cds_client(ctx, "https://ehr.example.org", pem.decode(), [w.prescriber.email])

    def headers() -> dict[str, str]:
        now = int(time.time())
        token = jwt.encode({"iss": "https://ehr.example.org", "iat": now, "exp": now + 600,
                            "aud": f"http://localhost/cds-services/{service_id}",
                            "jti": str(uuid.uuid4())}, key, algorithm="ES256")
        return {"Authorization": "Bearer " + token}

    return headers


@pytest.mark.parametrize(("path", "mode"), INTEROP,
                         ids=[f"POST {p}-{m.value}" for p, m in INTEROP])
def test_interop_operation_keeps_to_its_document(app: Flask, ctx: Context, api_schema: Any,
                                                 path: str, mode: GenerationMode) -> None:
    w = World(app, ctx)
    operation = api_schema[path]["POST"]
    strategy = operation.as_strategy(generation_mode=mode)
    if path == CDS_SERVICE:
        # One service, so that the JWTs (their audience is the service's URL) admit every case.
        strategy = operation.as_strategy(generation_mode=mode,
                                         path_parameters={"id": "rems-order-sign"})
        auth = _cds_jwts(ctx, w, "rems-order-sign")
    else:
        auth = _bearer(w.token_for("prescriber") or "")

    _keeps_to_document(strategy, auth, INTEROP_CHECKS)


def test_every_interop_operation_that_takes_input_is_generated(client: FlaskClient) -> None:
    """A FHIR or CDS Hooks operation added to the document is fuzzed too, or left out above."""
    doc = client.get("/api/v1/openapi.json").get_json()
    taking_input = {path for path, item in doc["paths"].items() if not path.startswith("/api/")
                    for op in item.values() if "requestBody" in op or op.get("parameters")}
    assert taking_input == {path for path, _ in INTEROP}
