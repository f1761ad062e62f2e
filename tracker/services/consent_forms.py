"""The enrollment acknowledgment forms (RULES.md §4), versioned. The signature stores the form
code and version, so a later wording change never alters what a patient signed."""

from __future__ import annotations

from dataclasses import dataclass

from tracker.domain.facts import Category

MEANING = "I have read and understood"


@dataclass(frozen=True)
class ConsentForm:
    code: str
    version: str
    category: Category
    title: str
    paragraphs: tuple[str, ...]
    meaning: str = MEANING


CAN_GET_PREGNANT_FORM = ConsentForm(
    code="pregnancy-warning",
    version="2026.1",
    category=Category.CAN_GET_PREGNANT,
    title="Isotretinoin and pregnancy: what I must know before treatment",
    paragraphs=(
        "Isotretinoin is a prescription medicine taken by mouth for severe acne that other "
        "treatments have not cleared. It is related to vitamin A and shrinks the skin's oil "
        "glands.",
        "Isotretinoin can cause severe birth defects in a baby whose mother takes it while "
        "pregnant, even for a short time and even at a low dose. Miscarriage and premature "
        "birth have also been reported.",
        "I must not take isotretinoin if I am pregnant, if I plan to become pregnant during "
        "treatment or in the month after my last dose, or if I am breast-feeding.",
        "I must use two forms of birth control at the same time, starting one month before "
        "treatment, during treatment and for one month after my last dose, unless I commit to "
        "not having sexual intercourse at all (abstinence).",
        "I must have negative pregnancy tests before I start and before every monthly "
        "prescription, and a pregnancy test one month after my last dose.",
        "If I think I may be pregnant, I stop taking isotretinoin at once and call my doctor.",
        "Isotretinoin is only for me: I will never share it with anyone, and I will not donate "
        "blood while I take it and for one month after my last dose, because the blood could "
        "reach a pregnant person.",
        "Because the risk is so serious, isotretinoin is only dispensed through a special "
        "program: my doctor and my pharmacy must confirm every requirement each month.",
    ),
)

CANNOT_GET_PREGNANT_FORM = ConsentForm(
    code="treatment-warning",
    version="2026.1",
    category=Category.CANNOT_GET_PREGNANT,
    title="Isotretinoin: what I must know before treatment",
    paragraphs=(
        "Isotretinoin is a prescription medicine taken by mouth for severe acne that other "
        "treatments have not cleared.",
        "Isotretinoin causes severe birth defects. My prescriber has found that I cannot "
        "become pregnant; this medicine must still never reach anyone who could.",
        "Isotretinoin is only for me: I will never share it with anyone, and I will not donate "
        "blood while I take it and for one month after my last dose.",
        "Side effects can include dry skin and lips, bone or joint pain, headaches, changes in "
        "mood and, rarely, serious allergic reactions. I will tell my doctor about any unusual "
        "reaction.",
        "Isotretinoin is only dispensed through a special program that my doctor and my "
        "pharmacy follow.",
    ),
)

FORMS = {f.category: f for f in (CAN_GET_PREGNANT_FORM, CANNOT_GET_PREGNANT_FORM)}


def current_form(category: Category | str) -> ConsentForm:
    return FORMS[Category(category)]
