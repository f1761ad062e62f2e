"""The patient's pages in English and Spanish: every word of them is in the Spanish catalog
(extracted from the sources as babel.cfg says, so a new string fails here until it is
translated), the words that come from below the web layer are the sources' own, the browser's
language is honoured and a chosen one is remembered."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from tests import builders
from tests.web.portal.helpers import portal_login
from tracker.domain.comprehension import QUESTIONS
from tracker.domain.contraception import METHOD_LABELS
from tracker.services import auth, passwords, portal_accounts
from tracker.services.consent_forms import FORMS, MEANING
from tracker.services.context import Context
from tracker.services.queries.portal_overview import Task, Who
from tracker.web import i18n, portal_words

ROOT = Path(__file__).resolve().parents[3]
CATALOG = ROOT / "tracker" / "translations" / "es" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def extracted() -> list[object]:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    return [message for _, _, message, *_ in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS)]


@pytest.fixture(scope="module")
def spanish() -> Catalog:
    with CATALOG.open("rb") as handle:
        return read_po(handle, locale="es")


def test_the_sources_mark_the_patients_words(spanish: Catalog) -> None:
    found = extracted()
    assert len(found) > 100  # the portal's templates and modules were read
    assert "Monthly questions" in found and "Set up your account" in found


def test_every_patient_facing_string_is_translated(spanish: Catalog) -> None:
    missing = []
    for message in extracted():
        entry = spanish.get(message)
        text = entry.string if entry is not None else None
        if (entry is None or entry.fuzzy or not text
                or (isinstance(text, tuple) and not all(text))):
            missing.append(message)
    assert missing == [], f"untranslated in {CATALOG.name}: {missing}"


def test_the_translations_keep_their_placeholders(spanish: Catalog) -> None:
    problems = [(message.id, [str(e) for e in errors])
                for message, errors in spanish.check() if errors]
    assert problems == []


def test_the_questions_are_those_of_the_rules() -> None:
    assert {q.id: q.statement for q in QUESTIONS} == {
        qid: text._args[0] for qid, text in portal_words.QUESTIONS.items()}


def test_the_methods_are_those_of_the_rules() -> None:
    assert dict(METHOD_LABELS) == {
        code: text._args[0] for code, text in portal_words.METHODS.items()}


def test_the_warning_is_the_one_signed() -> None:
    signed = {MEANING} | {f.title for f in FORMS.values()} | {
        p for f in FORMS.values() for p in f.paragraphs}
    assert signed == set(portal_words.WARNING)
    assert all(text._args[0] == source for source, text in portal_words.WARNING.items())


def test_every_task_and_who_has_words() -> None:
    assert set(portal_words.TASKS) == set(Task)
    assert set(portal_words.WHO) == set(Who)


def test_the_services_messages_a_patient_meets_have_words() -> None:
    meets = {portal_accounts.UNUSABLE, portal_accounts.BIRTH_DATE_WRONG, portal_accounts.PAUSED,
             portal_accounts.EMAIL_INVALID, portal_accounts.EMAIL_TAKEN,
             portal_accounts.BIRTH_DATE_MISSING, auth.GENERIC_FAILURE, auth.DEACTIVATED,
             auth.SIGNED_OUT}
    meets |= set(passwords.password_problems("x" * (passwords.MAX_LENGTH + 1)))
    meets |= set(passwords.password_problems("short"))
    meets |= set(passwords.password_problems("password1234"))
    meets |= set(passwords.password_problems("alex rivera x", name="alex rivera x"))
    meets |= set(passwords.password_problems("alex@example.test", email="alex@example.test"))
    assert meets - set(portal_words.MESSAGES) == set()


def test_the_catalogs_compile_once(tmp_path: Path) -> None:
    written = i18n.compile_catalogs(i18n.SOURCE, tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        "es/LC_MESSAGES/messages.mo"]
    assert i18n.compile_catalogs(i18n.SOURCE, tmp_path) == []


def test_the_browsers_language_is_honoured(client: FlaskClient) -> None:
    page = client.get("/portal/login", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    text = page.get_data(as_text=True)
    assert '<html lang="es">' in text and "Iniciar sesión" in text
    english = client.get("/portal/login", headers={"Accept-Language": "fr, en;q=0.5"})
    assert '<html lang="en">' in english.get_data(as_text=True)


def test_the_chosen_language_is_remembered(client: FlaskClient) -> None:
    chosen = client.get("/portal/login?lang=es", headers={"Accept-Language": "en"})
    assert "tracker_lang=es" in chosen.headers["Set-Cookie"]
    later = client.get("/portal/join", headers={"Accept-Language": "en"})
    assert "Cree su cuenta" in later.get_data(as_text=True)
    client.get("/portal/join?lang=en")
    assert "Set up your account" in client.get("/portal/join").get_data(as_text=True)


def test_a_spanish_patient_reads_the_questions_in_spanish(ctx: Context,
                                                           client: FlaskClient) -> None:
    doc = builders.as_user(ctx, builders.prescriber(ctx))
    patient = builders.enrolled_patient(doc)
    user = builders.patient_account(doc, patient.id)
    client.get("/portal/login?lang=es")
    portal_login(client, user.email)
    home = client.get("/portal").get_data(as_text=True)
    assert "Responda sus preguntas del mes" in home and "Su inscripción está completa." in home
    questions = client.get("/portal/monthly").get_data(as_text=True)
    assert "La isotretinoína puede causar defectos de nacimiento graves" in questions
    assert "Verdadero" in questions and "Ligadura de trompas" in questions
    warning = client.get("/portal/warning").get_data(as_text=True)
    assert "Isotretinoína y embarazo: lo que debo saber antes del tratamiento" in warning
    assert "He leído y comprendido" in warning


def test_the_portals_error_pages_speak_the_patients_language(ctx: Context,
                                                             client: FlaskClient) -> None:
    doc = builders.as_user(ctx, builders.prescriber(ctx))
    patient = builders.enrolled_patient(doc)
    user = builders.patient_account(doc, patient.id)
    portal_login(client, user.email)
    missing = client.get("/portal/authorizations/999999/qr.svg?lang=es")
    assert missing.status_code == 404
    assert "Esta página no existe o no es suya." in missing.get_data(as_text=True)
