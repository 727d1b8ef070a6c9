"""Translations: one catalogue per domain package, merged at run time.

Each domain keeps ``exam/<domain>/translations/<lang>/LC_MESSAGES/messages.po``
(English message ids, Chinese translations), so a domain's strings live beside its
code. Catalogues are compiled to ``.mo`` on start-up when missing or older than their
``.po``; compiled files are not kept in the repository.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app, g, has_request_context, session

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


def translation_directories() -> list[str]:
    """Every ``translations`` folder under the ``exam`` package, core first."""
    found = sorted(PACKAGE_ROOT.glob("*/translations"))
    return [str(p) for p in found if p.is_dir()]


def compile_catalogs() -> int:
    """Compile stale ``.po`` files next to themselves. Returns how many were compiled."""
    compiled = 0
    for directory in translation_directories():
        for po_path in Path(directory).glob("*/LC_MESSAGES/*.po"):
            mo_path = po_path.with_suffix(".mo")
            if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            with po_path.open("rb") as fh:
                catalog = read_po(fh)
            tmp = mo_path.with_suffix(f".mo.{os.getpid()}.tmp")  # several processes may start at once
            with tmp.open("wb") as fh:
                write_mo(fh, catalog, use_fuzzy=False)
            tmp.replace(mo_path)
            compiled += 1
    return compiled


def select_locale() -> str:
    """The user's choice (kept in the session and on the account), else Chinese.

    Outside a request (commands), the shell's ``LANG`` decides, as for any Unix tool.
    """
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return "zh" if os.environ.get("LANG", "").lower().startswith("zh") else "en"
    choice = session.get("lang") or g.get("user_locale")
    if choice in languages:
        return choice
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["DISPLAY_TIMEZONE"]
