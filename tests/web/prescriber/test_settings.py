"""The prescriber's home-testing permission, given only with its attestation and audited
(RULES.md §3)."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.web.prescriber.conftest import SHOWN_AGAIN, errors_of, events, page, submit, text_of
from tracker.models import User


def _permitted(db: Session, user: User) -> bool:
    db.expire_all()
    return db.get(User, user.id).home_testing_permitted  # type: ignore[union-attr]


def test_home_testing_is_off_by_default_and_needs_the_attestation(
    browser: FlaskClient, db: Session, doctor: User
) -> None:
    shown = text_of(page(browser, "/settings"))
    assert "Home tests are not permitted for your patients" in shown
    assert f"NPI {doctor.npi}" in shown
    answer = submit(browser, "/settings", {"permit": "1"}, status=SHOWN_AGAIN)
    assert errors_of(answer) == ["To permit home tests, tick the attestation."]
    assert not _permitted(db, doctor)
    assert events(db, "prescriber.home_testing_changed") == []


def test_home_testing_is_permitted_with_the_attestation_and_withdrawn(
    browser: FlaskClient, db: Session, doctor: User
) -> None:
    submit(browser, "/settings", {"permit": "1", "attestation": "y"})
    assert _permitted(db, doctor)
    shown = text_of(page(browser, "/settings"))
    assert "Home pregnancy tests are now permitted for your patients." in shown
    assert "Home tests are permitted for your patients, with your attestation." in shown
    submit(browser, "/settings", {"permit": "0"})
    assert not _permitted(db, doctor)
    changes = events(db, "prescriber.home_testing_changed")
    assert [c.new_values for c in changes] == ['{"home_testing_permitted":true}',
                                              '{"home_testing_permitted":false}']
    assert changes[0].reason == "attested: process against misread or falsified home results"
