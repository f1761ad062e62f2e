"""Reading a CDS Hooks 2.0 request strictly ("Calling a CDS Service"): `hook` is the service's
hook, `hookInstance` a UUID, `context` the hook's context (order-sign and order-select:
`userId`, `patientId` and `draftOrders`, a Bundle; order-select also `selections`), `prefetch`
optional (an object whose values are resources or null: the client found nothing). Optional
fields (`fhirServer`, `fhirAuthorization`, `extension`, `encounterId`) are checked for their
type when present. What is malformed is a 400 whose message names the field: a client that
sends it wrongly learns what to fix instead of seeing no cards."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any


class Malformed(Exception):
    """The request is not a CDS Hooks request of the service's hook; the message says why."""


@dataclass(frozen=True)
class HookRequest:
    """The parts of a valid request the services read."""

    hook: str
    hook_instance: str
    context: dict[str, Any]
    prefetch: dict[str, Any]

    @property
    def draft_orders(self) -> list[dict[str, Any]]:
        """The resources of `context.draftOrders` (entries without one are skipped)."""
        entries = self.context["draftOrders"].get("entry", [])
        return [e["resource"] for e in entries if "resource" in e]


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Malformed(f"{name} must be a non-empty string.")
    return value


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"{name} must be a JSON object.")
    return value


def _hook_instance(value: Any) -> str:
    """A UUID in its usual form (8-4-4-4-12 hexadecimal digits), as the specification asks."""
    text = _text(value, "hookInstance")
    try:
        parsed = uuid.UUID(text)
    except ValueError as exc:
        raise Malformed("hookInstance must be a UUID (8-4-4-4-12 hexadecimal digits).") from exc
    if str(parsed) != text.lower():
        raise Malformed("hookInstance must be a UUID (8-4-4-4-12 hexadecimal digits).")
    return text


def _bundle(value: Any, name: str) -> dict[str, Any]:
    bundle = _object(value, name)
    if bundle.get("resourceType") != "Bundle":
        raise Malformed(f"{name} must be a FHIR Bundle (resourceType 'Bundle').")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise Malformed(f"{name}.entry must be a list.")
    for entry in entries:
        if not isinstance(entry, dict):
            raise Malformed(f"Every {name}.entry must be a JSON object.")
        if "resource" in entry:
            _resource(entry["resource"], f"{name}.entry.resource")
    return bundle


def _resource(value: Any, name: str) -> dict[str, Any]:
    resource = _object(value, name)
    _text(resource.get("resourceType"), f"{name}.resourceType")
    return resource


def _order_context(context: dict[str, Any], hook: str) -> None:
    _text(context.get("userId"), "context.userId")
    _text(context.get("patientId"), "context.patientId")
    if "encounterId" in context:
        _text(context["encounterId"], "context.encounterId")
    _bundle(context.get("draftOrders"), "context.draftOrders")
    if hook == "order-select" or "selections" in context:
        selections = context.get("selections")
        if not isinstance(selections, list) or not selections or not all(
                isinstance(s, str) and s.strip() for s in selections):
            raise Malformed("context.selections must be a non-empty list of the selected "
                            "orders' ids.")


def _prefetch(value: Any) -> dict[str, Any]:
    prefetch = _object(value, "prefetch")
    for key, item in prefetch.items():
        if item is not None:
            _resource(item, f"prefetch.{key}")
    return prefetch


def _optional_fields(body: dict[str, Any]) -> None:
    if "fhirServer" in body:
        _text(body["fhirServer"], "fhirServer")
    if "fhirAuthorization" in body:
        _object(body["fhirAuthorization"], "fhirAuthorization")
    if "extension" in body:
        _object(body["extension"], "extension")


def read_hook_request(body: Any, hook: str) -> HookRequest:
    """The request of an order hook (`hook`: order-sign or order-select), or Malformed."""
    request = _object(body, "The request body")
    if request.get("hook") != hook:
        raise Malformed(f"hook must be '{hook}' for this service.")
    instance = _hook_instance(request.get("hookInstance"))
    context = _object(request.get("context"), "context")
    _order_context(context, hook)
    _optional_fields(request)
    prefetch = _prefetch(request["prefetch"]) if "prefetch" in request else {}
    return HookRequest(hook, instance, context, prefetch)
