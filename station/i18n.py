"""Languages: Chinese first (简体中文), English on request.

Message ids in templates and code are the Chinese text; ``station/translations/en`` holds the
English. The language comes from ``?lang=``, then the session, then the browser, else Chinese.
Catalogues are compiled by ``make install`` (``pybabel compile``); without them English
screens fall back to Chinese, never to an error.
"""

from __future__ import annotations

from flask import Flask, has_request_context, request, session
from flask_babel import Babel, get_locale

LANGUAGES = ("zh", "en")
babel = Babel()


def _select_locale() -> str:
    if not has_request_context():
        return "zh"
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
        return asked
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    return request.accept_languages.best_match(LANGUAGES, default="zh") or "zh"


def current_language() -> str:
    if not has_request_context():
        return "zh"
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh"


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=_select_locale)
    app.jinja_env.globals["current_language"] = current_language
