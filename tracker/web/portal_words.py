"""The words of the patient's pages that come from below the web layer (the questions of
RULES.md §9, the warning the patient signed, method names, the tasks of the next fill, the
services' messages), each marked for translation here. The English text of each entry is the
source's own text, word for word: tests/web/portal/test_translations.py fails when a source
changes its words without this table (and the Spanish catalog) following."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext, lazy_gettext
from flask_babel.speaklater import LazyString

from tracker.services import auth, portal_accounts
from tracker.services.passwords import MAX_LENGTH, MIN_LENGTH
from tracker.services.queries.portal_overview import Task, Who

_l = lazy_gettext

QUESTIONS: Mapping[str, LazyString] = {
    "birth-defects": _l(
        "Isotretinoin can cause severe birth defects, even after a short exposure."),
    "two-methods": _l(
        "I must use two forms of birth control at the same time, unless I commit to "
        "abstinence."),
    "month-before-after": _l(
        "Birth control must start one month before treatment and continue for one month after "
        "the last dose."),
    "negative-test-each-month": _l(
        "I need a negative pregnancy test before every monthly prescription."),
    "share-ok": _l("It is acceptable to share isotretinoin with a friend who has acne."),
    "blood-donation": _l("I may donate blood while I am taking isotretinoin."),
    "stop-if-pregnant": _l(
        "If I think I may be pregnant, I stop taking isotretinoin and call my doctor at once."),
    "breastfeeding-ok": _l("Breastfeeding while taking isotretinoin is safe."),
}

METHODS: Mapping[str, LazyString] = {
    "tubal_sterilization": _l("Tubal sterilization"),
    "partner_vasectomy": _l("Partner's vasectomy"),
    "iud": _l("Intrauterine device (IUD)"),
    "hormonal_implant": _l("Hormonal implant"),
    "hormonal_injection": _l("Hormonal injection"),
    "combined_pill": _l("Combined (estrogen and progestin) pill"),
    "patch": _l("Contraceptive patch"),
    "vaginal_ring": _l("Vaginal ring"),
    "male_condom": _l("Male condom"),
    "diaphragm_with_spermicide": _l("Diaphragm with spermicide"),
    "cervical_cap_with_spermicide": _l("Cervical cap with spermicide"),
    "vaginal_sponge": _l("Vaginal sponge"),
}

# The warning forms (tracker.services.consent_forms), title and paragraphs, as signed.
WARNING: Mapping[str, LazyString] = {
    "Isotretinoin and pregnancy: what I must know before treatment": _l(
        "Isotretinoin and pregnancy: what I must know before treatment"),
    "Isotretinoin: what I must know before treatment": _l(
        "Isotretinoin: what I must know before treatment"),
    "Isotretinoin is a prescription medicine taken by mouth for severe acne that other "
    "treatments have not cleared. It is related to vitamin A and shrinks the skin's oil "
    "glands.": _l(
        "Isotretinoin is a prescription medicine taken by mouth for severe acne that other "
        "treatments have not cleared. It is related to vitamin A and shrinks the skin's oil "
        "glands."),
    "Isotretinoin can cause severe birth defects in a baby whose mother takes it while "
    "pregnant, even for a short time and even at a low dose. Miscarriage and premature "
    "birth have also been reported.": _l(
        "Isotretinoin can cause severe birth defects in a baby whose mother takes it while "
        "pregnant, even for a short time and even at a low dose. Miscarriage and premature "
        "birth have also been reported."),
    "I must not take isotretinoin if I am pregnant, if I plan to become pregnant during "
    "treatment or in the month after my last dose, or if I am breast-feeding.": _l(
        "I must not take isotretinoin if I am pregnant, if I plan to become pregnant during "
        "treatment or in the month after my last dose, or if I am breast-feeding."),
    "I must use two forms of birth control at the same time, starting one month before "
    "treatment, during treatment and for one month after my last dose, unless I commit to "
    "not having sexual intercourse at all (abstinence).": _l(
        "I must use two forms of birth control at the same time, starting one month before "
        "treatment, during treatment and for one month after my last dose, unless I commit to "
        "not having sexual intercourse at all (abstinence)."),
    "I must have negative pregnancy tests before I start and before every monthly "
    "prescription, and a pregnancy test one month after my last dose.": _l(
        "I must have negative pregnancy tests before I start and before every monthly "
        "prescription, and a pregnancy test one month after my last dose."),
    "If I think I may be pregnant, I stop taking isotretinoin at once and call my doctor.": _l(
        "If I think I may be pregnant, I stop taking isotretinoin at once and call my doctor."),
    "Isotretinoin is only for me: I will never share it with anyone, and I will not donate "
    "blood while I take it and for one month after my last dose, because the blood could "
    "reach a pregnant person.": _l(
        "Isotretinoin is only for me: I will never share it with anyone, and I will not donate "
        "blood while I take it and for one month after my last dose, because the blood could "
        "reach a pregnant person."),
    "Because the risk is so serious, isotretinoin is only dispensed through a special "
    "program: my doctor and my pharmacy must confirm every requirement each month.": _l(
        "Because the risk is so serious, isotretinoin is only dispensed through a special "
        "program: my doctor and my pharmacy must confirm every requirement each month."),
    "Isotretinoin is a prescription medicine taken by mouth for severe acne that other "
    "treatments have not cleared.": _l(
        "Isotretinoin is a prescription medicine taken by mouth for severe acne that other "
        "treatments have not cleared."),
    "Isotretinoin causes severe birth defects. My prescriber has found that I cannot "
    "become pregnant; this medicine must still never reach anyone who could.": _l(
        "Isotretinoin causes severe birth defects. My prescriber has found that I cannot "
        "become pregnant; this medicine must still never reach anyone who could."),
    "Isotretinoin is only for me: I will never share it with anyone, and I will not donate "
    "blood while I take it and for one month after my last dose.": _l(
        "Isotretinoin is only for me: I will never share it with anyone, and I will not donate "
        "blood while I take it and for one month after my last dose."),
    "Side effects can include dry skin and lips, bone or joint pain, headaches, changes in "
    "mood and, rarely, serious allergic reactions. I will tell my doctor about any unusual "
    "reaction.": _l(
        "Side effects can include dry skin and lips, bone or joint pain, headaches, changes in "
        "mood and, rarely, serious allergic reactions. I will tell my doctor about any unusual "
        "reaction."),
    "Isotretinoin is only dispensed through a special program that my doctor and my "
    "pharmacy follow.": _l(
        "Isotretinoin is only dispensed through a special program that my doctor and my "
        "pharmacy follow."),
    "I have read and understood": _l("I have read and understood"),
}

TASKS: Mapping[Task, LazyString] = {
    Task.MONTHLY_QUESTIONS: _l("Answer your monthly questions and confirm your birth control."),
    Task.CONFIRM_SAME_CONTRACEPTION: _l(
        "Answer your monthly questions again: the birth control you confirmed is not what "
        "your clinic recorded. Ask your clinic which methods they recorded."),
    Task.SIGN_ACKNOWLEDGMENT: _l(
        "Your clinic records your signed acknowledgment of the warning."),
    Task.COUNSELING: _l("Your prescriber confirms this month's counseling with you."),
    Task.COUNSELING_VISIT: _l("Your prescriber sees you for a counseling visit."),
    Task.CONTRACEPTION: _l(
        "Your clinic records your two birth control methods (or your commitment to "
        "abstinence)."),
    Task.PREGNANCY_TEST: _l("Your clinic records your pregnancy test."),
    Task.NEW_PREGNANCY_TEST: _l(
        "Your clinic records a new pregnancy test: the days allowed by the last one have "
        "passed."),
    Task.CONFIRMATION_TEST: _l("Your clinic records your confirmation pregnancy test."),
    Task.TALK_TO_PRESCRIBER: _l(
        "Talk to your prescriber: something must be checked before your next fill."),
    Task.PRESCRIBER_ACTIVE: _l(
        "Your prescriber's registration in the program must be renewed."),
    Task.PICK_UP: _l(
        "Pick up the medicine already authorized for you, or ask your clinic to cancel it."),
}

WHO: Mapping[Who, LazyString] = {Who.YOU: _l("You"), Who.CLINIC: _l("Your clinic")}

# The services' messages a patient can meet, by their English text.
MESSAGES: Mapping[str, LazyString] = {
    f"Use at least {MIN_LENGTH} characters.": _l(
        "Use at least %(count)d characters.", count=MIN_LENGTH),
    f"Use at most {MAX_LENGTH} characters.": _l(
        "Use at most %(count)d characters.", count=MAX_LENGTH),
    "This password is on a list of commonly used passwords; choose another.": _l(
        "This password is on a list of commonly used passwords; choose another."),
    "Do not use your email address as your password.": _l(
        "Do not use your email address as your password."),
    "Do not use your name as your password.": _l("Do not use your name as your password."),
    portal_accounts.UNUSABLE: _l(
        "This invitation cannot be used: it has expired, was already used or was replaced by "
        "a newer one. Ask your clinic for a new invitation."),
    portal_accounts.BIRTH_DATE_WRONG: _l(
        "This birth date does not match the invitation. Check it and try again."),
    portal_accounts.PAUSED: _l(
        "Too many wrong birth dates: this invitation is paused for a while. Try again later."),
    portal_accounts.EMAIL_INVALID: _l("Enter a valid email address."),
    portal_accounts.EMAIL_TAKEN: _l(
        "This email address is already used by another account; choose another."),
    portal_accounts.BIRTH_DATE_MISSING: _l("Enter your birth date."),
    "Enter two different methods, at least one of them primary, or a commitment to "
    "abstinence.": _l(
        "Enter two different methods, at least one of them primary, or a commitment to "
        "abstinence."),
    "Choose methods or abstinence, not both.": _l("Choose methods or abstinence, not both."),
    "Answer this question with true or false.": _l("Answer this question with true or false."),
    auth.GENERIC_FAILURE: _l(
        "The email or password is not right, or sign-in is paused for a while."),
    auth.DEACTIVATED: _l(
        "This account has been deactivated by an administrator. Ask your administrator to "
        "reactivate it."),
    auth.SIGNED_OUT: _l(
        "You were signed out: the password was entered wrongly too many times. Sign in again; "
        "sign-in may be paused for a short while first."),
}


def message(text: str) -> str:
    """A service's message in the page's language (as it is when the table lacks it)."""
    found = MESSAGES.get(text)
    return str(found) if found is not None else text


def wait_message(seconds: int) -> str:
    """Sign-in (or an invitation) paused: when to try again, in the page's language."""
    if seconds < 120:
        return gettext("Sign-in is paused for a while after too many failed attempts. Try "
                       "again in %(count)d seconds.", count=seconds)
    return gettext("Sign-in is paused for a while after too many failed attempts. Try again "
                   "in %(count)d minutes.", count=-(-seconds // 60))


# The error pages of the patient's pages: a title and what to do, by status.
ERRORS: Mapping[int, tuple[LazyString, LazyString]] = {
    400: (_l("The form had expired"),
          _l("Go back, reload the page and send the form again.")),
    403: (_l("Not allowed"), _l("This page is not part of your portal.")),
    404: (_l("Not found"), _l("This page does not exist, or it is not yours.")),
    405: (_l("Not allowed"), _l("This page is not part of your portal.")),
    413: (_l("Too large"), _l("What you sent is too large.")),
    422: (_l("Please check your input"), _l("Some of what you sent could not be accepted.")),
    429: (_l("Too many attempts"), _l("Wait a while, then try again.")),
}
UNEXPECTED = (_l("Something went wrong"),
              _l("An unexpected error occurred and has been logged. Please try again later."))


def error_words(status: int) -> tuple[str, str]:
    """The title and the advice of an error page of the portal, in the page's language."""
    title, advice = ERRORS.get(status, UNEXPECTED)
    return str(title), str(advice)
