"""Keep the translation catalogues in step with the code.

    python scripts/i18n.py update     # add new message ids to every domain's zh catalogue
    python scripts/i18n.py check      # list message ids without a Chinese translation (exit 1)
    python scripts/i18n.py fill DOMAIN FILE.txt    # set translations: pairs of lines (English,
                                                   # Chinese), entries separated by a blank line

Each domain ``exam/<domain>`` has ``exam/<domain>/translations/zh/LC_MESSAGES/messages.po``
holding the strings of its Python code and of ``templates/<domain>/``. The core
catalogue also holds the top-level modules and the shared templates (base, macros,
errors). Message ids are English; the English interface shows them untranslated.
"""
from __future__ import annotations

import io
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
EXAM = ROOT / "exam"
TEMPLATES = ROOT / "templates"
LANG = "zh"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
            "lazy_ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
JINJA_OPTIONS = {"extensions": "jinja2.ext.do,jinja2.ext.loopcontrols", "trimmed": "true"}


def domains() -> list[str]:
    return sorted(p.name for p in EXAM.iterdir()
                  if p.is_dir() and (p / "__init__.py").exists() and p.name != "static")


def sources(domain: str) -> list[tuple[Path, str]]:
    """(file, method) pairs whose strings belong to ``domain``'s catalogue."""
    files = [(p, "python") for p in sorted((EXAM / domain).rglob("*.py"))]
    templates = TEMPLATES / domain
    if domain == "core":
        files += [(p, "python") for p in sorted(EXAM.glob("*.py"))]
        files += [(p, "jinja2") for p in sorted(TEMPLATES.glob("*.html"))]
        for shared in ("errors", "macros", "core"):
            files += [(p, "jinja2") for p in sorted((TEMPLATES / shared).rglob("*.html"))]
    elif templates.is_dir():
        files += [(p, "jinja2") for p in sorted(templates.rglob("*.html"))]
    return files


def extract(domain: str) -> Catalog:
    template = Catalog(project="SkillCert", locale=None)
    for path, method in sources(domain):
        extractor = "python" if method == "python" else "jinja2.ext:babel_extract"
        options = {} if method == "python" else JINJA_OPTIONS
        for lineno, message, comments, context in extract_from_file(
                extractor, str(path), keywords=KEYWORDS, options=options):
            template.add(message, None, [(str(path.relative_to(ROOT)), lineno)],
                         auto_comments=comments, context=context)
    return template


def catalog_path(domain: str) -> Path:
    return EXAM / domain / "translations" / LANG / "LC_MESSAGES" / "messages.po"


def load(domain: str) -> Catalog:
    path = catalog_path(domain)
    if not path.exists():
        return Catalog(locale=LANG, project="SkillCert")
    with path.open("rb") as fh:
        return read_po(fh, locale=LANG)


def update() -> None:
    for domain in domains():
        template = extract(domain)
        if not len(template) and not catalog_path(domain).exists():
            continue
        catalog = load(domain)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        path = catalog_path(domain)
        path.parent.mkdir(parents=True, exist_ok=True)
        out = io.BytesIO()
        write_po(out, catalog, width=100, sort_output=False, omit_header=False, include_previous=False)
        text = out.getvalue()
        if path.exists() and _without_date(path.read_bytes()) == _without_date(text):
            continue  # nothing changed but the extraction date: leave the file alone
        path.write_bytes(text)
        print(f"{domain}: {len(catalog)} messages")


def _without_date(po: bytes) -> bytes:
    return re.sub(rb'"POT-Creation-Date: [^"]*"', b"", po)


def missing() -> dict[str, list[str]]:
    """Message ids used in the code but not translated, per domain."""
    result: dict[str, list[str]] = {}
    for domain in domains():
        template = extract(domain)
        catalog = load(domain)
        gaps = []
        for message in template:
            if not message.id:
                continue
            key = message.id if not message.context else (message.id, message.context)
            translated = catalog.get(message.id if isinstance(message.id, str) else message.id[0],
                                     context=message.context)
            ok = translated is not None and not translated.fuzzy and (
                all(translated.string) if isinstance(translated.string, (list, tuple))
                else bool(translated.string))
            if not ok:
                gaps.append(key if isinstance(key, str) else str(key))
        if gaps:
            result[domain] = gaps
    return result


def conflicts() -> dict[str, dict[str, str]]:
    """Message ids translated differently by different domains. Catalogues are merged at run
    time (later domains win), so a clash would show one domain's text in another's page."""
    seen: dict[str, dict[str, str]] = {}
    for domain in domains():
        if not catalog_path(domain).exists():
            continue
        for message in load(domain):
            if message.id and isinstance(message.id, str) and message.string and not message.fuzzy:
                seen.setdefault(message.id, {})[domain] = message.string
    return {mid: by_domain for mid, by_domain in seen.items() if len(set(by_domain.values())) > 1}


def read_pairs(source: Path) -> dict[str, str]:
    """Entries of two lines (English message id, then its Chinese), separated by blank lines."""
    mapping = {}
    for block in source.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.strip("\n").split("\n") if line.strip()]
        if not lines:
            continue
        if len(lines) != 2:
            raise SystemExit(f"{source}: expected two lines (English, Chinese) in: {block!r}")
        mapping[lines[0]] = lines[1]
    return mapping


def fill(domain: str, source: Path) -> None:
    """Set translations from a file of pairs (see ``read_pairs``)."""
    mapping = read_pairs(source)
    catalog = load(domain)
    unknown = []
    for message_id, text in mapping.items():
        message = catalog.get(message_id)
        if message is None:
            unknown.append(message_id)
            continue
        message.string = text
        message.flags.discard("fuzzy")
    with catalog_path(domain).open("wb") as fh:
        write_po(fh, catalog, width=100, include_previous=False)
    for message_id in unknown:
        print(f"not in the {domain} catalogue (run update first?): {message_id!r}")


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "update":
        update()
        return 0
    if command == "fill" and len(argv) == 4:
        fill(argv[2], Path(argv[3]))
        return 0
    if command == "check":
        gaps = missing()
        for domain, ids in gaps.items():
            print(f"{domain}: {len(ids)} untranslated")
            for message_id in ids:
                print(f"  {message_id!r}")
        clashes = conflicts()
        for message_id, by_domain in clashes.items():
            print(f"translated differently: {message_id!r}")
            for domain, text in by_domain.items():
                print(f"  {domain}: {text}")
        return 1 if gaps or clashes else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
