"""Moodle XML (``<quiz>`` with ``<question type="…">`` elements).

Reading (with defusedxml: entity declarations and external references are refused):

* ``<question type="category">`` with ``$course$/top/A/B`` (or ``$system$``, ``$module$``…)
  sets ``category_path`` ``["A", "B"]`` for the questions that follow; each category entry
  names its whole path, so children may come before their parents.
* ``multichoice`` with ``<single>true</single>`` → single (exactly one answer at 100 %);
  with ``false`` → multiple. Every grade must be one Moodle allows (100, 90, 83.33333 …
  and their negatives); the positive grades must add up to 100. A multiple-choice question
  scores partially (the right answers earn equal shares, any wrong choice scores nothing,
  which is what Moodle does with −100 % wrong answers), except when two or more right
  answers each carry 100 % (the "all-or-nothing" question type ``multichoiceset`` writes
  them so): then all or nothing. ``multichoiceset`` is read as all or nothing.
* ``truefalse``; ``shortanswer`` → fill in the blank (answers at 100 % are the accepted
  alternatives, ``<usecase>`` makes them case-sensitive; the blank replaces the first
  ``___`` of the stem, else it goes at the end); ``cloze`` made only of short-answer blanks
  (``{1:SHORTANSWER:=a~=b}``, ``SA``, ``SAC``…) → fill in the blank with several blanks;
  ``essay`` → short answer (the information for graders is the reference answer);
  ``description`` is skipped with a warning; every other type (matching, numerical,
  calculated, ddwtos, gapselect, cloze with choices…) is reported unsupported by name.
* Text in ``html`` or ``moodle_auto_format`` becomes plain text (tags removed, entities
  decoded, line breaks kept); ``plain_text`` and ``markdown`` stay as written. The first
  image of the stem (``@@PLUGINFILE@@`` with its ``<file>``) becomes the stem image.
* ``<defaultgrade>`` → points, ``<idnumber>`` → external id (its text is data, ``&amp;`` is
  ``&``), ``<generalfeedback>`` → explanation; tags ``point:<code>``, ``difficulty:<1-5>``
  and ``pinned:<letter>`` → assessment point, difficulty and options kept last.

Writing: all five types, lossless for SkillCert's own content. Categories follow the
element tree (``$course$/top/<area>/…/<point>``, the element code as the category's
idnumber); the point code, difficulty and pinned options go in tags. Multiple choice with
all-or-nothing scoring is written as ``multichoiceset`` (the all-or-nothing plugin; core
Moodle has no such question), partial scoring as ``multichoice`` with equal shares and
−100 % wrong answers; fill in the blank with several blanks as ``cloze``. Text is written
as ``plain_text``, or ``html`` when the stem has an image.
"""
from __future__ import annotations

import base64
import binascii
import posixpath
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from urllib.parse import unquote

from flask_babel import gettext

from ..interchange import OPTION_KEYS, BankDocument, ItemData, OptionData
from . import Format, register
from ._foreign import (IMAGE_EXTENSIONS, IMAGE_TYPES, append_blank, apply_tags, category_of,
                       category_paths, decimal_text, full_credit_answers, html_to_text, join_category, local,
                       parse_decimal, points_of, read_guarded, read_xml, split_category, tags_for,
                       text_to_html, tidy_decimal, too_large, trim, warn_partial_credit, xml_safe)

NAME, LABEL = "moodle-xml", "Moodle XML"

#: Moodle's grades for an answer, in percent (question_bank::fraction_options_full()).
GRADES = tuple(Decimal(g) for g in (
    "100", "90", "83.33333", "80", "75", "70", "66.66667", "60", "50", "40", "33.33333", "30",
    "25", "20", "16.66667", "14.28571", "12.5", "11.11111", "10", "5", "0"))
_TOLERANCE = Decimal("0.001")
_UNDERSCORES = re.compile(r"_{3,}")
_CLOZE = re.compile(r"\{(\d*):([A-Za-z_]+):((?:\\.|[^\\}])*)\}")
_CLOZE_TEXT = {"SHORTANSWER": False, "SA": False, "MW": False,
               "SHORTANSWER_C": True, "SAC": True, "MWC": True}
_PLUGINFILE = "@@PLUGINFILE@@/"


def _grade_allowed(fraction: Decimal) -> bool:
    return any(abs(abs(fraction) - grade) <= _TOLERANCE for grade in GRADES)


def _key(index: int) -> str:
    return OPTION_KEYS[index] if index < len(OPTION_KEYS) else chr(ord("A") + index)


def _rich(element, images: list[str] | None = None) -> str:
    """The plain text of a Moodle text field (``<x format="…"><text>…</text></x>``)."""
    if element is None:
        return ""
    raw = element.findtext("text") or ""
    fmt = element.get("format", "moodle_auto_format")
    if fmt in ("plain_text", "markdown"):
        return trim(raw)
    if fmt == "moodle_auto_format":
        raw = raw.replace("\n", "<br>")
    return html_to_text(raw, images)


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts, current, i = [], "", 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            current += text[i:i + 2]
            i += 2
            continue
        if text[i] == separator:
            parts.append(current)
            current = ""
        else:
            current += text[i]
        i += 1
    parts.append(current)
    return parts


def _unescape_cloze(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


class _Reader:
    def __init__(self, doc: BankDocument, lines: dict) -> None:
        self.doc = doc
        self.lines = lines
        self.category: list[str] = []

    def read(self, root) -> None:
        if local(root.tag) != "quiz":
            self.doc.error(gettext("This is not Moodle XML: the file must start with <quiz>."))
            return
        number = 0
        for question in root:
            if local(question.tag) != "question":
                continue
            kind = (question.get("type") or "").strip().lower()
            if kind == "category":
                self.category = split_category(question.findtext("category/text") or "")
                continue
            number += 1
            location = gettext("question %(n)d (line %(line)d)", n=number,
                               line=self.lines.get(question, 0))
            self.question(question, kind, location)

    def question(self, question, kind: str, location: str) -> None:
        handlers = {"multichoice": self.multichoice, "multichoiceset": self.multichoiceset,
                    "truefalse": self.truefalse, "shortanswer": self.shortanswer,
                    "essay": self.essay, "cloze": self.cloze}
        if not kind:
            self.doc.error(gettext("The question has no type."), location)
            return
        if kind == "description":
            self.doc.warn(gettext("A description (text without a question) was skipped."), location)
            return
        if kind not in handlers:
            self.doc.not_supported(kind, location)
            return
        item = ItemData(type="", stem="", location=location, category_path=list(self.category))
        images: list[str] = []
        questiontext = question.find("questiontext")
        item.stem = _rich(questiontext, images)
        self.stem_image(item, questiontext, images)
        item.explanation = _rich(question.find("generalfeedback")) or None
        grade = question.findtext("defaultgrade")
        if grade is not None and grade.strip():
            points = parse_decimal(grade)
            if points is None:
                self.doc.error(gettext("The default grade “%(value)s” is not a number.",
                                       value=grade.strip()), location)
                return
            item.points = tidy_decimal(points)
        item.external_id = (question.findtext("idnumber") or "").strip() or None
        if not handlers[kind](item, question):
            return
        apply_tags(item, [tag.findtext("text") or "" for tag in question.findall("tags/tag")])
        self.doc.items.append(item)

    def stem_image(self, item: ItemData, questiontext, images: list[str]) -> None:
        if not images:
            return
        files = {f.get("name"): f for f in questiontext.findall("file")}
        src = images[0]
        name = unquote(src[len(_PLUGINFILE):]) if src.startswith(_PLUGINFILE) else None
        content_type = IMAGE_TYPES.get(posixpath.splitext(name or "")[1].lower())
        stored = files.get(name)
        if content_type and stored is not None and stored.get("encoding", "base64") == "base64":
            try:
                item.stem_image = (content_type,
                                   base64.b64decode("".join((stored.text or "").split()), validate=True))
            except (binascii.Error, ValueError):
                item.stem_image = None
        if item.stem_image is None or len(images) > 1:
            self.doc.warn(gettext("An image of the stem was left out."), item.location)

    # --- types --------------------------------------------------------------------------------
    def answers(self, item: ItemData, question) -> list[Decimal] | None:
        """Options from ``<answer>`` elements, and their grades (None after an error)."""
        fractions, ok = [], True
        for index, answer in enumerate(question.findall("answer")):
            images: list[str] = []
            item.options.append(OptionData(_key(index), _rich(answer, images)))
            if images:
                self.doc.warn(gettext("An image in an answer was left out."), item.location)
            raw = answer.get("fraction", "0")
            fraction = parse_decimal(raw)
            if fraction is None or not _grade_allowed(fraction):
                self.doc.error(gettext("Answer %(n)d has the grade %(grade)s%%, which Moodle does "
                                       "not allow (100, 90, 83.33333, 80, 75 … 5, 0 or their "
                                       "negatives).", n=index + 1, grade=raw), item.location)
                ok = False
            fractions.append(fraction)
        return fractions if ok else None

    def multichoice(self, item: ItemData, question) -> bool:
        fractions = self.answers(item, question)
        if fractions is None:
            return False
        keys = [o.key for o in item.options]
        single = (question.findtext("single") or "true").strip().lower() in ("true", "1")
        if single:
            right = [k for k, f in zip(keys, fractions) if f == 100]
            if len(right) != 1:
                self.doc.error(gettext("A single-choice question needs exactly one answer graded "
                                       "100%%; this one has %(n)d.", n=len(right)), item.location)
                return False
            if any(0 < f < 100 for f in fractions):
                self.doc.warn(gettext("Partial credit for wrong answers is not kept: they score "
                                      "nothing."), item.location)
            item.type, item.answer = "single", right[0]
            return True
        right = [(k, f) for k, f in zip(keys, fractions) if f > 0]
        if not right:
            self.doc.error(gettext("No answer has a positive grade."), item.location)
            return False
        item.type, item.answer = "multiple", [k for k, _ in right]
        if len(right) > 1 and all(f == 100 for _, f in right):
            return True  # all or nothing, as the multichoiceset question type writes it
        total = sum(f for _, f in right)
        if abs(total - 100) > Decimal("0.01"):
            self.doc.error(gettext("The grades of the right answers add up to %(total)s%%, not "
                                   "100%%.", total=format(total.normalize(), "f")), item.location)
            return False
        item.config = {"scoring": "partial"}
        shares = [f for _, f in right]
        if max(shares) - min(shares) > Decimal("0.01"):
            self.doc.warn(gettext("The right answers have different weights; each will earn an "
                                  "equal share."), item.location)
        return True

    def multichoiceset(self, item: ItemData, question) -> bool:
        fractions = [parse_decimal(a.get("fraction", "0")) or Decimal(0)
                     for a in question.findall("answer")]
        for index, answer in enumerate(question.findall("answer")):
            item.options.append(OptionData(_key(index), _rich(answer)))
        right = [o.key for o, f in zip(item.options, fractions) if f > 0]
        if not right:
            self.doc.error(gettext("No answer has a positive grade."), item.location)
            return False
        item.type, item.answer = "multiple", right
        return True

    def truefalse(self, item: ItemData, question) -> bool:
        right = [a for a in question.findall("answer")
                 if (parse_decimal(a.get("fraction", "0")) or 0) == 100]
        if len(right) != 1:
            self.doc.error(gettext("A true-or-false question needs one answer graded 100%%; this "
                                   "one has %(n)d.", n=len(right)), item.location)
            return False
        item.type = "true_false"
        item.answer = (right[0].findtext("text") or "").strip().lower() == "true"
        return True

    def shortanswer(self, item: ItemData, question) -> bool:
        accepted, partial = full_credit_answers(
            (parse_decimal(answer.get("fraction", "0")) or Decimal(0), trim(answer.findtext("text") or ""))
            for answer in question.findall("answer"))
        if partial:
            warn_partial_credit(self.doc, item.location)
        if not accepted:
            self.doc.error(gettext("The blank has no answer graded 100%."), item.location)
            return False
        item.type, item.answer = "fill_blank", [accepted]
        if (question.findtext("usecase") or "0").strip() in ("1", "true"):
            item.config = {"case_sensitive": True}
        item.stem = (_UNDERSCORES.sub("[[1]]", item.stem, count=1)
                     if _UNDERSCORES.search(item.stem) else append_blank(item.stem))
        return True

    def essay(self, item: ItemData, question) -> bool:
        item.type = "short_answer"
        item.answer = _rich(question.find("graderinfo")) or None
        return True

    def cloze(self, item: ItemData, question) -> bool:
        blanks, sensitive, weights, partial = [], [], [], False
        for found in _CLOZE.finditer(item.stem):
            kind = found.group(2).upper()
            if kind not in _CLOZE_TEXT:
                self.doc.not_supported("cloze", item.location)
                return False
            sensitive.append(_CLOZE_TEXT[kind])
            weights.append(found.group(1) or "1")
            accepted = []
            for answer in _split_unescaped(found.group(3), "~"):
                answer = _split_unescaped(answer, "#")[0].strip()
                weight = re.match(r"^(=|%(-?\d+(?:[.,]\d*)?)%)", answer)
                if not weight:
                    continue
                grade = Decimal(100) if weight.group(1) == "=" else \
                    parse_decimal(weight.group(2).replace(",", ".")) or Decimal(0)
                text = _unescape_cloze(answer[weight.end():]).strip()
                if grade == 100 and text:
                    accepted.append(text)
                elif grade > 0:
                    partial = True
            if not accepted:
                self.doc.error(gettext("Blank %(n)d has no answer graded 100%%.", n=len(blanks) + 1),
                               item.location)
                return False
            blanks.append(accepted)
        if not blanks:
            self.doc.error(gettext("The cloze question has no blanks."), item.location)
            return False
        if partial:
            warn_partial_credit(self.doc, item.location)
        counter = iter(range(1, len(blanks) + 1))
        item.stem = _CLOZE.sub(lambda m: f"[[{next(counter)}]]", item.stem)
        item.type, item.answer = "fill_blank", blanks
        if all(sensitive):
            item.config = {"case_sensitive": True}
        elif any(sensitive):
            self.doc.warn(gettext("Some blanks are case-sensitive and some are not; none will be."),
                          item.location)
        if len(set(weights)) > 1:
            self.doc.warn(gettext("The blanks have different weights; each will earn an equal "
                                  "share."), item.location)
        return True


def parse(data: bytes, filename: str = "") -> BankDocument:
    doc = BankDocument(source_format=NAME)
    if too_large(data, doc):
        return doc

    def read():
        root, lines = read_xml(data, doc)
        if root is not None:
            _Reader(doc, lines).read(root)

    return read_guarded(doc, read)


# --- writing ------------------------------------------------------------------------------------
def _field(parent, tag: str, text: str | None, fmt: str | None = "plain_text"):
    element = ET.SubElement(parent, tag, {"format": fmt} if fmt else {})
    ET.SubElement(element, "text").text = xml_safe(text)
    return element


def _name(item: ItemData) -> str:
    name = " ".join(re.sub(r"\[\[\d+\]\]", "___", item.stem or "").split())
    return name if len(name) <= 50 else name[:49] + "…"


def _cloze_answer(text: str) -> str:
    return re.sub(r'([\\}#~/"])', r"\\\1", text)


def _stem(question, item: ItemData, stem: str) -> None:
    if not item.stem_image:
        _field(question, "questiontext", stem)
        return
    content_type, data = item.stem_image
    name = "stem" + IMAGE_EXTENSIONS.get(content_type, ".png")
    html = text_to_html(stem) + ("<br>" if stem else "") + f'<img src="{_PLUGINFILE}{name}" alt="">'
    element = _field(question, "questiontext", html, "html")
    ET.SubElement(element, "file", {"name": name, "path": "/", "encoding": "base64"}).text = \
        base64.b64encode(data).decode("ascii")


def _answer(question, fraction, text: str) -> None:
    answer = _field(question, "answer", text)
    answer.set("fraction", fraction)
    _field(answer, "feedback", "")


def _question(item: ItemData):
    if item.type == "multiple":
        kind = "multichoice" if (item.config or {}).get("scoring") == "partial" else "multichoiceset"
    elif item.type == "fill_blank":
        kind = "shortanswer" if len(item.answer or []) == 1 else "cloze"
    else:
        kind = {"single": "multichoice", "true_false": "truefalse", "short_answer": "essay"}[item.type]
    question = ET.Element("question", {"type": kind})
    _field(question, "name", _name(item), None)
    if kind == "shortanswer":
        stem = item.stem.replace("[[1]]", "_____")
    elif kind == "cloze":
        case = "SHORTANSWER_C" if (item.config or {}).get("case_sensitive") else "SHORTANSWER"
        stem = re.sub(r"\[\[(\d+)\]\]", lambda m: "{1:%s:%s}" % (case, "~".join(
            "=" + _cloze_answer(alt) for alt in item.answer[int(m.group(1)) - 1])), item.stem)
    else:
        stem = item.stem
    _stem(question, item, stem)
    _field(question, "generalfeedback", item.explanation or "")
    ET.SubElement(question, "defaultgrade").text = decimal_text(points_of(item))
    ET.SubElement(question, "penalty").text = "0"
    ET.SubElement(question, "hidden").text = "0"
    ET.SubElement(question, "idnumber").text = xml_safe(item.external_id or "")
    if kind in ("multichoice", "multichoiceset"):
        if kind == "multichoice":
            ET.SubElement(question, "single").text = "true" if item.type == "single" else "false"
        ET.SubElement(question, "shuffleanswers").text = "true"
        ET.SubElement(question, "answernumbering").text = "ABCD"
        right = {item.answer} if item.type == "single" else set(item.answer or [])
        if item.type == "single" or kind == "multichoiceset":
            grades = ("100", "0")
        else:
            share = (Decimal(100) / max(len(right), 1)).quantize(Decimal("0.00001")).normalize()
            grades = (format(share, "f"), "-100")
        for option in item.options:
            _answer(question, grades[0] if option.key in right else grades[1], option.text)
    elif kind == "truefalse":
        _answer(question, "100" if item.answer else "0", "true")
        _answer(question, "0" if item.answer else "100", "false")
    elif kind == "shortanswer":
        ET.SubElement(question, "usecase").text = "1" if (item.config or {}).get("case_sensitive") else "0"
        for alternative in item.answer[0]:
            _answer(question, "100", alternative)
    elif kind == "essay":
        for tag, text in (("responseformat", "editor"), ("responserequired", "1"),
                          ("responsefieldlines", "15"), ("attachments", "0"),
                          ("attachmentsrequired", "0")):
            ET.SubElement(question, tag).text = text
        _field(question, "graderinfo", item.answer or "")
        _field(question, "responsetemplate", "")
    tags = tags_for(item)
    if tags:
        element = ET.SubElement(question, "tags")
        for tag in tags:
            ET.SubElement(ET.SubElement(element, "tag"), "text").text = xml_safe(tag)
    return question


def export(doc: BankDocument) -> bytes:
    paths = category_paths(doc)
    codes = {tuple(path): code for code, path in paths.items()}
    root = ET.Element("quiz")
    current = None
    for item in doc.items:
        category = category_of(item, paths)
        if category != current and (current is not None or category):
            entry = ET.SubElement(root, "question", {"type": "category"})
            ET.SubElement(ET.SubElement(entry, "category"), "text").text = xml_safe(join_category(category))
            _field(entry, "info", "")
            ET.SubElement(entry, "idnumber").text = xml_safe(codes.get(tuple(category), ""))
        current = category
        root.append(_question(item))
    ET.indent(root)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
            + "\n").encode("utf-8")


def sniff(data: bytes) -> bool:
    return bool(re.search(rb"<quiz[\s>/]", data[:65536]))


register(Format(name=NAME, label=LABEL, extensions=(".xml",), parse=parse, export=export,
                sniff=sniff, media_type="application/xml"))
