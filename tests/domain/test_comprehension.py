"""RULES.md §9: the comprehension questions; every answer must be right."""

from __future__ import annotations

import pytest

from tracker.domain.comprehension import QUESTIONS, Grade, answer_errors, grade

RIGHT = {
    "birth-defects": True, "two-methods": True, "month-before-after": True,
    "negative-test-each-month": True, "share-ok": False, "blood-donation": False,
    "stop-if-pregnant": True, "breastfeeding-ok": False,
}


def test_question_ids_and_answers_are_the_contract() -> None:
    assert {q.id: q.correct for q in QUESTIONS} == RIGHT
    assert [q.id for q in QUESTIONS] == list(RIGHT)
    assert all(q.statement.endswith(".") for q in QUESTIONS)


def test_all_right_passes() -> None:
    assert grade(RIGHT) == Grade(passed=True, wrong=())
    assert answer_errors(RIGHT) == {}


@pytest.mark.parametrize("question", list(RIGHT))
def test_one_wrong_answer_fails(question: str) -> None:
    answers = {**RIGHT, question: not RIGHT[question]}
    assert grade(answers) == Grade(passed=False, wrong=(question,))


def test_wrong_answers_are_listed_in_question_order() -> None:
    answers = {**RIGHT, "breastfeeding-ok": True, "birth-defects": False}
    assert grade(answers).wrong == ("birth-defects", "breastfeeding-ok")


def test_missing_answer_counts_as_wrong() -> None:
    answers = dict(RIGHT)
    del answers["share-ok"]
    assert grade(answers) == Grade(passed=False, wrong=("share-ok",))


def test_answer_sheet_errors_name_each_question() -> None:
    answers: dict[str, object] = {**RIGHT, "favourite-colour": True, "share-ok": 0}
    del answers["blood-donation"]
    assert answer_errors(answers) == {
        "favourite-colour": "Unknown question; the known questions are listed by the "
        "questions page.",
        "share-ok": "The answer must be true or false.",
        "blood-donation": "Answer this question with true or false.",
    }


@pytest.mark.parametrize("value", [1, "true", None, 1.0])
def test_only_true_or_false_is_an_answer(value: object) -> None:
    assert answer_errors({**RIGHT, "birth-defects": value}) == {
        "birth-defects": "The answer must be true or false."
    }
