"""Reading the values every format shares: numbers, importance, option letters, type names.

Each function returns the value, or raises ``FieldError`` with a message for the user;
the format adds the location.
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from flask_babel import gettext

from ..interchange import OPTION_KEYS


#: Largest stem image an item may carry (imports and the item form).
MAX_IMAGE_BYTES = 2 * 1024 * 1024


class FieldError(ValueError):
    """A value that does not fit its field; ``str(error)`` is the message for the user."""


#: Importance as written in standards and sheets.
_IMPORTANCE_WORDS = {"X": "X", "Y": "Y", "Z": "Z", "核心": "X", "一般": "Y", "辅助": "Z",
                     "CORE": "X", "GENERAL": "Y", "AUXILIARY": "Z"}

#: Question types as sheets write them (compared after ``normalise_word``).
TYPE_WORDS = {
    "single": ("单选", "单选题", "单项选择", "单项选择题", "single", "single choice", "single_choice"),
    "multiple": ("多选", "多选题", "多项选择", "多项选择题", "multiple", "multiple choice",
                 "multiple_choice"),
    "true_false": ("判断", "判断题", "是非题", "true_false", "true/false", "truefalse", "true or false"),
    "fill_blank": ("填空", "填空题", "fill_blank", "fill in the blank", "fill-in-the-blank", "fill"),
    "short_answer": ("简答", "简答题", "问答", "问答题", "论述题", "short_answer", "short answer", "essay"),
}
#: Types other systems have and SkillCert does not: reported as unsupported by name.
UNSUPPORTED_TYPE_WORDS = ("匹配题", "连线题", "排序题", "计算题", "案例分析题", "组合题", "完形填空",
                          "matching", "ordering", "numerical", "calculated", "cloze", "drag and drop")
_UNSUPPORTED = frozenset(w.casefold() for w in UNSUPPORTED_TYPE_WORDS)
_TYPE_LOOKUP = {}
for _name, _words in TYPE_WORDS.items():
    for _word in _words:
        _TYPE_LOOKUP[_word.casefold()] = _name


def normalise_word(text) -> str:
    """Full-width to half-width, no spaces, case folded: for comparing headers and keywords."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(text or ""))).strip().casefold()


def question_type(word) -> str | None:
    """The registry name for a type as written (单选, 多选题, single …), or None when unknown."""
    word = normalise_word(word)
    if word in _TYPE_LOOKUP:
        return _TYPE_LOOKUP[word]
    return _TYPE_LOOKUP.get(word.replace(" ", ""))


def is_unsupported_type(word) -> bool:
    """A type other systems have (匹配题, matching …): reported as unsupported, not as a typo."""
    word = normalise_word(word)
    return word in _UNSUPPORTED or word + "题" in _UNSUPPORTED


#: Control characters no text field may hold (tab and line break are fine).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text(value) -> str | None:
    """A text cell or scalar: None when empty; line breaks unified; control characters and
    outer spaces removed."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    value = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return CONTROL_CHARACTERS.sub("", value).strip() or None


def decimal(value, *, field: str) -> Decimal | None:
    """A number written as text or a spreadsheet number; None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise FieldError(gettext("%(field)s must be a number.", field=field))
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(unicodedata.normalize("NFKC", str(value)).strip())
    except InvalidOperation:
        raise FieldError(gettext("%(field)s must be a number, not “%(value)s”.", field=field,
                                 value=value)) from None
    if not number.is_finite():
        raise FieldError(gettext("%(field)s must be a number, not “%(value)s”.", field=field,
                                 value=value))
    return number


def integer(value, *, field: str) -> int | None:
    number = decimal(value, field=field)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise FieldError(gettext("%(field)s must be a whole number, not “%(value)s”.", field=field,
                                 value=value))
    return int(number)


#: Difficulty words some banks use instead of 1–5.
_DIFFICULTY_WORDS = {"易": 1, "容易": 1, "较易": 2, "中": 3, "中等": 3, "适中": 3, "较难": 4, "难": 5,
                     "困难": 5}


def difficulty(value) -> int | None:
    if isinstance(value, str) and normalise_word(value) in _DIFFICULTY_WORDS:
        return _DIFFICULTY_WORDS[normalise_word(value)]
    number = integer(value, field=gettext("Difficulty"))
    if number is not None and not 1 <= number <= 5:
        raise FieldError(gettext("Difficulty must be 1 to 5."))
    return number


def importance(value) -> str | None:
    """X, Y or Z (also 核心, 一般, 辅助); None when empty."""
    word = normalise_word(value).upper() if value is not None else ""
    if not word:
        return None
    found = _IMPORTANCE_WORDS.get(word) or _IMPORTANCE_WORDS.get(str(value).strip())
    if found is None:
        raise FieldError(gettext("Importance must be X (core), Y (general) or Z (auxiliary), not "
                                 "“%(value)s”.", value=value))
    return found


def weight(value) -> Decimal | None:
    number = decimal(value, field=gettext("Weight"))
    if number is not None and not Decimal("0") <= number <= Decimal("100"):
        raise FieldError(gettext("A weight is a percentage from 0 to 100."))
    return number


def option_letters(value) -> list[str]:
    """Letters written as ``ABD``, ``A,B,D``, ``A、B、D``, ``A B D`` or a list; upper-cased."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        parts = [normalise_word(v).upper() for v in value]
    else:
        word = unicodedata.normalize("NFKC", str(value)).upper()
        parts = [p for p in re.split(r"[\s,，、;；/]+", word) if p]
        if len(parts) == 1 and len(parts[0]) > 1 and parts[0].isalpha():
            parts = list(parts[0])
    for part in parts:
        if len(part) != 1 or part not in OPTION_KEYS:
            raise FieldError(gettext("“%(value)s” is not an option letter A to F.", value=part))
    return parts


def level(value, levels: list[int] | None = None) -> int | None:
    number = integer(value, field=gettext("Level"))
    if number is None:
        return None
    allowed = levels or [5, 4, 3, 2, 1]
    if number not in allowed:
        raise FieldError(gettext("Level %(level)s is not one of the occupation's levels (%(levels)s).",
                                 level=number, levels=", ".join(str(n) for n in allowed)))
    return number

