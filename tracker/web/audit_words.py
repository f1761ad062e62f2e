"""The audit trail in words: what each action was, and an event's changes as
"Counseled on: 2026-12-01" lines (the pages write the dates out)."""

from __future__ import annotations

import json

from tracker.models import AuditEvent

_ACTIONS = {
    "user.created": "Created",
    "user.deactivated": "Deactivated",
    "user.reactivated": "Reactivated",
    "user.password_reset": "Password reset by an administrator",
    "user.password_reset_link_created": "Password reset link made",
    "user.password_reset_completed": "New password set with a reset link",
    "user.password_changed": "Password changed",
    "login.succeeded": "Signed in",
    "login.failed": "Sign-in failed",
    "login.throttled": "Sign-in paused after repeated failures",
    "user.password_change_failed": "Password change refused: the current password was wrong",
    "user.signed_out_after_password_failures": "Signed out after repeated wrong passwords",
    "logout": "Signed out",
    "prescriber.home_testing_changed": "Home pregnancy testing setting changed",
    "pharmacy.created": "Created",
    "pharmacy.updated": "Details corrected",
    "pharmacy.reactivated": "Annual reactivation recorded",
    "pharmacy.training_attested": "Staff training attestation recorded",
    "dispenses.exported": "Dispense history exported",
    "token.created": "API token issued",
    "token.revoked": "API token revoked",
    "user.works_for_changed": "Prescribers worked for changed",
    "staff.works_for": "Now works for a prescriber",
    "staff.work_ended": "No longer works for a prescriber",
    "patient.registered": "Patient registered",
    "patient.imported": "Patient imported",
    "patient.category_changed": "Category changed",
    "acknowledgment.signed": "Acknowledgment signed",
    "acknowledgment.witness_password_failed": "Witness password refused",
    "counseling.recorded": "Counseling recorded",
    "counseling.corrected": "Counseling corrected",
    "pregnancy_test.recorded": "Pregnancy test recorded",
    "pregnancy_test.corrected": "Pregnancy test corrected",
    "pregnancy_test.registry_reported": "Positive test reported to the registry",
    "contraception.recorded": "Contraception recorded",
    "contraception.corrected": "Contraception corrected",
    "comprehension.recorded": "Comprehension check recorded",
    "comprehension.corrected": "Comprehension check corrected",
    "course.ended": "Course ended",
    "prescription.written": "Prescription written",
    "authorization.issued": "Marked dispensable (authorization issued)",
    "authorization.refused": "Authorization refused by the rules",
    "authorization.signature_failed": "Authorization signature refused",
    "authorization.lapsed": "Authorization lapsed",
    "authorization.looked_up": "Looked up at the counter",
    "authorization.lookup_failed": "Counter lookup found nothing",
    "authorization.lookup_throttled": "Counter lookups paused after repeated misses",
    "authorization.reversed": "Authorization reversed",
    "authorization.reverse_refused": "Reversal refused",
    "authorization.reverse_failed": "Reversal failed",
    "dispense.recorded": "Dispensed",
    "dispense.refused": "Dispense refused by the rules",
    "handover.ended": "Patient hand-over ended",
    "handover.end_refused": "Hand-over end refused: wrong password",
    "token.create_refused": "API token refused",
    "cds_client.registered": "Decision-support client registered",
    "cds_client.revoked": "Decision-support client revoked",
    "cds_client.listed": "Decision-support clients listed",
    "rems.status_read": "REMS status read",
    "rems.status_not_found": "REMS status asked for an unknown patient",
    "rems.status_throttled": "REMS status look-ups paused after repeated misses",
    "maintenance.purged": "Old records purged",
}


def action_label(action: str) -> str:
    """An action in words; one not listed yet is still written without its code spelling
    ("thing.done_again" → "Thing: done again")."""
    if action in _ACTIONS:
        return _ACTIONS[action]
    thing, _, done = action.partition(".")
    words = thing.replace("_", " ").capitalize()
    return f"{words}: {done.replace('_', ' ')}" if done else words


def field_label(key: str) -> str:
    """A stored field's name in words: "counseled_on" → "Counseled on"."""
    return key.replace("_", " ").capitalize()


def changes(event: AuditEvent) -> list[str]:
    """An audit event's values as "Field: old → new" lines."""
    old = json.loads(event.old_values) if event.old_values else {}
    new = json.loads(event.new_values) if event.new_values else {}
    lines = []
    for key in sorted(set(old) | set(new)):
        label = field_label(key)
        if key in old and key in new:
            lines.append(f"{label}: {_value(old[key])} → {_value(new[key])}")
        elif key in new:
            lines.append(f"{label}: {_value(new[key])}")
        else:
            lines.append(f"{label}: was {_value(old[key])}")
    return lines


def _value(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{field_label(k)}: {_value(v)}" for k, v in value.items())
    return str(value)
