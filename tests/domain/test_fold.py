"""API.md "minimum necessary": pharmacy staff never read clinical facts."""

from __future__ import annotations

import pytest

from tracker.domain.decision import Decision, Window
from tracker.domain.facts import OpenAuthorization, PrescriptionStatus
from tracker.domain.policy import IPLEDGE_2026
from tracker.domain.reasons import PHARMACY_VISIBLE_CODES, Reason, ReasonCode
from tracker.domain.rules import evaluate, evaluate_dispense, fold_for_pharmacy

from .builders import ACTIVE_PHARMACY, POS, RX_ID, codes, d, days, qualified_later_fill

T = d("2026-12-10")
CLINICAL = [code for code in ReasonCode if code not in PHARMACY_VISIBLE_CODES
            and code != ReasonCode.PRESCRIBER_ACTION_REQUIRED]
VISIBLE = sorted(PHARMACY_VISIBLE_CODES - {ReasonCode.WINDOW_EXPIRED})


def decision_with(*reasons: Reason) -> Decision:
    """A decision with these reasons, a window and some records used."""
    return Decision(
        dispensable=not reasons, rule_set="ipledge-2026", as_of=T, unmet=reasons,
        window=Window(T, T + days(6)), do_not_dispense_after=T + days(6),
        used=(("pregnancy_test", 7), ("counseling", 8)),
    )


@pytest.mark.parametrize("code", CLINICAL)
def test_every_clinical_code_is_folded_into_prescriber_action_required(code: ReasonCode) -> None:
    folded = fold_for_pharmacy(decision_with(Reason(code, "clinical detail", T)))
    assert folded.unmet == (
        Reason(
            ReasonCode.PRESCRIBER_ACTION_REQUIRED,
            "Contact the prescriber: the patient's requirements are not met.",
        ),
    )


def test_several_clinical_reasons_become_one() -> None:
    folded = fold_for_pharmacy(decision_with(
        Reason(ReasonCode.PREGNANCY_TEST_POSITIVE, "positive"),
        Reason(ReasonCode.COUNSELING_MISSING, "counseling", T),
    ))
    assert codes(folded) == ["PRESCRIBER_ACTION_REQUIRED"]
    assert folded.unmet[0].met_from is None


@pytest.mark.parametrize("code", VISIBLE)
def test_non_clinical_codes_are_kept_as_they_are(code: ReasonCode) -> None:
    kept = Reason(code, "pharmacy can read this", None, T)
    assert fold_for_pharmacy(decision_with(kept)).unmet == (kept,)


def test_window_expired_keeps_its_date_but_names_no_test() -> None:
    expired = Reason(ReasonCode.WINDOW_EXPIRED, "The 7-day window of the negative test ...",
                     T + days(1), T)
    folded = fold_for_pharmacy(decision_with(expired))
    assert folded.unmet == (
        Reason(ReasonCode.WINDOW_EXPIRED, "The dispensing window closed on 2026-12-10.",
               closed_on=T),
    )


def test_window_expired_without_a_date_still_names_no_test() -> None:
    folded = fold_for_pharmacy(decision_with(Reason(ReasonCode.WINDOW_EXPIRED, "test ...")))
    assert folded.unmet[0].message == "The dispensing window has closed."


def test_folding_drops_the_records_used_and_the_window_but_keeps_the_last_day() -> None:
    original = decision_with(Reason(ReasonCode.PHARMACY_INACTIVE, "renew"),
                             Reason(ReasonCode.LOCKOUT_PERIOD, "lockout", T))
    folded = fold_for_pharmacy(original)
    assert codes(folded) == ["PHARMACY_INACTIVE", "PRESCRIBER_ACTION_REQUIRED"]
    assert folded.used == ()
    assert original.window is not None and folded.window is None  # opens on the test's day
    assert folded.do_not_dispense_after == original.do_not_dispense_after
    assert (folded.dispensable, folded.rule_set, folded.as_of) == (False, "ipledge-2026", T)


def test_dispensable_decision_folds_to_itself_without_records() -> None:
    decision = evaluate(qualified_later_fill(T).case(), T, IPLEDGE_2026)
    folded = fold_for_pharmacy(decision)
    assert folded.dispensable and folded.unmet == () and folded.used == ()
    assert folded.window is None


def test_positive_test_cannot_be_read_at_the_counter() -> None:
    history = qualified_later_fill(T).test(T + days(1), POS)
    decision = evaluate_dispense(
        history.case(status=PrescriptionStatus.DISPENSABLE), T + days(2), (IPLEDGE_2026,),
        ACTIVE_PHARMACY, OpenAuthorization("A", RX_ID, T, T + days(6), "ipledge-2026"),
    )
    assert codes(decision) == ["PREGNANCY_TEST_POSITIVE"]
    folded = fold_for_pharmacy(decision)
    assert codes(folded) == ["PRESCRIBER_ACTION_REQUIRED"]
    assert all("positive" not in r.message and "test" not in r.message for r in folded.unmet)
