"""How authorize, reverse and dispense say no: every refusal is audited with its reasons, and
pharmacy staff are answered with the folded decision. A conditional write that finds the state
another transaction has just changed raises LostRace inside the use case's savepoint, which
is undone before the refusal is audited."""

from __future__ import annotations

from tracker.domain.decision import Decision
from tracker.domain.reasons import Reason
from tracker.domain.rules import fold_for_pharmacy
from tracker.models import Role
from tracker.services.audit import record_event
from tracker.services.context import Context
from tracker.services.errors import Refused


def refuse(ctx: Context, action: str, object_type: str, object_id: object, patient_id: int,
           decision: Decision, message: str) -> Refused:
    """Audit a refusal with every reason; pharmacy staff are answered with the folded decision
    (API.md "minimum necessary")."""
    record_event(ctx, action, object_type, object_id, patient_id=patient_id,
                 new={"rule_set": decision.rule_set, "as_of": decision.as_of,
                      "unmet": [r.code.value for r in decision.unmet]})
    shown = fold_for_pharmacy(decision) if ctx.actor.role == Role.PHARMACIST else decision
    return Refused(shown, message)


def single_reason(decision_base: Decision, reason: Reason) -> Decision:
    return Decision(False, decision_base.rule_set, decision_base.as_of, (reason,),
                    decision_base.window, decision_base.do_not_dispense_after, ())


class LostRace(Exception):
    """A conditional write found the state another transaction had just changed."""

    def __init__(self, reason: Reason) -> None:
        self.reason = reason
        super().__init__(reason.message)
