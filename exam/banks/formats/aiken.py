"""Aiken, Moodle's simplest text format: single-choice questions only.

::

    电流的单位是
    A. 安培
    B. 伏特
    ANSWER: A

A question is its stem (one line, or several lines with no blank line between), then its
options lettered ``A.`` or ``A)`` with a space after the label, then ``ANSWER: <letter>``.
Everything is plain text: ``<b>`` or ``&`` stay as written. Problems are reported on the
line where they are (an option or answer without a question, an option without a space
after its label) or on the first line of the question they spoil (too few options, no
ANSWER line). Well-formed questions are still read, so the report shows what the file
holds; the import stops at the first error anyway.

Writing: single-choice questions only; the stem and options are written on one line each.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import gettext

from ...core.errors import Problem
from ..interchange import BankDocument, ItemData, OptionData
from . import Format, register
from ._foreign import decode_text, line_location, question_location, read_guarded, refuse_export, too_large

NAME, LABEL = "aiken", "Aiken"

#: ``A. text``, ``A) text``; full-width ``A．`` ``A）`` need no space after them.
_OPTION = re.compile(r"^([A-Z])(?:[.)]\s+|[．）]\s*)(.*)$")
_UNSPACED = re.compile(r"^([A-Z])[.)](\S.*)$")
_ANSWER = re.compile(r"^ANSWER\s*[:：]\s*(.*)$", re.IGNORECASE)


@dataclass
class _Question:
    line: int
    stem: list[str]
    options: list[OptionData] = field(default_factory=list)
    #: A blank line followed the stem: the next text line starts another question.
    closed: bool = False


class _Reader:
    def __init__(self, doc: BankDocument) -> None:
        self.doc = doc
        self.question: _Question | None = None

    def read(self, text: str) -> None:
        for number, raw in enumerate(text.split("\n"), start=1):
            self.line(number, raw.strip())
        if self.question:
            self.unfinished()

    def unfinished(self) -> None:
        self.doc.error(gettext("The question has no ANSWER line."), line_location(self.question.line))
        self.question = None

    def line(self, number: int, line: str) -> None:
        question = self.question
        if not line:
            if question:
                question.closed = True
            return
        answer = _ANSWER.match(line)
        if answer:
            if question is None:
                self.doc.error(gettext("An ANSWER line without a question."), line_location(number))
            else:
                self.finish(answer.group(1).strip(), number)
            return
        option = _OPTION.match(line)
        unspaced = None if option else _UNSPACED.match(line)
        expected = chr(ord("A") + len(question.options)) if question else "A"
        if unspaced and not (question and unspaced.group(1) == expected):
            unspaced = None  # "B.Sc. holders…" is a stem, not option B
        if option or unspaced:
            if question is None:
                self.doc.error(gettext("An option without a question."), line_location(number))
                return
            letter, text = (option or unspaced).groups()
            if unspaced:
                self.doc.error(gettext("Put a space after the option label “%(label)s”.",
                                       label=line[:2]), line_location(number))
            elif letter != expected:
                self.doc.error(gettext("Options must be lettered A, B, C… in order; expected "
                                       "“%(letter)s”.", letter=expected), line_location(number))
            question.options.append(OptionData(expected, text.strip()))
            return
        if question and (question.options or question.closed):
            self.unfinished()
            question = None
        if question is None:
            self.question = _Question(line=number, stem=[line])
        else:
            question.stem.append(line)

    def finish(self, answer: str, number: int) -> None:
        question, self.question = self.question, None
        location = line_location(question.line)
        if len(question.options) < 2:
            self.doc.error(gettext("A question needs at least two options."), location)
            return
        letter = answer.upper()
        if len(letter) != 1 or letter not in [o.key for o in question.options]:
            self.doc.error(gettext("The answer “%(answer)s” is not one of the option letters.",
                                   answer=answer), line_location(number))
            return
        self.doc.items.append(ItemData(type="single", stem="\n".join(question.stem),
                                       options=question.options, answer=letter, location=location))


def parse(data: bytes, filename: str = "") -> BankDocument:
    doc = BankDocument(source_format=NAME)
    if too_large(data, doc):
        return doc
    text = decode_text(data, doc)
    if text is None:
        return doc
    return read_guarded(doc, lambda: _Reader(doc).read(text))


def _one_line(text: str) -> str:
    return " ".join((text or "").split())


def export_problems(doc: BankDocument) -> list[Problem]:
    """Items Aiken cannot hold, located: ask before exporting, or catch ``ValidationFailed``."""
    problems = []
    for index, item in enumerate(doc.items):
        if item.type != "single":
            problems.append(Problem(gettext("Aiken holds single-choice questions only."),
                                    question_location(index)))
        elif any(p.match(_one_line(item.stem)) for p in (_OPTION, _ANSWER)):
            problems.append(Problem(gettext("The stem would be read as an option or answer line."),
                                    question_location(index)))
    return problems


def export(doc: BankDocument) -> bytes:
    """:raise ValidationFailed: naming the questions Aiken cannot hold (nothing is written)."""
    refuse_export(export_problems(doc), LABEL)
    blocks = []
    for item in doc.items:
        lines = [_one_line(item.stem)]
        lines += [f"{option.key}. {_one_line(option.text)}" for option in item.options]
        lines.append(f"ANSWER: {item.answer}")
        blocks.append("\n".join(lines))
    return ("\n\n".join(blocks) + "\n").encode("utf-8")


def sniff(data: bytes) -> bool:
    text = data[:65536].decode("utf-8", "ignore")
    if text.lstrip("\ufeff \t\r\n").startswith("<"):
        return False
    return bool(re.search(r"^\s*ANSWER\s*[:：]\s*[A-Za-z]", text, re.M)
                and re.search(r"^\s*[A-Z][.)]", text, re.M))


register(Format(name=NAME, label=LABEL, extensions=(".txt",), parse=parse, export=export,
                sniff=sniff, media_type="text/plain; charset=utf-8"))
