"""The interoperability routes in the OpenAPI document: FHIR R4 `$rems-etasu` (at the guide's
path and the `/4_0_0/` path of the reference clients), the CapabilityStatement and CDS Hooks.

tracker.api never imports tracker.fhir (the HTTP entries stay apart), so the routes are described
here as data; tests/api/test_openapi.py compares them with the app's routes, so they cannot
drift. FHIR bodies are described by their outline only (resourceType and the parameters read):
the whole of FHIR R4 is the contract of their content."""

from __future__ import annotations

from typing import Any

FHIR_JSON = "application/fhir+json"
JSON = "application/json"
ETASU_PATHS = ("/fhir/r4/GuidanceResponse/$rems-etasu", "/4_0_0/GuidanceResponse/$rems-etasu")
CDS_SERVICE_IDS = ("rems-order-sign", "rems-order-select")
FHIR_BEARER = "bearer"  # the API's tokens (tracker tokens create)
CDS_JWT = "cdsJwt"

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    CDS_JWT: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
              "description": "CDS Hooks 2.0: a JWT signed with the private key of a client "
                            "registered with `tracker cds-clients add` (`iss` = its issuer, "
                            "`aud` = the service's URL, `exp`, `iat`, `jti`; RS256/384/512 or "
                            "ES256/384/512). Each JWT is accepted once: a `jti` already used "
                            "is refused until the token expires."},
}

_TEXT = {"type": "string", "pattern": "\\S"}  # not empty, not only spaces
_RESOURCE = {"type": "object", "required": ["resourceType"],
             "properties": {"resourceType": {"type": "string"}}}
_CDS_RESOURCE = {"type": "object", "required": ["resourceType"],
                 "properties": {"resourceType": _TEXT}}

SCHEMAS: dict[str, dict[str, Any]] = {
    "FhirParameters": {
        "type": "object",
        "description": "A FHIR R4 Parameters resource. `$rems-etasu` reads `patient` (a "
                       "Patient), `medication` (a Medication or MedicationRequest coded in "
                       "RxNorm or NDC) and optionally `caseNumber` or `case_number` "
                       "(valueString); it answers `rems-etasu` (a GuidanceResponse whose "
                       "`contained[0]`, id `etasuOutputParameters`, holds one parameter per "
                       "requirement and last `case_number`).",
        "required": ["resourceType"],
        "properties": {
            "resourceType": {"const": "Parameters"},
            "parameter": {"type": "array", "items": {
                "type": "object", "required": ["name"],
                "properties": {"name": {"type": "string"}, "resource": _RESOURCE,
                               "valueString": {"type": "string"}}}},
        },
    },
    "OperationOutcome": {
        "type": "object",
        "description": "A FHIR R4 OperationOutcome: what went wrong and what to do.",
        "required": ["resourceType", "issue"],
        "properties": {
            "resourceType": {"const": "OperationOutcome"},
            "issue": {"type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["severity", "code", "diagnostics"],
                "properties": {"severity": {"type": "string", "enum": ["error", "fatal"]},
                               "code": {"type": "string"},
                               "diagnostics": {"type": "string"}}}},
        },
    },
    "CapabilityStatement": {
        "type": "object",
        "description": "A FHIR R4 CapabilityStatement naming the `rems-etasu` operation.",
        "required": ["resourceType", "status", "fhirVersion", "format", "rest"],
        "properties": {"resourceType": {"const": "CapabilityStatement"},
                       "status": {"type": "string"}, "fhirVersion": {"const": "4.0.1"},
                       "format": {"type": "array", "items": {"type": "string"}},
                       "rest": {"type": "array", "items": {"type": "object"}}},
    },
    "CdsDiscovery": {
        "type": "object",
        "required": ["services"],
        "properties": {"services": {"type": "array", "items": {
            "type": "object", "required": ["hook", "id", "description"],
            "properties": {"hook": {"type": "string", "enum": ["order-sign", "order-select"]},
                           "id": {"type": "string", "enum": list(CDS_SERVICE_IDS)},
                           "title": {"type": "string"}, "description": {"type": "string"},
                           "prefetch": {"type": "object",
                                        "additionalProperties": {"type": "string"}}}}}},
    },
    "CdsRequest": {
        "type": "object",
        "description": "A CDS Hooks 2.0 request, read strictly: `hook` the service's hook, "
                       "`hookInstance` a UUID, `context` with `userId`, `patientId` and "
                       "`draftOrders` (a Bundle of the draft orders; order-select also "
                       "`selections`), the Patient in `prefetch.patient`. Malformed: 400.",
        "required": ["hook", "hookInstance", "context"],
        "properties": {
            "hook": {"type": "string", "enum": ["order-sign", "order-select"]},
            "hookInstance": {"type": "string", "format": "uuid"},
            "fhirServer": _TEXT,
            "fhirAuthorization": {"type": "object"},
            "extension": {"type": "object"},
            "context": {
                "type": "object",
                "required": ["userId", "patientId", "draftOrders"],
                "properties": {
                    "userId": _TEXT, "patientId": _TEXT, "encounterId": _TEXT,
                    "draftOrders": {
                        "type": "object", "required": ["resourceType"],
                        "properties": {
                            "resourceType": {"const": "Bundle"},
                            "entry": {"type": "array", "items": {
                                "type": "object", "properties": {"resource": _CDS_RESOURCE}}}}},
                    "selections": {"type": "array", "items": _TEXT},
                },
            },
            "prefetch": {"type": "object",
                         "additionalProperties": {"anyOf": [{"type": "null"}, _CDS_RESOURCE]}},
        },
    },
    "CdsCards": {
        "type": "object",
        "required": ["cards"],
        "properties": {"cards": {"type": "array", "items": {
            "type": "object", "required": ["uuid", "summary", "indicator", "source"],
            "properties": {
                "uuid": {"type": "string"},
                "summary": {"type": "string", "maxLength": 140},
                "indicator": {"type": "string", "enum": ["info", "warning", "critical"]},
                "detail": {"type": "string", "description": "Markdown"},
                "source": {"type": "object", "required": ["label"],
                           "properties": {"label": {"type": "string"}}},
                "links": {"type": "array", "items": {
                    "type": "object", "required": ["label", "url", "type"],
                    "properties": {"label": {"type": "string"}, "url": {"type": "string"},
                                   "type": {"const": "absolute"}}}}}}}},
    },
}

ETASU_ERRORS = {
    400: "The body is not a FHIR Parameters resource this operation can read (the diagnostics "
         "say what is wrong)",
    401: "No token, or one that is unknown, revoked or of a deactivated user",
    403: "The role may not ask (prescribers, office staff and pharmacy staff may)",
    413: "The body is larger than the operation reads",
    415: "The body is not application/fhir+json or application/json",
    429: "Pharmacy staff: too many look-ups found no patient within the hour (with the "
         "authorization look-ups that failed); Retry-After says when to try again",
}
CDS_ERRORS = {
    400: "Not a CDS Hooks 2.0 request of this service's hook (the diagnostics name the field)",
    401: "No JWT, or one not signed by a registered client for this service's URL, or one "
         "used before (each jti is accepted once)",
    412: "The Patient was not prefetched (`prefetch.patient`)",
    413: "The body is larger than the service reads",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _content(media: tuple[str, ...], schema: str) -> dict[str, Any]:
    return {m: {"schema": _ref(schema)} for m in media}


_RETRY_AFTER = {"Retry-After": {"description": "Seconds until the look-ups resume",
                                "schema": {"type": "integer", "minimum": 1}}}


def _errors(texts: dict[int, str]) -> dict[str, Any]:
    return {str(code): {"description": text, "content": _content((FHIR_JSON,), "OperationOutcome"),
                        **({"headers": _RETRY_AFTER} if code == 429 else {})}
            for code, text in texts.items()}


def _etasu(operation_id: str) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": "US Medication REMS $rems-etasu: whether the REMS requirements of the "
                   "patient's next fill are met",
        "description": "Roles: prescriber, staff, pharmacist. Matches by case number, else by "
                       "name and birth date, among the patients the caller may see; the answer "
                       "is `failure` for an unknown patient or another drug. Pharmacy staff get "
                       "the minimum-necessary view.",
        "x-roles": ["prescriber", "staff", "pharmacist"],
        "security": [{FHIR_BEARER: []}],
        "requestBody": {"required": True,
                        "content": _content((FHIR_JSON, JSON), "FhirParameters")},
        "responses": {"200": {"description": "A Parameters with the `rems-etasu` "
                                             "GuidanceResponse",
                              "content": _content((FHIR_JSON,), "FhirParameters")},
                      **_errors(ETASU_ERRORS)},
    }


def paths() -> dict[str, dict[str, Any]]:
    """The path items of the FHIR and CDS Hooks routes."""
    found: dict[str, dict[str, Any]] = {
        ETASU_PATHS[0]: {"post": _etasu("rems_etasu")},
        ETASU_PATHS[1]: {"post": _etasu("rems_etasu_alias")},
    }
    found["/fhir/r4/metadata"] = {"get": {
        "operationId": "fhir_metadata", "summary": "The FHIR CapabilityStatement",
        "security": [],
        "responses": {"200": {"description": "FHIR 4.0.1, JSON, the `rems-etasu` operation",
                              "content": _content((FHIR_JSON,), "CapabilityStatement")}},
    }}
    found["/cds-services"] = {"get": {
        "operationId": "cds_discovery", "summary": "CDS Hooks discovery", "security": [],
        "responses": {"200": {"description": "The services and their hooks",
                              "content": _content((JSON,), "CdsDiscovery")}},
    }}
    found["/cds-services/{id}"] = {"post": {
        "operationId": "cds_service",
        "summary": "CDS Hooks cards for an isotretinoin draft order",
        "description": "A critical card per unmet requirement group (markdown detail with the "
                       "date it can be met), an info card for an open authorization; no card "
                       "for other drugs.",
        "security": [{CDS_JWT: []}],
        "parameters": [{"name": "id", "in": "path", "required": True,
                        "schema": {"type": "string", "enum": list(CDS_SERVICE_IDS)}}],
        "requestBody": {"required": True, "content": _content((JSON,), "CdsRequest")},
        "responses": {"200": {"description": "The cards",
                              "content": _content((JSON,), "CdsCards")},
                      **_errors(CDS_ERRORS)},
    }}
    return found
