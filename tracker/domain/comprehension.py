"""The patient's comprehension questions (RULES.md §9): true/false, every answer must be right.

The ids and correct answers are part of the contract; the statements may be reworded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Question:
    """One true/false statement and its correct answer."""

    id: str
    statement: str
    correct: bool


QUESTIONS: tuple[Question, ...] = (
    Question(
        "birth-defects",
        "Isotretinoin can cause severe birth defects, even after a short exposure.",
        True,
    ),
    Question(
        "two-methods",
        "I must use two forms of birth control at the same time, unless I commit to abstinence.",
        True,
    ),
    Question(
        "month-before-after",
        "Birth control must start one month before treatment and continue for one month after "
        "the last dose.",
        True,
    ),
    Question(
        "negative-test-each-month",
        "I need a negative pregnancy test before every monthly prescription.",
        True,
    ),
    Question(
        "share-ok",
        "It is acceptable to share isotretinoin with a friend who has acne.",
        False,
    ),
    Question(
        "blood-donation",
        "I may donate blood while I am taking isotretinoin.",
        False,
    ),
    Question(
        "stop-if-pregnant",
        "If I think I may be pregnant, I stop taking isotretinoin and call my doctor at once.",
        True,
    ),
    Question(
        "breastfeeding-ok",
        "Breastfeeding while taking isotretinoin is safe.",
        False,
    ),
)

_BY_ID: dict[str, Question] = {question.id: question for question in QUESTIONS}


@dataclass(frozen=True, slots=True)
class Grade:
    """The result of one attempt: passed only when every answer is right (RULES.md §6.3)."""

    passed: bool
    wrong: tuple[str, ...]


def answer_errors(answers: Mapping[str, object]) -> dict[str, str]:
    """Problems with a submitted answer sheet, by question id: an unknown id, a missing id, or a
    value that is not true/false. Empty when the sheet can be graded."""
    errors: dict[str, str] = {}
    for key in answers:
        if key not in _BY_ID:
            errors[key] = "Unknown question; the known questions are listed by the questions page."
    for question in QUESTIONS:
        if question.id not in answers:
            errors[question.id] = "Answer this question with true or false."
        elif type(answers[question.id]) is not bool:
            # ints such as 1/0 are refused too: an answer sheet states true or false
            errors[question.id] = "The answer must be true or false."
    return errors


def grade(answers: Mapping[str, bool]) -> Grade:
    """Grade an answer sheet: a missing answer counts as wrong (never as right)."""
    wrong = tuple(
        question.id for question in QUESTIONS if answers.get(question.id) is not question.correct
    )
    return Grade(passed=not wrong, wrong=wrong)
