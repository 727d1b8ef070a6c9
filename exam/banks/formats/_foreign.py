"""Helpers shared by the foreign question-bank formats (GIFT, Aiken, Moodle XML, QTI):
reading text files, turning HTML into plain text, reading XML safely with line numbers,
Moodle's category paths and tags, and refusing exports a format cannot express.

Everything here is pure: no database, no request.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from html import escape
from html.parser import HTMLParser
from typing import Callable, Iterable
from xml.etree.ElementTree import ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from flask_babel import gettext

from ...core.errors import Problem, ValidationFailed
from .. import qtypes
from ..interchange import BankDocument, ItemData

log = logging.getLogger(__name__)

#: Stem images a format may carry, by file extension.
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".gif": "image/gif", ".webp": "image/webp"}
IMAGE_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp"}


# --- reading ------------------------------------------------------------------------------
def read_guarded(doc: BankDocument, reader: Callable[[], None]) -> BankDocument:
    """Run ``reader`` so that nothing escapes ``parse``: a file that trips an unexpected
    error is reported as unreadable (and logged), never raised to the caller."""
    try:
        reader()
    except Exception:  # the contract of parse(): report, never raise
        log.exception("unexpected error while reading a %s file", doc.source_format)
        doc.error(gettext("The file could not be read."))
    return doc


def too_large(data: bytes, doc: BankDocument) -> bool:
    from . import MAX_FILE_BYTES

    if len(data) > MAX_FILE_BYTES:
        doc.error(gettext("The file is larger than %(mb)d MB.", mb=MAX_FILE_BYTES // (1024 * 1024)))
        return True
    return False


def decode_text(data: bytes, doc: BankDocument) -> str | None:
    """The text of an uploaded text file: UTF-8 (with or without BOM), UTF-16 with a BOM, or
    GB18030 (what Chinese Windows editors save); newlines normalised to ``\\n``."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        doc.error(gettext("The file is not text in UTF-8 or GB18030."))
        return None
    if "\x00" in text:
        doc.error(gettext("The file is not a text file."))
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def local(tag) -> str:
    """An XML tag without its namespace: ``{http://…}itemBody`` → ``itemBody``."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def read_xml(data: bytes, doc: BankDocument, location: str | None = None):
    """Parse XML safely (no entity expansion, no external entities or DTDs fetched).

    :return: ``(root, lines)`` where ``lines`` maps each element to the line it starts on,
        or ``(None, {})`` after recording the problem in ``doc``.
    """
    lines: dict = {}
    builder = TreeBuilder()

    class Target:
        def start(self, tag, attrs):
            element = builder.start(tag, attrs)
            lines[element] = parser.parser.CurrentLineNumber
            return element

        def end(self, tag):
            return builder.end(tag)

        def data(self, text):
            builder.data(text)

        def close(self):
            return builder.close()

    parser = DefusedXMLParser(target=Target(), forbid_dtd=False, forbid_entities=True,
                              forbid_external=True)
    try:
        parser.feed(data)
        return parser.close(), lines
    except DefusedXmlException:
        doc.error(gettext("The XML declares entities or external references, which are refused "
                          "for safety."), location)
    except ParseError as exc:
        position = getattr(exc, "position", None)
        where = line_location(position[0]) if position else None
        if location and where:
            where = f"{location}, {where}"
        doc.error(gettext("The file is not well-formed XML."), where or location)
    return None, {}


def line_location(number: int) -> str:
    return gettext("line %(n)d", n=number)


# --- text ---------------------------------------------------------------------------------
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")
_BR, _BLOCK = object(), object()
BLOCK_TAGS = frozenset({
    "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "thead", "tbody", "tfoot",
    "caption", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "section",
    "article", "header", "footer", "aside", "nav", "figure", "figcaption", "address", "fieldset",
    "form", "main", "details", "summary",
})
SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "template", "noscript"})


class TextBuilder:
    """Collects text the way a browser lays it out: runs of spaces become one, ``<br>`` is a
    line break, block elements start and end lines; at most one blank line in a row."""

    def __init__(self) -> None:
        self._parts: list = []

    def text(self, text: str) -> None:
        if text:
            self._parts.append(_HTML_SPACE.sub(" ", text))

    def raw(self, text: str) -> None:
        """Text that must stay as it is (a blank marker)."""
        self._parts.append(text)

    def line_break(self) -> None:
        self._parts.append(_BR)

    def block(self) -> None:
        self._parts.append(_BLOCK)

    def result(self) -> str:
        lines: list[str] = []
        current = ""
        for part in self._parts:
            if part is _BR:
                lines.append(current)
                current = ""
            elif part is _BLOCK:
                if current.strip():
                    lines.append(current)
                current = ""
            else:
                current += part
        if current.strip():
            lines.append(current)
        cleaned = [re.sub(" {2,}", " ", line.replace("\xa0", " ")).strip() for line in lines]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(cleaned)).strip()


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = TextBuilder()
        self.images: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_TAGS:
            self._skipping += 1
        elif tag == "br":
            self.out.line_break()
        elif tag in BLOCK_TAGS:
            self.out.block()
        elif tag == "img":
            src = dict(attrs).get("src")
            if src:
                self.images.append(src)

    def handle_startendtag(self, tag, attrs):
        if tag not in SKIPPED_TAGS:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in BLOCK_TAGS:
            self.out.block()

    def handle_data(self, data):
        if not self._skipping:
            self.out.text(data)


def html_to_text(html: str, images: list[str] | None = None) -> str:
    """Plain text of an HTML fragment: tags removed, entities decoded, line breaks kept
    where the HTML breaks lines. Nothing is executed or fetched. ``images`` collects the
    ``src`` of every ``<img>``."""
    parser = _HTMLText()
    try:
        parser.feed(html or "")
        parser.close()
    except Exception:  # HTMLParser can trip over broken markup; fall back to stripping
        return _HTML_SPACE.sub(" ", re.sub(r"<[^>]*>", " ", html or "")).strip()
    if images is not None:
        images.extend(parser.images)
    return parser.out.result()


def text_to_html(text: str) -> str:
    """Plain text as HTML that ``html_to_text`` reads back unchanged."""
    return "<br>".join(escape(line, quote=False) for line in (text or "").split("\n"))


def trim(text: str) -> str:
    """Outer ASCII whitespace removed; a full-width space (U+3000) is content."""
    return (text or "").strip(" \t\n\r\f\v")


def is_cjk(char: str) -> bool:
    """Chinese, Japanese and Korean characters and full-width punctuation: no space
    separates them from a following blank."""
    return unicodedata.east_asian_width(char) in ("W", "F")


def append_blank(text: str, marker: str = "[[1]]") -> str:
    """A stem whose blank comes at the end: ``"Who is it?" → "Who is it? [[1]]"``, but no
    space after Chinese text (``"电流的单位是[[1]]"``)."""
    base = (text or "").rstrip(" \t\n\r\f\v")
    if not base or is_cjk(base[-1]):
        return base + marker
    return f"{base} {marker}"


# --- numbers ------------------------------------------------------------------------------
def parse_decimal(text) -> Decimal | None:
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None
    # numbers beyond any grade or points are not numbers here (and stay cheap to handle)
    return value if value.is_finite() and abs(value) < 10 ** 9 else None


def tidy_decimal(value: Decimal) -> Decimal:
    """``1.0000000`` → ``1``, ``2.50`` → ``2.5`` (never exponent notation)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return Decimal(format(value.normalize(), "f"))


def decimal_text(value: Decimal) -> str:
    return format(tidy_decimal(Decimal(value)), "f")


def points_of(item: ItemData) -> Decimal:
    """The points written for an item: its own, else its type's default."""
    if item.points is not None:
        return Decimal(item.points)
    try:
        return qtypes.get_type(item.type).default_points
    except qtypes.UnknownQuestionType:
        return Decimal(1)


# --- Moodle conventions shared by GIFT and Moodle XML -----------------------------------------
_CONTEXT = re.compile(r"^\$[a-z0-9_]*\$$", re.IGNORECASE)


def squeeze(text: str | None) -> str:
    """Runs of ASCII whitespace as one space, trimmed (full-width spaces are content)."""
    return _ASCII_SPACE.sub(" ", text or "").strip(" ")


def split_category(path: str) -> list[str]:
    """Moodle's category path as names: ``$course$/top/A//B/C`` → ``["A/B", "C"]`` (the
    context prefix and its ``top`` category dropped, ``//`` is an escaped slash)."""
    names = [squeeze(name.replace("\x00", "/"))
             for name in (path or "").strip().replace("//", "\x00").split("/")]
    names = [name for name in names if name]
    if names and _CONTEXT.match(names[0]):
        names = names[1:]
        if names and names[0] == "top":
            names = names[1:]
    return names


def join_category(names: list[str]) -> str:
    parts = ["$course$", "top"] + [squeeze(name.replace("/", "//")) for name in names]
    return "/".join(parts)


#: Tags that carry what Moodle has no field for (GIFT and Moodle XML): the assessment point,
#: the difficulty and pinned options.
TAG_POINT, TAG_DIFFICULTY, TAG_PINNED = "point:", "difficulty:", "pinned:"
DIFFICULTIES = ("1", "2", "3", "4", "5")


def tags_for(item: ItemData) -> list[str]:
    tags = []
    if item.point_code:
        tags.append(TAG_POINT + item.point_code)
    if item.difficulty is not None:
        tags.append(f"{TAG_DIFFICULTY}{item.difficulty}")
    tags += [TAG_PINNED + option.key for option in item.options if option.pin_last]
    return tags


def apply_tags(item: ItemData, tags: list[str]) -> None:
    """Read back what ``tags_for`` wrote; other tags are the source system's and are ignored."""
    pinned = set()
    for tag in tags:
        tag = tag.strip()
        if tag.startswith(TAG_POINT) and tag[len(TAG_POINT):].strip():
            item.point_code = tag[len(TAG_POINT):].strip()
        elif tag.startswith(TAG_DIFFICULTY) and tag[len(TAG_DIFFICULTY):].strip() in DIFFICULTIES:
            item.difficulty = int(tag[len(TAG_DIFFICULTY):])
        elif tag.startswith(TAG_PINNED):
            pinned.add(tag[len(TAG_PINNED):].strip())
    for option in item.options:
        if option.key in pinned:
            option.pin_last = True


def category_paths(doc: BankDocument) -> dict[str, list[str]]:
    """Assessment-point code → names from the root area down to the point."""
    paths: dict[str, list[str]] = {}

    def walk(node, names):
        names = names + [node.name]
        paths.setdefault(node.code, names)
        for child in node.children:
            walk(child, names)

    for root in doc.elements:
        walk(root, [])
    return paths


def category_of(item: ItemData, paths: dict[str, list[str]]) -> list[str]:
    if item.point_code and item.point_code in paths:
        return paths[item.point_code]
    return list(item.category_path)


# --- exporting ----------------------------------------------------------------------------
def question_location(index: int) -> str:
    return gettext("question %(n)d", n=index + 1)


def refuse_export(problems: list[Problem], label: str) -> None:
    """:raise ValidationFailed: when some items cannot be written in the format (exports are
    all or nothing, like imports)."""
    if problems:
        raise ValidationFailed(
            gettext("Some questions cannot be exported as %(format)s.", format=label),
            problems=problems)


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str | None) -> str:
    """Text that XML 1.0 can hold: control characters dropped, line breaks unified."""
    return _NOT_XML.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n"))


def full_credit_answers(graded: Iterable[tuple[Decimal, str]]) -> tuple[list[str], bool]:
    """Of ``(grade in %, text)`` pairs, the texts worth full marks, and whether any other
    answer earned partial credit (a blank accepts only fully right answers)."""
    accepted, partial = [], False
    for grade, text in graded:
        if grade == 100 and text:
            accepted.append(text)
        elif grade > 0:
            partial = True
    return accepted, partial


def warn_partial_credit(doc: BankDocument, location) -> None:
    doc.warn(gettext("Answers with partial credit were left out: a blank accepts "
                     "only fully right answers."), location)
