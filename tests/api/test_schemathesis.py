"""schemathesis against the OpenAPI document, on the app in process (WSGI): for every operation,
data that fits the document and data that breaks it, sent with a token of a role the operation
admits. No answer is a server error, every answer has a documented status, content type and
shape, data that breaks the document is refused, and without a token every request answers 401.

Bounded and deterministic: a fixed number of examples per operation, derandomized."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.scenarios import World
from tracker.api.registry import OPERATIONS, Operation
from tracker.services.context import Context

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection, ignored_auth]
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


@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
@pytest.mark.parametrize("op", OPERATIONS, ids=[f"{o.method} {o.path}" for o in OPERATIONS])
def test_operation_keeps_to_its_document(app: Flask, ctx: Context, api_schema: Any,
                                         op: Operation, mode: GenerationMode) -> None:
    w = World(app, ctx)
    auth = {"Authorization": "Bearer " + (w.token_for(op.roles[0]) or "")}
    operation = api_schema["/api/v1" + op.path][op.method]
    strategy = operation.as_strategy(generation_mode=mode)
    existing = _existing(op, w)
    if existing:
        strategy = st.one_of(strategy, operation.as_strategy(generation_mode=mode, **existing))

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.data_too_large])
    @given(case=strategy)
    def check(case: Any) -> None:
        case.call_and_validate(headers=auth, checks=CHECKS)
        anonymous = case.call()
        routed = not (case.meta and case.meta.is_negative_at(ParameterLocation.PATH))
        if routed:
            assert anonymous.status_code == 401, (case.path, anonymous.status_code)
        else:  # a path value that matches no route answers 404 before any token is read
            assert anonymous.status_code in (401, 404)

    check()
