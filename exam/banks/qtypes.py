"""Question types: one class per type that validates, presents and scores (a registry, like
CTFd's challenge types).

Everything here is pure: no database, no request. ``content`` is anything with the
attributes ``type``, ``stem``, ``options``, ``answer`` and ``config`` (an
``interchange.ItemData`` or an ``ItemVersion`` row); options are ``OptionData``-like
objects or ``{"key", "text", "pin_last"}`` dicts.

Candidates see options in a shuffled order. A paper stores that order as the list of
original option keys in display order (``["C", "A", "D", "B"]``); the candidate's
answers use the *display* labels (``"A"`` = first shown), so nothing sent to the
browser reveals the original order. Scoring maps display labels back through the
stored order.

Response shapes (display labels): single ``"B"``; multiple ``["A", "C"]``; true/false
``true``/``false``; fill-in-the-blank ``["安培", "伏特"]`` (one string per blank);
short answer ``"text"``.
"""
from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..core.errors import Problem
from .interchange import OPTION_KEYS

BLANK = re.compile(r"\[\[(\d+)\]\]")
MAX_OPTIONS = len(OPTION_KEYS)
MAX_TEXT_ANSWER = 5000
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Outcome:
    """The score of one response."""

    points: Decimal
    max_points: Decimal
    #: True/False for automatically scored items; None when an assessor must score it.
    correct: bool | None
    needs_manual: bool = False


def _opt(option: Any, name: str):
    return option.get(name) if isinstance(option, dict) else getattr(option, name)


def option_keys(content) -> list[str]:
    return [_opt(o, "key") for o in (content.options or [])]


def normalise_text(text: str, case_sensitive: bool = False) -> str:
    """For comparing typed answers: full-width → half-width (NFKC), trimmed, single spaces."""
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"\s+", " ", text).strip()
    return text if case_sensitive else text.casefold()


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class QuestionType:
    name: str = ""
    label = None  # lazy translated name
    has_options = False
    auto_scored = True
    default_points = Decimal("1")

    # --- authoring ------------------------------------------------------------------
    def validate(self, item) -> list[str]:
        """Problems with the item's content (messages only; the caller adds the location)."""
        problems = []
        if not (item.stem or "").strip():
            problems.append(_("The stem (题干) is empty."))
        problems += self._validate(item)
        points = getattr(item, "points", None)
        if points is not None and not (Decimal("0") < Decimal(str(points)) <= Decimal("100")):
            problems.append(_("Points must be more than 0 and at most 100."))
        difficulty = getattr(item, "difficulty", None)
        if difficulty is not None and difficulty not in (1, 2, 3, 4, 5):
            problems.append(_("Difficulty must be 1 to 5."))
        unknown = set(item.config or {}) - self.config_keys
        if unknown:
            problems.append(_("Unknown settings: %(keys)s.", keys=", ".join(sorted(unknown))))
        return problems

    config_keys: frozenset[str] = frozenset()

    def _validate(self, item) -> list[str]:
        return []

    def fingerprint(self, item) -> str:
        """What makes two items duplicates: the normalised stem and the set of option texts."""
        texts = sorted(normalise_text(_opt(o, "text")) for o in (item.options or []))
        return normalise_text(item.stem) + "\x1f" + "\x1e".join(texts)

    # --- papers -----------------------------------------------------------------------
    def option_order(self, content, rng: random.Random, shuffle: bool = True) -> list[str]:
        """Original keys in the order they will be shown; pinned options stay last."""
        return []

    def candidate_view(self, content, option_order: list[str]) -> dict:
        """What the candidate's browser receives: never the answer."""
        return {"type": self.name, "stem": content.stem}

    # --- scoring ------------------------------------------------------------------------
    def response_problem(self, content, option_order: list[str], response: Any) -> str | None:
        """Why a saved response does not fit this item (None when it fits or is empty)."""
        return None

    def is_answered(self, response: Any) -> bool:
        return response not in (None, "", [], {})

    def score(self, content, option_order: list[str], response: Any, max_points: Decimal) -> Outcome:
        raise NotImplementedError

    def correct_response(self, content, option_order: list[str]) -> Any:
        """The right answer in display labels (for results pages after the exam only)."""
        return None


class ChoiceType(QuestionType):
    has_options = True

    def _validate(self, item) -> list[str]:
        problems = []
        keys = option_keys(item)
        texts = [(_opt(o, "text") or "").strip() for o in item.options or []]
        if not 2 <= len(keys) <= MAX_OPTIONS:
            problems.append(_("A choice question needs 2 to %(n)d options.", n=MAX_OPTIONS))
        if keys != list(OPTION_KEYS[: len(keys)]):
            problems.append(_("Options must be lettered A, B, C… in order."))
        if any(not t for t in texts):
            problems.append(_("An option is empty."))
        elif len({normalise_text(t) for t in texts}) != len(texts):
            problems.append(_("Two options have the same text."))
        return problems

    def option_order(self, content, rng: random.Random, shuffle: bool = True) -> list[str]:
        free = [_opt(o, "key") for o in content.options if not _opt(o, "pin_last")]
        pinned = [_opt(o, "key") for o in content.options if _opt(o, "pin_last")]
        if shuffle:
            rng.shuffle(free)
        return free + pinned

    def candidate_view(self, content, option_order: list[str]) -> dict:
        text_by_key = {_opt(o, "key"): _opt(o, "text") for o in content.options}
        return {"type": self.name, "stem": content.stem,
                "options": [{"label": OPTION_KEYS[i], "text": text_by_key[key]}
                            for i, key in enumerate(option_order)]}

    @staticmethod
    def to_original(option_order: list[str], labels: Iterable[str]) -> set[str]:
        original = set()
        for label in labels:
            index = OPTION_KEYS.find(label) if isinstance(label, str) and len(label) == 1 else -1
            if 0 <= index < len(option_order):
                original.add(option_order[index])
        return original

    @staticmethod
    def to_display(option_order: list[str], keys: Iterable[str]) -> list[str]:
        return sorted(OPTION_KEYS[option_order.index(k)] for k in keys if k in option_order)


class SingleChoice(ChoiceType):
    name = "single"
    label = _l("Single choice")
    default_points = Decimal("1")

    def _validate(self, item) -> list[str]:
        problems = super()._validate(item)
        if not isinstance(item.answer, str) or item.answer not in option_keys(item):
            problems.append(_("The answer must be one of the option letters."))
        return problems

    def response_problem(self, content, option_order, response):
        if response is None:
            return None
        if not isinstance(response, str) or response not in OPTION_KEYS[: len(option_order)]:
            return _("Choose one of the options.")
        return None

    def score(self, content, option_order, response, max_points):
        chosen = self.to_original(option_order, [response] if isinstance(response, str) else [])
        correct = chosen == {content.answer}
        return Outcome(max_points if correct else Decimal("0"), max_points, correct)

    def correct_response(self, content, option_order):
        return self.to_display(option_order, [content.answer])[0]


class MultipleChoice(ChoiceType):
    """All or nothing by default; ``config["scoring"] = "partial"``: a wrong choice scores 0,
    otherwise each correct choice earns its share (少选得部分分，错选不得分)."""

    name = "multiple"
    label = _l("Multiple choice")
    default_points = Decimal("1")
    config_keys = frozenset({"scoring"})

    def _validate(self, item) -> list[str]:
        problems = super()._validate(item)
        answer = item.answer
        if not isinstance(answer, (list, tuple)) or not answer or \
                not set(answer) <= set(option_keys(item)) or len(set(answer)) != len(answer):
            problems.append(_("The answer must be a list of different option letters."))
        if (item.config or {}).get("scoring", "all_or_nothing") not in ("all_or_nothing", "partial"):
            problems.append(_("Scoring must be all_or_nothing or partial."))
        return problems

    def response_problem(self, content, option_order, response):
        if response is None:
            return None
        valid = OPTION_KEYS[: len(option_order)]
        if not isinstance(response, list) or any(not isinstance(r, str) or r not in valid for r in response):
            return _("Choose among the options.")
        return None

    def score(self, content, option_order, response, max_points):
        chosen = self.to_original(option_order, response if isinstance(response, list) else [])
        right = set(content.answer)
        if chosen == right:
            return Outcome(max_points, max_points, True)
        if (content.config or {}).get("scoring") == "partial" and chosen and chosen < right:
            return Outcome(_money(max_points * len(chosen) / len(right)), max_points, False)
        return Outcome(Decimal("0"), max_points, False)

    def correct_response(self, content, option_order):
        return self.to_display(option_order, content.answer)


class TrueFalse(QuestionType):
    name = "true_false"
    label = _l("True or false")
    default_points = Decimal("1")

    def _validate(self, item) -> list[str]:
        problems = []
        if item.options:
            problems.append(_("A true-or-false question has no options."))
        if not isinstance(item.answer, bool):
            problems.append(_("The answer must be true or false."))
        return problems

    def fingerprint(self, item) -> str:
        return normalise_text(item.stem)

    def response_problem(self, content, option_order, response):
        if response is None or isinstance(response, bool):
            return None
        return _("Answer true or false.")

    def score(self, content, option_order, response, max_points):
        correct = isinstance(response, bool) and response is content.answer
        return Outcome(max_points if correct else Decimal("0"), max_points, correct)

    def correct_response(self, content, option_order):
        return content.answer


class FillBlank(QuestionType):
    """Blanks are marked ``[[1]]``, ``[[2]]`` … in the stem; each blank accepts alternatives.
    Each blank earns an equal share of the points."""

    name = "fill_blank"
    label = _l("Fill in the blank")
    default_points = Decimal("1")
    config_keys = frozenset({"case_sensitive"})

    @staticmethod
    def blank_count(stem: str) -> int:
        return len(BLANK.findall(stem or ""))

    def _validate(self, item) -> list[str]:
        problems = []
        numbers = [int(n) for n in BLANK.findall(item.stem or "")]
        if not numbers:
            problems.append(_("Mark each blank in the stem as [[1]], [[2]] …"))
        elif numbers != list(range(1, len(numbers) + 1)):
            problems.append(_("Blanks must be numbered [[1]], [[2]] … in order."))
        answer = item.answer
        if not isinstance(answer, list) or len(answer) != len(numbers) or any(
                not isinstance(alts, list) or not alts or any(not str(a).strip() for a in alts)
                for alts in answer):
            problems.append(_("Give at least one accepted answer for each blank (%(n)d).", n=len(numbers)))
        if item.options:
            problems.append(_("A fill-in-the-blank question has no options."))
        return problems

    def fingerprint(self, item) -> str:
        return normalise_text(item.stem)

    def candidate_view(self, content, option_order):
        parts = BLANK.split(content.stem)
        # split() alternates text and blank numbers: text, "1", text, "2", text
        return {"type": self.name, "stem": content.stem, "parts": parts[0::2],
                "blanks": self.blank_count(content.stem)}

    def response_problem(self, content, option_order, response):
        if response is None:
            return None
        n = self.blank_count(content.stem)
        if not isinstance(response, list) or len(response) != n or \
                any(not isinstance(r, str) or len(r) > 200 for r in response):
            return _("Fill in the blanks.")
        return None

    def is_answered(self, response) -> bool:
        return isinstance(response, list) and any((r or "").strip() for r in response)

    def score(self, content, option_order, response, max_points):
        answers = content.answer or []
        if not isinstance(response, list) or not answers:
            return Outcome(Decimal("0"), max_points, False)
        case = bool((content.config or {}).get("case_sensitive"))
        right = 0
        for given, alternatives in zip(response, answers):
            accepted = {normalise_text(str(a), case) for a in alternatives}
            if isinstance(given, str) and normalise_text(given, case) in accepted:
                right += 1
        if right == len(answers):
            return Outcome(max_points, max_points, True)
        return Outcome(_money(max_points * right / len(answers)), max_points, False)

    def correct_response(self, content, option_order):
        return [alts[0] for alts in content.answer]


class ShortAnswer(QuestionType):
    """Scored by an assessor (anonymous marking); ``answer`` is the reference answer."""

    name = "short_answer"
    label = _l("Short answer")
    auto_scored = False
    default_points = Decimal("5")

    def _validate(self, item) -> list[str]:
        problems = []
        if item.options:
            problems.append(_("A short-answer question has no options."))
        if item.answer is not None and not isinstance(item.answer, str):
            problems.append(_("The reference answer must be text."))
        return problems

    def fingerprint(self, item) -> str:
        return normalise_text(item.stem)

    def response_problem(self, content, option_order, response):
        if response is None:
            return None
        if not isinstance(response, str) or len(response) > MAX_TEXT_ANSWER:
            return _("The answer is too long (at most %(n)d characters).", n=MAX_TEXT_ANSWER)
        return None

    def is_answered(self, response) -> bool:
        return isinstance(response, str) and bool(response.strip())

    def score(self, content, option_order, response, max_points):
        return Outcome(Decimal("0"), max_points, None, needs_manual=self.is_answered(response))

    def correct_response(self, content, option_order):
        return content.answer


REGISTRY: dict[str, QuestionType] = {
    t.name: t for t in (SingleChoice(), MultipleChoice(), TrueFalse(), FillBlank(), ShortAnswer())
}


class UnknownQuestionType(KeyError):
    pass


def get_type(name: str) -> QuestionType:
    """:raise UnknownQuestionType: never silently drop an item of an unknown type."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownQuestionType(name) from None


def validate_item(item, location: str | None = None) -> list[Problem]:
    """All problems with an item, located."""
    if item.type not in REGISTRY:
        return [Problem(_("Unknown question type “%(type)s”.", type=item.type), location)]
    return [Problem(message, location) for message in REGISTRY[item.type].validate(item)]
