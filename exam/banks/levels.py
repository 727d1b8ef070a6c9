"""Skill levels (职业技能等级) as data: 5 is the lowest (初级工), 1 the highest (高级技师).

Kept as data so the "new eight-level" grades (学徒工 below, 特级技师 and 首席技师 above)
can be added without touching the rules that compare levels. Certificates snapshot the
printed name, so a later change here never alters a certificate already issued; the
national certificate number has one digit for the level, so only levels 1–5 can be numbered.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: Level code → label in the interface language ("四级/中级工" in Chinese).
LEVEL_LABELS = {
    5: _l("Level 5 / basic"),
    4: _l("Level 4 / intermediate"),
    3: _l("Level 3 / advanced"),
    2: _l("Level 2 / technician"),
    1: _l("Level 1 / senior technician"),
}
#: As printed on certificates and admission tickets (always Chinese).
LEVEL_NAMES_ZH = {5: "五级/初级工", 4: "四级/中级工", 3: "三级/高级工", 2: "二级/技师", 1: "一级/高级技师"}
#: Levels whose assessment includes a comprehensive review (综合评审).
REVIEW_LEVELS = (2, 1)
#: Assessors must hold this level or a higher one (a smaller number).
ASSESSOR_MIN_LEVEL = 3


def level_label(level: int | None) -> str:
    if level is None:
        return "—"
    return str(LEVEL_LABELS.get(level, level))


def is_at_least(level: int, required: int) -> bool:
    """``level`` is ``required`` or higher (levels count down: 1 is the highest)."""
    return level <= required


def parse_level(text) -> int | None:
    """A level from what people write in spreadsheets: ``4``, ``四级``, ``中级工``, ``四级/中级工``.

    Returns None when the text names no level.
    """
    if text is None:
        return None
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = int(text)
        return value if value in LEVEL_NAMES_ZH else None
    cleaned = str(text).strip().replace(" ", "")
    if not cleaned:
        return None
    if cleaned.isdigit():
        value = int(cleaned)
        return value if value in LEVEL_NAMES_ZH else None
    numerals = {"五": 5, "四": 4, "三": 3, "二": 2, "一": 1}
    names = {"初级工": 5, "初级": 5, "中级工": 4, "中级": 4, "高级工": 3, "高级技师": 1, "技师": 2}
    for word, value in names.items():  # 高级技师 is tried before 技师
        if cleaned.endswith(word):
            return value
    if cleaned[0] in numerals and cleaned[1:2] in ("级", ""):
        return numerals[cleaned[0]]
    return None
