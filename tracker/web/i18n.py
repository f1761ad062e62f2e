"""Languages of the patient's pages: English and Spanish, with Flask-Babel and the gettext
catalogs of tracker/translations (extracted with babel.cfg). The catalogs are kept as .po
files only; the app compiles them into its instance folder when it starts (again whenever a
.po file is newer), so a fresh clone, an installed wheel and a development server all serve
the same words without a separate build step.

The language is the one the person chose (a `lang` query argument on any page, remembered in
a cookie), else the best match of the browser's Accept-Language, else English. Staff pages
stay in English; they do not mark their words for translation."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, Response, request
from flask_babel import Babel, get_locale

LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT = "en"
COOKIE = "tracker_lang"
COOKIE_DAYS = 365
SOURCE = Path(__file__).resolve().parent.parent / "translations"


def chosen_language() -> str:
    """The language of this request's pages (see the module's docstring)."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    kept = request.cookies.get(COOKIE)
    if kept in LANGUAGES:
        return kept
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT) or DEFAULT


def _remember_choice(response: Response) -> Response:
    asked = request.args.get("lang")
    if asked in LANGUAGES and request.cookies.get(COOKIE) != asked:
        response.set_cookie(COOKIE, asked, max_age=COOKIE_DAYS * 86400, secure=request.is_secure,
                            httponly=True, samesite="Lax")
    return response


def compile_catalogs(source: Path, target: Path) -> list[Path]:
    """Compile every `<lang>/LC_MESSAGES/*.po` under `source` into the same place under
    `target` when the .mo is missing or older; returns the files written. Each file is
    written whole and then renamed, so app processes starting together never read half a
    file."""
    written = []
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        mo = target / po.relative_to(source).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime_ns >= po.stat().st_mtime_ns:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=po.parent.parent.name)
        fd, tmp = tempfile.mkstemp(dir=mo.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog)
        os.replace(tmp, mo)
        written.append(mo)
    return written


def language() -> str:
    return str(get_locale() or DEFAULT)


def install(app: Flask) -> None:
    target = Path(app.instance_path) / "translations"
    compile_catalogs(SOURCE, target)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(target)
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT
    Babel(app, locale_selector=chosen_language)
    app.after_request(_remember_choice)

    @app.context_processor
    def _languages() -> dict[str, object]:
        return {"languages": LANGUAGES, "language": language}
