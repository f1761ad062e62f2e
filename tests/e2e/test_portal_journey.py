"""The patient's side on a phone (390 px), in Spanish: the clinic prints an invitation, the
patient sets up the account, answers the monthly questions (one wrong answer first, then all
right), the prescriber marks the prescription dispensable, the patient shows the QR code, and
the pharmacist enters the scanned value and the birth date and dispenses. Every patient page
on the way passes axe-core's WCAG 2.2 A/AA checks (no serious or critical violation)."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest

pytest.importorskip("playwright.sync_api",
                    reason="e2e: Playwright is not installed (pip install -e '.[test]')")
import segno
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.e2e import steps
from tests.e2e.accessibility import assert_accessible, focus_is_visible, violations
from tests.e2e.conftest import Server, days_ago, fits_window, shot
from tests.e2e.steps import CAN, RIGHT_ANSWERS, OpenAs, look_up

pytestmark = pytest.mark.e2e

PHONE: ViewportSize = {"width": 390, "height": 844}
PATIENT_PASSWORD = "mi frase secreta de siempre"
BORN = date(1998, 7, 14)
# RULES.md §9 in the Spanish of the catalog: what the patient reads on their phone.
STATEMENTS_ES = {
    "birth-defects": "La isotretinoína puede causar defectos de nacimiento graves, incluso "
                     "tras una exposición breve.",
    "two-methods": "Debo usar dos métodos anticonceptivos a la vez, salvo que me comprometa a "
                   "la abstinencia.",
    "month-before-after": "Los métodos anticonceptivos deben empezar un mes antes del "
                          "tratamiento y continuar un mes después de la última dosis.",
    "negative-test-each-month": "Necesito una prueba de embarazo negativa antes de cada "
                                "receta mensual.",
    "share-ok": "Está permitido compartir la isotretinoína con un amigo que tenga acné.",
    "blood-donation": "Puedo donar sangre mientras tomo isotretinoína.",
    "stop-if-pregnant": "Si creo que puedo estar embarazada, dejo de tomar isotretinoína y "
                        "llamo a mi médico de inmediato.",
    "breastfeeding-ok": "Dar el pecho mientras se toma isotretinoína es seguro.",
}
METHODS_ES = ("Dispositivo intrauterino (DIU)", "Preservativo masculino")


def phone_context(browser: Browser, locale: str) -> BrowserContext:
    context = browser.new_context(viewport=PHONE, locale=locale, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    return context


def checked(page: Page) -> None:
    """A patient page as a phone shows it: it fits the width, and axe-core finds nothing
    serious."""
    assert fits_window(page), page.url
    assert_accessible(page)


def answer_in_spanish(page: Page, answers: dict[str, bool]) -> None:
    for qid, statement in STATEMENTS_ES.items():
        group = page.get_by_role("group", name=statement)
        group.get_by_label("Verdadero" if answers[qid] else "Falso", exact=True).check()
    for method in METHODS_ES:
        page.get_by_label(method, exact=True).check()
    page.get_by_role("button", name="Enviar mis respuestas").click()


def test_the_patient_takes_part_from_their_phone_in_spanish(
        browser: Browser, server: Server, open_as: OpenAs) -> None:
    # The clinic: a patient who can get pregnant, enrolled, tested, counseled, with a
    # prescription waiting for the monthly answers; then the invitation slip.
    desk = open_as("doc@e2e.test")
    patient = steps.register_patient(desk, "Lucía", "Fernández", BORN, CAN)
    steps.sign_acknowledgment(desk, "Lucía Fernández")
    steps.prepare_first_fill(desk, patient, days_ago(1))
    steps.record_counseling(desk, patient)
    rx_number = steps.write_prescription(desk, patient, days=30, quantity=30)
    steps.open_patient(desk, patient)
    desk.get_by_role("button", name="Invite to the patient portal (printable slip)").click()
    code = desk.locator("#invitation-code").inner_text().strip()
    link = desk.locator(".slip-link").inner_text().strip()
    assert link.endswith("/portal/join?code=" + code)

    context = phone_context(browser, "es-ES")
    try:
        phone = context.new_page()
        # The invitation, in Spanish from the phone's language.
        phone.goto(link)
        expect(phone.get_by_role("heading", name="Cree su cuenta")).to_be_visible()
        expect(phone.get_by_label("Código de invitación")).to_have_value(code)
        checked(phone)
        assert focus_is_visible(phone)
        phone.get_by_label("Su fecha de nacimiento").fill(BORN.isoformat())
        phone.get_by_label("Su correo electrónico").fill("lucia@e2e.test")
        phone.get_by_label("Elija una contraseña").fill(PATIENT_PASSWORD)
        phone.get_by_role("button", name="Crear mi cuenta").click()

        expect(phone.get_by_role("status")).to_contain_text("Su cuenta está lista.")
        checked(phone)
        phone.get_by_label("Correo electrónico").fill("lucia@e2e.test")
        phone.get_by_label("Contraseña").fill(PATIENT_PASSWORD)
        phone.get_by_role("button", name="Iniciar sesión").click()

        # What is still needed: the monthly questions, by the patient.
        expect(phone.get_by_role("heading", name="Hola, Lucía")).to_be_visible()
        expect(phone.get_by_text("Su inscripción está completa.")).to_be_visible()
        expect(phone.get_by_text("Responda sus preguntas del mes")).to_be_visible()
        checked(phone)
        shot(phone, "portal-home-phone-es")
        phone.get_by_role("link", name="Responder las preguntas").click()

        # One wrong answer: the statement to read again is named; then every answer right.
        expect(phone.get_by_role("heading", name="Preguntas del mes")).to_be_visible()
        checked(phone)
        answer_in_spanish(phone, {**RIGHT_ANSWERS, "share-ok": True})
        summary = phone.get_by_role("alert").filter(has_text="no es correcta")
        expect(summary).to_contain_text(STATEMENTS_ES["share-ok"])
        checked(phone)
        shot(phone, "portal-questions-phone-es")
        answer_in_spanish(phone, RIGHT_ANSWERS)
        expect(phone.get_by_role("status")).to_contain_text("todas sus respuestas son correctas")
        expect(phone.get_by_text("su médico ya puede autorizar su receta")).to_be_visible()

        # The prescriber marks the prescription dispensable.
        steps.open_patient(desk, patient)
        desk.get_by_role("link", name=rx_number).first.click()
        number, _ = steps.mark_dispensable(desk)

        # The patient shows the QR code; it holds the authorization number and nothing else.
        phone.reload()
        card = phone.get_by_role("region", name="Listo en la farmacia")
        expect(card).to_contain_text(number)
        qr = card.get_by_role("img", name=f"Código QR de la autorización número {number}")
        expect(qr).to_be_visible()
        checked(phone)
        shot(phone, "portal-qr-phone-es")
        svg = phone.request.get(server.url + qr.get_attribute("src")).body()
        drawn = io.BytesIO()
        segno.make(number, error="m").save(drawn, kind="svg", scale=8, border=4, xmldecl=False,
                                           dark="#000000", light="#ffffff")
        assert svg == drawn.getvalue()
        scanned = number  # what a scanner reads from that code

        # The same page in English, then back to Spanish (the choice is remembered).
        phone.get_by_role("navigation", name="Idioma").get_by_role("link",
                                                                   name="English").click()
        expect(phone.get_by_role("region", name="Ready at the pharmacy")).to_be_visible()
        checked(phone)
        shot(phone, "portal-qr-phone-en")
        phone.get_by_role("navigation", name="Language").get_by_role("link",
                                                                     name="Español").click()
        expect(phone.get_by_role("heading", name="Hola, Lucía")).to_be_visible()

        # The counter: the scanned value and the birth date; dispensed.
        counter = open_as("rx@e2e.test")
        look_up(counter, scanned, BORN)
        expect(counter.get_by_text("May be dispensed now")).to_be_visible()
        steps.record_dispense(counter)
        expect(counter.get_by_role("status")).to_contain_text(re.compile("dispens", re.I))

        # Once dispensed, there is nothing to show at the pharmacy any more.
        phone.reload()
        expect(phone.get_by_role("region", name="Listo en la farmacia")).to_have_count(0)
        checked(phone)
    finally:
        context.close()


@pytest.mark.parametrize("width", [360, 640])
def test_the_portal_reflows_at_phone_width_and_at_200_percent_zoom(
        browser: Browser, server: Server, width: int) -> None:
    """360 px: a small phone; 640 px: a 1280 px window at 200% zoom (WCAG 1.4.4, 1.4.10)."""
    context = browser.new_context(viewport={"width": width, "height": 700}, locale="es-ES")
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        for path in ("/portal/login", "/portal/join?code=AAAA-BBBB-CCCC-DDDD"):
            page.goto(server.url + path)
            checked(page)
        page.get_by_role("button", name="Crear mi cuenta").click()
        expect(page.get_by_role("alert").first).to_be_visible()
        checked(page)  # the form's errors, announced and labelled
    finally:
        context.close()


def test_the_accessibility_check_finds_what_it_must(browser: Browser) -> None:
    """The check is not empty: a field without a label and text without contrast fail it."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content('<html lang="en"><head><title>t</title></head><body><main>'
                         '<input type="text"><p style="color:#ddd">faint</p></main></body></html>')
        found = {v["id"] for v in violations(page)}
        assert {"label", "color-contrast"} <= found
    finally:
        context.close()
