"""What a patient who can get pregnant does in their own portal each month: confirm their
contraception and answer the comprehension questions (RULES.md §6.3, §9). The attempt is the
same record as one answered on the clinic's screen, entered by the patient, so the engine
counts it exactly as that one; a failed attempt is kept and may be followed by another."""

from __future__ import annotations

from typing import Any

from tracker.domain.facts import Category
from tracker.models import ComprehensionAttempt
from tracker.services.context import Context
from tracker.services.errors import NotFound
from tracker.services.portal_accounts import portal_patient
from tracker.services.records import store_comprehension


def answer_monthly_questions(ctx: Context, answers: Any, methods: Any,
                             abstinence: bool) -> ComprehensionAttempt:
    """The signed-in patient's attempt, dated today (a patient cannot date it otherwise).
    Only patients who can get pregnant have monthly questions (§7: the others have none)."""
    patient = portal_patient(ctx)
    if patient.category != Category.CAN_GET_PREGNANT:
        raise NotFound("no monthly questions for this patient")
    return store_comprehension(ctx, patient, ctx.today(), answers, methods, abstinence)
