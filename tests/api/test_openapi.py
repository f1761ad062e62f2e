"""The OpenAPI 3.1 document: served without a token, valid, and in step with the routes (every
API, FHIR and CDS Hooks route is in it and everything in it is a route)."""

from __future__ import annotations

import copy
import re
from typing import Any

import schemathesis
from flask import Flask
from flask.testing import FlaskClient

from tracker.api.openapi_interop import CDS_SERVICE_IDS, ETASU_PATHS
from tracker.api.registry import OPERATIONS
from tracker.domain.reasons import ReasonCode

PARAM = re.compile(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>")
IGNORED_METHODS = {"HEAD", "OPTIONS"}
INTEROP_PREFIXES = ("/fhir/", "/4_0_0/", "/cds-services")
FHIR_JSON = "application/fhir+json"


def _document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def _api_routes(app: Flask) -> set[tuple[str, str]]:
    """(method, path) of every route of the API, the health check, FHIR and CDS Hooks, OpenAPI
    style."""
    found = set()
    for rule in app.url_map.iter_rules():
        if (rule.rule.startswith(("/api/", *INTEROP_PREFIXES))
                or rule.endpoint == "health.healthz"):
            path = PARAM.sub(r"{\1}", rule.rule)
            found |= {(method, path) for method in rule.methods or () if
                      method not in IGNORED_METHODS}
    return found


def _documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    """(method, path) of every documented operation; a path value documented as an enum (the
    CDS service ids) stands for one route per value."""
    found = set()
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            paths = [path]
            for param in operation.get("parameters", []):
                values = param["schema"].get("enum") if param["in"] == "path" else None
                if values:
                    paths = [p.replace("{" + param["name"] + "}", v) for p in paths
                             for v in values]
            found |= {(method.upper(), p) for p in paths}
    return found


def test_the_document_is_served_without_a_token(client: FlaskClient) -> None:
    doc = _document(client)
    assert doc["openapi"] == "3.1.0"
    bearer = doc["components"]["securitySchemes"]["bearer"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")


def test_the_document_is_valid_openapi_3_1(client: FlaskClient) -> None:
    schemathesis.openapi.from_dict(copy.deepcopy(_document(client))).validate()


def test_every_api_route_is_in_the_document_and_every_documented_path_is_a_route(
    app: Flask, client: FlaskClient
) -> None:
    routes = _api_routes(app)
    documented = _documented(_document(client))
    assert routes - documented == set(), "routes missing from the document"
    assert documented - routes == set(), "documented operations that are not routes"
    # the operations, the document, the health check; $rems-etasu twice, the CapabilityStatement,
    # CDS discovery and each CDS service
    assert len(routes) == len(OPERATIONS) + 2 + 4 + len(CDS_SERVICE_IDS)


def test_every_operation_needs_a_token_and_documents_its_errors(client: FlaskClient) -> None:
    doc = _document(client)
    for op in OPERATIONS:
        item = doc["paths"]["/api/v1" + op.path][op.method.lower()]
        assert item["security"] == [{"bearer": []}]
        assert item["x-roles"] == list(op.roles)
        assert {"401", "403"} <= set(item["responses"]), op.path
        assert sorted(int(code) for code in item["responses"]) == list(op.statuses)
        for code, response in item["responses"].items():
            media = "application/json" if code == str(op.status) else "application/problem+json"
            assert list(response["content"]) == [media], (op.path, code)
        if "{" in op.path:
            assert "404" in item["responses"]
        if op.body is not None:
            assert {"400", "413", "415", "422"} <= set(item["responses"])
            assert item["requestBody"]["required"] is True
            schema = item["requestBody"]["content"]["application/json"]["schema"]
            assert schema["additionalProperties"] is False
            assert set(schema["properties"]) == set(op.body)


def test_path_parameters_are_declared(client: FlaskClient) -> None:
    doc = _document(client)
    for path, item in doc["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, path


def test_every_reference_resolves_and_operation_ids_are_unique(client: FlaskClient) -> None:
    doc = _document(client)
    text = str(doc)
    for name in re.findall(r"#/components/schemas/(\w+)", text):
        assert name in doc["components"]["schemas"], name
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_the_shapes_of_api_md_are_described_with_their_fields(client: FlaskClient) -> None:
    schemas = _document(client)["components"]["schemas"]
    expected = {
        "Patient": {"id", "first_name", "last_name", "date_of_birth", "category", "enrolled",
                    "course_ended_on"},
        "Prescription": {"id", "number", "patient_id", "written_on", "days_supply", "quantity",
                         "status", "authorization"},
        "Decision": {"dispensable", "rule_set", "as_of", "unmet", "window"},
        "Dispense": {"id", "prescription_id", "pharmacy_id", "dispensed_at", "quantity",
                     "days_supply", "authorization_number"},
        "Reason": {"code", "message", "met_from"},
        "Problem": {"type", "title", "status", "detail"},
        "Authorization": {"number", "issued_on", "do_not_dispense_after", "rule_set"},
    }
    for name, fields in expected.items():
        assert fields <= set(schemas[name]["required"]), name
        assert fields <= set(schemas[name]["properties"]), name
    assert set(schemas["Reason"]["properties"]["code"]["enum"]) == {c.value for c in ReasonCode}
    assert schemas["Prescription"]["properties"]["status"]["enum"] == [
        "pending", "dispensable", "dispensed", "cancelled"]


def test_idempotent_writes_document_their_key(client: FlaskClient) -> None:
    doc = _document(client)
    for path in ("/api/v1/prescriptions/{id}/authorize", "/api/v1/prescriptions/{id}/dispense"):
        params = doc["paths"][path]["post"]["parameters"]
        assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in params)


def test_the_health_check_is_documented_and_answers(client: FlaskClient) -> None:
    doc = _document(client)
    assert set(doc["paths"]["/healthz"]["get"]["responses"]) == {"200", "503"}
    assert client.get("/healthz").get_json() == {"status": "ok"}


def _fhir_error(response: dict[str, Any]) -> None:
    assert list(response["content"]) == [FHIR_JSON]
    assert response["content"][FHIR_JSON]["schema"] == {
        "$ref": "#/components/schemas/OperationOutcome"}


def test_rems_etasu_documents_fhir_media_types_bearer_and_operation_outcomes(
        client: FlaskClient) -> None:
    doc = _document(client)
    for path in ETASU_PATHS:
        item = doc["paths"][path]["post"]
        assert item["security"] == [{"bearer": []}]
        assert set(item["x-roles"]) == {"prescriber", "staff", "pharmacist"}
        assert list(item["requestBody"]["content"]) == [FHIR_JSON, "application/json"]
        assert item["requestBody"]["required"] is True
        assert set(item["responses"]) == {"200", "400", "401", "403", "413", "415", "429"}
        assert list(item["responses"]["200"]["content"]) == [FHIR_JSON]
        for code, response in item["responses"].items():
            if code != "200":
                _fhir_error(response)
    metadata = doc["paths"]["/fhir/r4/metadata"]["get"]
    assert metadata["security"] == []
    assert list(metadata["responses"]["200"]["content"]) == [FHIR_JSON]


def test_cds_hooks_documents_json_and_the_client_jwt(client: FlaskClient) -> None:
    doc = _document(client)
    scheme = doc["components"]["securitySchemes"]["cdsJwt"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    discovery = doc["paths"]["/cds-services"]["get"]
    assert discovery["security"] == []
    assert list(discovery["responses"]["200"]["content"]) == ["application/json"]
    service = doc["paths"]["/cds-services/{id}"]["post"]
    assert service["security"] == [{"cdsJwt": []}]
    assert list(service["requestBody"]["content"]) == ["application/json"]
    assert list(service["responses"]["200"]["content"]) == ["application/json"]
    assert {"400", "401", "412"} <= set(service["responses"])
    for code, response in service["responses"].items():
        if code != "200":
            _fhir_error(response)


def test_the_documented_discovery_matches_the_answer(client: FlaskClient) -> None:
    """The service ids and hooks of the document are the ones discovery announces."""
    schema = _document(client)["components"]["schemas"]["CdsDiscovery"]
    item = schema["properties"]["services"]["items"]["properties"]
    services = client.get("/cds-services").get_json()["services"]
    assert sorted(item["id"]["enum"]) == sorted(s["id"] for s in services)
    assert sorted(item["hook"]["enum"]) == sorted(s["hook"] for s in services)
