"""GIFT, Moodle's text format for questions.

Reading (as Moodle's own importer does):

* Questions are separated by blank lines; lines starting with ``//`` are comments. A
  comment may carry ``[id:…]`` (→ ``external_id``) and ``[tag:…]`` tags (Moodle 3.6+).
* ``$CATEGORY: $course$/top/A/B`` puts the following questions in ``category_path``
  ``["A", "B"]`` (the context and ``top`` are dropped; ``//`` is an escaped ``/``).
* ``::title::`` is the question's name and is not kept; ``[html]``/``[moodle]`` text is
  turned into plain text, ``[plain]``/``[markdown]`` text and text without a format are
  kept as written. ``\\~ \\= \\# \\{ \\} \\: \\\\`` are escapes, ``\\n`` a line break.
* ``{=right ~wrong}``: single choice (exactly one ``=``; ``~%50%`` credit on a wrong
  answer is not kept: a warning). ``{~%50%a ~%50%b ~%-100%c}`` (no ``=``): multiple
  choice, the answers with a positive weight are right and their weights must add up to
  100; with several right answers scoring is partial (``~%-100%`` or ``~`` answers are
  wrong; unequal weights become equal shares, with a warning); one right answer
  (``~%100%``) is all or nothing.
* ``{T}`` ``{F}`` ``{TRUE}`` ``{FALSE}``: true or false. ``{=a =b}``: fill in the blank
  with alternatives (answers below 100 % are left out, with a warning); the blank is
  where the answers were when text follows them, else at the end of the stem.
  ``{}``: short answer. ``{#…}`` (numerical) and ``{=a -> b}`` (matching): unsupported.
* ``####text`` in the answers: the explanation. Answer feedback (``#text``) has no place in
  SkillCert and is dropped, with one warning per file.
* Tags ``point:<code>``, ``difficulty:<1-5>`` and ``pinned:<letter>`` give the assessment
  point, the difficulty and the options kept last.

Writing: every type except fill-in-the-blank with several blanks (GIFT has one answer
block per question: the export refuses them and names them). Categories come from the
element tree; the point code, difficulty, pinned options and external id travel in the
comment line as above. GIFT cannot carry points, the reference answer of a short-answer
question or case-sensitive blanks; a multiple-choice question with several right answers
always comes back with partial scoring.
"""
from __future__ import annotations

import re
from decimal import Decimal

from flask_babel import gettext

from ...core.errors import Problem
from ..interchange import OPTION_KEYS, BankDocument, ItemData, OptionData
from . import Format, register
from ._foreign import (append_blank, apply_tags, category_of, category_paths, decode_text,
                       full_credit_answers, html_to_text, join_category, line_location, question_location,
                       read_guarded, refuse_export, split_category, tags_for, too_large, trim,
                       warn_partial_credit)

NAME, LABEL = "gift", "GIFT"

# Escaped characters become private-use characters while a question is taken apart.
_ESCAPES = {"\\": "\ue000", ":": "\ue001", "#": "\ue002", "=": "\ue003", "{": "\ue004",
            "}": "\ue005", "~": "\ue006", "n": "\ue007"}
_UNESCAPE = {v: ("\n" if k == "n" else k) for k, v in _ESCAPES.items()}
_BLANK = "\ue010"  # where the answer block stood
_WEIGHT = re.compile(r"^%(-?\d+(?:\.\d*)?)%")
_FORMATS = ("moodle", "html", "plain", "markdown")
_TF = {"T": True, "TRUE": True, "F": False, "FALSE": False}
_ID = re.compile(r"\[id:((?:\\\]|[^\]\n])+)\]")
_TAG = re.compile(r"\[tag:((?:\\\]|[^\]\n])+)\]")


def _protect(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in _ESCAPES:
            out.append(_ESCAPES[text[i + 1]])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _restore(text: str) -> str:
    return "".join(_UNESCAPE.get(c, c) for c in text)


def _split_format(text: str, default: str | None) -> tuple[str | None, str]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        end = stripped.find("]")
        if end > 0 and stripped[1:end] in _FORMATS:
            return stripped[1:end], stripped[end + 1:]
    return default, text


def _plain(text: str, fmt: str | None) -> str:
    """Text of a (protected) fragment in a GIFT text format."""
    text = _restore(text)
    if fmt == "html":
        return html_to_text(text)
    if fmt == "moodle":
        return html_to_text(text.replace("\n", "<br>"))
    return trim(text)


class _Reader:
    def __init__(self, doc: BankDocument) -> None:
        self.doc = doc
        self.category: list[str] = []
        self.feedback_warned = False

    def read(self, text: str) -> None:
        block: list[tuple[int, str]] = []
        for number, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                block.append((number, line))
            elif block:
                self.question(block)
                block = []
        if block:
            self.question(block)

    # --- one block --------------------------------------------------------------------------
    def question(self, block: list[tuple[int, str]]) -> None:
        comments = [line.strip() for _, line in block if line.strip().startswith("//")]
        lines = [(n, line) for n, line in block if not line.strip().startswith("//")]
        if not lines:
            return
        first_line, first = lines[0]
        if first.strip().startswith("$CATEGORY:"):
            self.category = split_category(first.strip()[len("$CATEGORY:"):])
            lines = lines[1:]
            if not lines:
                return
            first_line = lines[0][0]
        location = line_location(first_line)
        text = _protect("\n".join(line for _, line in lines).strip())

        if text.startswith("::"):
            end = text.find("::", 2)
            text = text[end + 2:].strip() if end >= 0 else text[2:]
        start, finish = text.find("{"), text.find("}")
        if start < 0 and finish < 0:
            self.doc.warn(gettext("Text without answers (a description) was skipped."), location)
            return
        if start < 0 or finish < start:
            self.doc.error(gettext("The answers must be inside one pair of braces { }."), location)
            return
        before, inside, after = text[:start], text[start + 1:finish].strip(), text[finish + 1:]
        if "{" in after or "}" in after:
            self.doc.error(gettext("A question has one answer block { }; this one has several."),
                           location)
            return
        explanation_raw = None
        separator = inside.rfind("####")
        if separator >= 0:
            explanation_raw, inside = inside[separator + 4:], inside[:separator].strip()
        stem_raw = before + _BLANK + after if after.strip() else before
        fmt, stem_raw = _split_format(stem_raw, None)

        item = ItemData(type="", stem="", location=location, category_path=list(self.category))
        if explanation_raw is not None:
            efmt, explanation_raw = _split_format(explanation_raw, fmt)
            item.explanation = _plain(explanation_raw, efmt) or None

        if inside == "":
            item.type = "short_answer"
        elif inside.startswith("#"):
            self.doc.not_supported("numerical", location)
            return
        elif "~" in inside:
            if not self.choice(item, inside, fmt):
                return
        elif "=" in inside and "->" in inside:
            self.doc.not_supported("matching", location)
            return
        elif inside.split("#", 1)[0].strip().upper() in _TF:
            value, _, feedback = inside.partition("#")
            item.type, item.answer = "true_false", _TF[value.strip().upper()]
            self.note_feedback(feedback.replace("#", ""), location)
        elif not self.blank(item, inside):
            return

        stem = _plain(stem_raw, fmt)
        if item.type == "fill_blank":
            stem = stem.replace(_BLANK, "[[1]]") if _BLANK in stem else append_blank(stem)
        elif item.type in ("single", "multiple"):
            stem = stem.replace(_BLANK, "_____")
        elif _BLANK in stem:
            stem = re.sub(" {2,}", " ", stem.replace(_BLANK, " ")).strip()
            self.doc.warn(gettext("The text after the answers was added to the stem."), location)
        item.stem = stem

        comment = "\n".join(comments)
        found = _ID.search(comment)
        if found:
            item.external_id = found.group(1).replace("\\]", "]").strip() or None
        apply_tags(item, [t.replace("\\]", "]") for t in _TAG.findall(comment)])
        self.doc.items.append(item)

    def note_feedback(self, feedback: str, location: str) -> None:
        if feedback.strip() and not self.feedback_warned:
            self.feedback_warned = True
            self.doc.warn(gettext("Answer feedback (after #) is not kept; this file has some."),
                          location)

    def answer_text(self, raw: str, fmt: str | None, location: str) -> str:
        text, _, feedback = raw.partition("#")
        self.note_feedback(feedback, location)
        afmt, text = _split_format(text.strip(), fmt)
        return _plain(text, afmt)

    # --- answer blocks ------------------------------------------------------------------------
    def choice(self, item: ItemData, inside: str, fmt: str | None) -> bool:
        location = item.location
        parts = inside.replace("=", "~=").split("~")
        if not parts[0].strip():
            parts = parts[1:]
        single = "=" in inside
        weights: list[Decimal] = []
        for index, part in enumerate(parts):
            part = part.strip()
            if part.startswith("="):
                weight, part = Decimal(100), part[1:]
            else:
                found = _WEIGHT.match(part)
                weight = Decimal(found.group(1)) if found else Decimal(0)
                part = part[found.end():] if found else part
            key = OPTION_KEYS[index] if index < len(OPTION_KEYS) else chr(ord("A") + index)
            item.options.append(OptionData(key, self.answer_text(part, fmt, location)))
            weights.append(weight)
        keys = [o.key for o in item.options]
        if single:
            right = [k for k, w in zip(keys, weights) if w == 100]
            if len(right) != 1:
                self.doc.error(gettext("A single-choice question needs exactly one right answer "
                                       "(marked =); this one has %(n)d.", n=len(right)), location)
                return False
            if any(0 < w < 100 for w in weights):
                self.doc.warn(gettext("Partial credit for wrong answers is not kept: they score "
                                      "nothing."), location)
            item.type, item.answer = "single", right[0]
            return True
        right = [(k, w) for k, w in zip(keys, weights) if w > 0]
        if not right:
            self.doc.error(gettext("No answer is right: give the right answers a positive "
                                   "weight."), location)
            return False
        total = sum(w for _, w in right)
        if abs(total - 100) > Decimal("0.01"):
            self.doc.error(gettext("The weights of the right answers add up to %(total)s%%, "
                                   "not 100%%.", total=format(total.normalize(), "f")), location)
            return False
        item.type, item.answer = "multiple", [k for k, _ in right]
        if len(right) > 1:
            item.config = {"scoring": "partial"}
            shares = [w for _, w in right]
            if max(shares) - min(shares) > Decimal("0.01"):
                self.doc.warn(gettext("The right answers have different weights; each will "
                                      "earn an equal share."), location)
        return True

    def blank(self, item: ItemData, inside: str) -> bool:
        parts = inside.split("=")
        if not parts[0].strip():
            parts = parts[1:]
        graded = []
        for part in parts:
            part = part.strip()
            found = _WEIGHT.match(part)
            weight = Decimal(found.group(1)) if found else Decimal(100)
            part = part[found.end():] if found else part
            text, _, feedback = part.partition("#")
            self.note_feedback(feedback, item.location)
            _, text = _split_format(text.strip(), None)
            graded.append((weight, trim(_restore(text))))
        accepted, partial = full_credit_answers(graded)
        if partial:
            warn_partial_credit(self.doc, item.location)
        if not accepted:
            self.doc.error(gettext("The blank has no fully right answer."), item.location)
            return False
        item.type, item.answer = "fill_blank", [accepted]
        return True


def parse(data: bytes, filename: str = "") -> BankDocument:
    doc = BankDocument(source_format=NAME)
    if too_large(data, doc):
        return doc
    text = decode_text(data, doc)
    if text is None:
        return doc
    return read_guarded(doc, lambda: _Reader(doc).read(text))


# --- writing ------------------------------------------------------------------------------------
def _needs_plain(text: str) -> bool:
    """Whether GIFT text must be marked ``[plain]`` to come back as written: it could be
    read as HTML (Moodle's default format), a format marker, a comment or a category."""
    return text.startswith(("[", "/", "$")) or "<" in text or "&" in text


def _escape(text: str, plain_prefix: bool = True) -> str:
    """GIFT text: control characters escaped, on one line (``\\n`` for a line break)."""
    escaped = (text or "").replace("\\", "\\\\")
    for char in "~=#{}:":
        escaped = escaped.replace(char, "\\" + char)
    escaped = escaped.replace("\r", "").replace("\n", "\\n")
    return ("[plain]" + escaped) if plain_prefix and _needs_plain(text or "") else escaped


def _wrong(text: str) -> str:
    """A wrong answer; an explicit weight keeps a leading ``%`` from being read as one."""
    escaped = _escape(text)
    return "~" + ("%0%" if escaped.startswith("%") else "") + escaped


def _alternative(text: str) -> str:
    escaped = _escape(text, plain_prefix=False)
    if escaped.startswith("%"):
        return "=%100%" + escaped
    return "=" + ("[plain]" if text.startswith("[") else "") + escaped


def _share(n: int) -> str:
    share = (Decimal(100) / n).quantize(Decimal("0.00001")).normalize()
    return format(share, "f")


def export_problems(doc: BankDocument) -> list[Problem]:
    """Items GIFT cannot hold, located: ask before exporting, or catch ``ValidationFailed``."""
    problems = []
    for index, item in enumerate(doc.items):
        if item.type not in ("single", "multiple", "true_false", "fill_blank", "short_answer"):
            problems.append(Problem(gettext("GIFT cannot hold this type of question."),
                                    question_location(index)))
        elif item.type == "fill_blank":
            if len(item.answer or []) != 1 or item.stem.count("[[") != 1:
                problems.append(Problem(gettext("GIFT holds one blank per question; this question "
                                                "has %(n)d.", n=len(item.answer or [])),
                                        question_location(index)))
            elif any("->" in alt for alt in item.answer[0]):
                problems.append(Problem(gettext("GIFT reads “->” in an answer as a matching "
                                                "question."), question_location(index)))
    return problems


def _write(item: ItemData) -> str:
    lines = []
    marks = ([f"[id:{' '.join(item.external_id.split()).replace(']', chr(92) + ']')}]"]
             if item.external_id else [])
    marks += [f"[tag:{tag.replace(']', chr(92) + ']')}]" for tag in tags_for(item)]
    if marks:
        lines.append("// " + " ".join(marks))
    explanation = f"####{_escape(item.explanation)}" if item.explanation else ""
    if item.type == "fill_blank":
        before, _, after = item.stem.partition("[[1]]")
        alternatives = " ".join(_alternative(alt) for alt in item.answer[0])
        block = "{" + alternatives + (" " + explanation if explanation else "") + "}"
        prefix = "[plain]" if _needs_plain(item.stem) else ""
        lines.append(prefix + _escape(before, False) + block + _escape(after, False))
        return "\n".join(lines)
    stem = _escape(item.stem)
    if item.type == "true_false":
        lines.append(f"{stem}{{{'TRUE' if item.answer else 'FALSE'}{explanation}}}")
    elif item.type == "short_answer":
        lines.append(f"{stem}{{{explanation}}}")
    else:
        lines.append(stem + "{")
        if item.type == "single":
            for option in item.options:
                lines.append("\t" + ("=" + _escape(option.text) if option.key == item.answer
                                     else _wrong(option.text)))
        else:
            right = set(item.answer or [])
            share = _share(len(right) or 1)
            for option in item.options:
                weight = f"%{share}%" if option.key in right else "%-100%"
                lines.append("\t~" + weight + _escape(option.text))
        if explanation:
            lines.append("\t" + explanation)
        lines.append("}")
    return "\n".join(lines)


def export(doc: BankDocument) -> bytes:
    """:raise ValidationFailed: naming the questions GIFT cannot hold (nothing is written)."""
    refuse_export(export_problems(doc), LABEL)
    paths = category_paths(doc)
    blocks, current = [], []
    for item in doc.items:
        category = category_of(item, paths)
        if category != current:
            blocks.append(f"$CATEGORY: {join_category(category)}")
            current = category
        blocks.append(_write(item))
    return ("\n\n".join(blocks) + "\n").encode("utf-8")


def sniff(data: bytes) -> bool:
    text = data[:65536].decode("utf-8", "ignore")
    if text.lstrip("\ufeff \t\r\n").startswith("<"):
        return False  # XML (Moodle XML with cloze braces, QTI)
    body = "\n".join(line for line in text.splitlines() if not line.strip().startswith("//"))
    if re.search(r"^\s*ANSWER\s*[:：]", body, re.M | re.I) and re.search(r"^\s*[A-Z][.)]", body, re.M):
        return False  # Aiken
    return bool(re.search(r"\{[^{}]*\}", body) or re.search(r"^\s*(::|\$CATEGORY:)", body, re.M))


register(Format(name=NAME, label=LABEL, extensions=(".txt", ".gift"), parse=parse, export=export,
                sniff=sniff, media_type="text/plain; charset=utf-8"))
