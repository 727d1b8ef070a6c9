"""Practical task specifications (操作技能考核): the ``skillcert-practical/1`` YAML format and the
rules every spec follows, whether it comes from a file or from the editor. Pure: no database.

A spec lists tasks, required (必考) or optional (选考, the candidate takes ``choose`` of them),
each with a weight (its share of the practical score), minutes, and a scoring sheet
(评分记录表) of items with maximum points, deduction criteria and the veto flag (★): a
serious breach of a veto item fails the whole practical, so a veto item must say what that
breach is (``veto_rule``).

The stored content (``PracticalSpecVersion.content``)::

    {"choose": 0,
     "tasks": [{"code": "T1", "title": "…", "required": true, "weight": 50, "minutes": 120,
                "sheet": [{"code": "T1.1", "description": "…", "max_points": 10,
                           "criteria": "…", "veto": false, "veto_rule": null}]}]}

Numbers are JSON numbers (whole numbers as integers, else at most two decimals).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from flask_babel import gettext as _

from ..core.errors import Problem

FORMAT = "skillcert-practical/1"
HUNDRED = Decimal(100)
TOP_KEYS = {"format", "occupation", "level", "choose", "tasks"}
TASK_KEYS = {"code", "title", "required", "weight", "minutes", "sheet"}
ITEM_KEYS = {"code", "description", "max_points", "criteria", "veto", "veto_rule"}
MAX_MINUTES = 24 * 60


class _Mapping(dict):
    """A YAML mapping that remembers the line of each key (1-based)."""

    line: int | None = None
    key_lines: dict


class _Sequence(list):
    line: int | None = None
    item_lines: list


class _LineLoader(yaml.SafeLoader):
    """PyYAML's safe loader, keeping line numbers for located problems."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode):
    loader.flatten_mapping(node)
    mapping = _Mapping()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            key = str(key)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode):
    sequence = _Sequence(loader.construct_object(child, deep=True) for child in node.value)
    sequence.line = node.start_mark.line + 1
    sequence.item_lines = [child.start_mark.line + 1 for child in node.value]
    return sequence


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _line_of(container: Any, key: Any = None) -> int | None:
    if isinstance(container, _Mapping):
        return container.key_lines.get(key, container.line) if key is not None else container.line
    if isinstance(container, _Sequence):
        if isinstance(key, int) and 0 <= key < len(container.item_lines):
            return container.item_lines[key]
        return container.line
    return None


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def json_number(value: Decimal) -> int | float:
    """Whole numbers as integers, others as floats (at most two decimals)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value.quantize(Decimal("0.01")))


class _Checker:
    def __init__(self, from_file: bool):
        self.problems: list[Problem] = []
        self.from_file = from_file

    def add(self, message: str, where: str, line: int | None = None) -> None:
        if self.from_file and line is not None:
            where = _("line %(line)d (%(where)s)", line=line, where=where) if where else \
                _("line %(line)d", line=line)
        self.problems.append(Problem(message, where or None))

    def unknown_keys(self, mapping: dict, allowed: set[str], where: str) -> None:
        for key in mapping:
            if key not in allowed:
                self.add(_("Unknown field “%(field)s”.", field=key), where, _line_of(mapping, key))

    def text(self, mapping: dict, key: str, where: str, required: bool = True) -> str | None:
        value = mapping.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.add(_("“%(field)s” is missing.", field=key), where, _line_of(mapping, key))
            return None
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.add(_("“%(field)s” must be text.", field=key), where, _line_of(mapping, key))
            return None
        return str(value).strip()

    def boolean(self, mapping: dict, key: str, where: str, default: bool) -> bool:
        value = mapping.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.add(_("“%(field)s” must be true or false.", field=key), where, _line_of(mapping, key))
            return default
        return value

    def number(self, mapping: dict, key: str, where: str, *, whole: bool = False,
               maximum: Decimal | None = None) -> Decimal | None:
        if key not in mapping or mapping.get(key) is None:
            self.add(_("“%(field)s” is missing.", field=key), where, _line_of(mapping, key))
            return None
        number = _decimal(mapping.get(key))
        line = _line_of(mapping, key)
        if number is None:
            self.add(_("“%(field)s” must be a number.", field=key), where, line)
            return None
        if number <= 0:
            self.add(_("“%(field)s” must be more than 0.", field=key), where, line)
            return None
        if whole and number != number.to_integral_value():
            self.add(_("“%(field)s” must be a whole number.", field=key), where, line)
            return None
        if number != number.quantize(Decimal("0.01")):
            self.add(_("“%(field)s” has at most two decimals.", field=key), where, line)
            return None
        if maximum is not None and number > maximum:
            self.add(_("“%(field)s” must be at most %(max)s.", field=key, max=maximum), where, line)
            return None
        return number


def validate_content(data: Any, *, from_file: bool = False) -> tuple[dict, list[Problem]]:
    """Check a spec (parsed YAML or the editor's data) and return it normalised, with every
    problem located (``line 12 (T1.9)`` for files, ``T1.9`` otherwise)."""
    check = _Checker(from_file)
    if not isinstance(data, dict):
        check.add(_("A practical specification is a mapping with “tasks”."), "")
        return {"choose": 0, "tasks": []}, check.problems
    check.unknown_keys(data, TOP_KEYS, "")
    choose_raw = data.get("choose", 0)
    choose = 0
    if choose_raw is not None:
        if isinstance(choose_raw, bool) or not isinstance(choose_raw, int) or choose_raw < 0:
            check.add(_("“choose” is the number of optional tasks each candidate takes (0 or more)."),
                      "choose", _line_of(data, "choose"))
        else:
            choose = choose_raw
    tasks_raw = data.get("tasks")
    if not isinstance(tasks_raw, list) or not tasks_raw:
        check.add(_("List at least one task under “tasks”."), "tasks", _line_of(data, "tasks"))
        tasks_raw = []
    tasks: list[dict] = []
    task_codes: set[str] = set()
    item_codes: set[str] = set()
    for t_index, raw in enumerate(tasks_raw):
        label = _("task %(number)d", number=t_index + 1)
        if not isinstance(raw, dict):
            check.add(_("A task is a mapping with code, title, weight, minutes and sheet."), label,
                      _line_of(tasks_raw, t_index))
            continue
        code = check.text(raw, "code", label)
        where = code or label
        if code and code in task_codes:
            check.add(_("Task code %(code)s is used twice.", code=code), where, _line_of(raw, "code"))
        task_codes.add(code or "")
        check.unknown_keys(raw, TASK_KEYS, where)
        title = check.text(raw, "title", where)
        required = check.boolean(raw, "required", where, True)
        weight = check.number(raw, "weight", where, maximum=HUNDRED)
        minutes = check.number(raw, "minutes", where, whole=True, maximum=Decimal(MAX_MINUTES))
        sheet_raw = raw.get("sheet")
        if not isinstance(sheet_raw, list) or not sheet_raw:
            check.add(_("A task needs a scoring sheet with at least one item."), where, _line_of(raw, "sheet"))
            sheet_raw = []
        sheet = []
        total = Decimal(0)
        all_numbers = True
        for i_index, item in enumerate(sheet_raw):
            item_label = _("%(task)s, item %(number)d", task=where, number=i_index + 1)
            if not isinstance(item, dict):
                check.add(_("A sheet item is a mapping with code, description, max_points and criteria."),
                          item_label, _line_of(sheet_raw, i_index))
                all_numbers = False
                continue
            item_code = check.text(item, "code", item_label)
            item_where = item_code or item_label
            if item_code and item_code in item_codes:
                check.add(_("Item code %(code)s is used twice.", code=item_code), item_where,
                          _line_of(item, "code"))
            item_codes.add(item_code or "")
            check.unknown_keys(item, ITEM_KEYS, item_where)
            description = check.text(item, "description", item_where)
            max_points = check.number(item, "max_points", item_where, maximum=HUNDRED)
            criteria = check.text(item, "criteria", item_where)
            veto = check.boolean(item, "veto", item_where, False)
            veto_rule = check.text(item, "veto_rule", item_where, required=False)
            if veto and not veto_rule:
                check.add(_("A veto item (★) must say which breach fails the practical (“veto_rule”)."),
                          item_where, _line_of(item, "veto"))
            if veto_rule and not veto:
                check.add(_("“veto_rule” is given but the item is not a veto item (veto: true)."),
                          item_where, _line_of(item, "veto_rule"))
            if max_points is None:
                all_numbers = False
            else:
                total += max_points
            sheet.append({"code": item_code or "", "description": description or "",
                          "max_points": json_number(max_points) if max_points is not None else 0,
                          "criteria": criteria or "", "veto": veto, "veto_rule": veto_rule if veto else None})
        if sheet_raw and all_numbers and total != HUNDRED:
            check.add(_("The sheet's maximum points add up to %(total)s; a task is scored out of 100.",
                        total=json_number(total)), where, _line_of(raw, "sheet"))
        tasks.append({"code": code or "", "title": title or "", "required": required,
                      "weight": json_number(weight) if weight is not None else 0,
                      "minutes": int(minutes) if minutes is not None else 0, "sheet": sheet})
    _check_weights(check, data, tasks, choose)
    return {"choose": choose, "tasks": tasks}, check.problems


def _check_weights(check: _Checker, data: dict, tasks: list[dict], choose: int) -> None:
    if not tasks or any(not t["weight"] for t in tasks):
        return
    required = sum((Decimal(str(t["weight"])) for t in tasks if t["required"]), Decimal(0))
    optional = [Decimal(str(t["weight"])) for t in tasks if not t["required"]]
    line = _line_of(data, "tasks")
    if choose > len(optional):
        check.add(_("Candidates choose %(choose)d optional tasks but only %(count)d are listed.",
                    choose=choose, count=len(optional)), "choose", _line_of(data, "choose"))
        return
    if optional and choose == 0:
        check.add(_("There are optional tasks (选考) but “choose” is 0: say how many each candidate takes."),
                  "choose", _line_of(data, "choose") or line)
        return
    if optional and len(set(optional)) > 1:
        check.add(_("Optional tasks must have the same weight, so that any choice adds up to 100."),
                  "tasks", line)
        return
    total = required + (optional[0] * choose if optional else 0)
    if total != HUNDRED:
        check.add(_("The weights of the required tasks and the chosen optional tasks add up to %(total)s; "
                    "they must add up to 100.", total=json_number(total)), "tasks", line)


def load_yaml(data: bytes) -> tuple[dict, dict, list[Problem]]:
    """Parse a ``skillcert-practical/1`` file: ``(content, header, problems)``.

    ``header`` holds the file's ``occupation`` code and ``level``. Never raises on bad
    content: every problem is returned, located by line.
    """
    problems: list[Problem] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return {"choose": 0, "tasks": []}, {}, [Problem(_("The file is not UTF-8 text."))]
    try:
        parsed = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = _("line %(line)d", line=mark.line + 1) if mark else None
        return {"choose": 0, "tasks": []}, {}, [Problem(_("The file is not valid YAML: %(error)s",
                                                          error=getattr(exc, "problem", None) or exc), where)]
    header: dict = {}
    if isinstance(parsed, dict):
        if parsed.get("format") != FORMAT:
            problems.append(Problem(_("The first line must be “format: %(format)s”.", format=FORMAT),
                                    _("line %(line)d", line=_line_of(parsed, "format") or 1)))
        occupation = parsed.get("occupation")
        if not isinstance(occupation, str) or not occupation.strip():
            problems.append(Problem(_("“occupation” must be the occupation's code, e.g. 6-31-01-03."),
                                    _("line %(line)d", line=_line_of(parsed, "occupation") or 1)))
        else:
            header["occupation"] = occupation.strip()
        level = parsed.get("level")
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 8:
            problems.append(Problem(_("“level” must be a level number, 5 (basic) to 1 (senior technician)."),
                                    _("line %(line)d", line=_line_of(parsed, "level") or 1)))
        else:
            header["level"] = level
    content, more = validate_content(parsed, from_file=True)
    return content, header, problems + more


def dump_yaml(content: dict, occupation: str, level: int) -> str:
    """The content as a ``skillcert-practical/1`` file (for download and round trips)."""
    document = {"format": FORMAT, "occupation": occupation, "level": level,
                "choose": content.get("choose", 0), "tasks": []}
    for task in content.get("tasks", []):
        sheet = []
        for item in task["sheet"]:
            row = {k: item[k] for k in ("code", "description", "max_points", "criteria")}
            if item.get("veto"):
                row["veto"] = True
                row["veto_rule"] = item.get("veto_rule")
            sheet.append(row)
        document["tasks"].append({k: task[k] for k in ("code", "title", "required", "weight", "minutes")}
                                 | {"sheet": sheet})
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)


def summary(content: dict) -> dict:
    """Totals the pages show: tasks, required minutes, veto items."""
    tasks = content.get("tasks", [])
    return {
        "tasks": len(tasks),
        "required": sum(1 for t in tasks if t.get("required")),
        "optional": sum(1 for t in tasks if not t.get("required")),
        "minutes": sum(t.get("minutes", 0) for t in tasks if t.get("required")),
        "veto_items": sum(1 for t in tasks for i in t.get("sheet", []) if i.get("veto")),
        "sheet_items": sum(len(t.get("sheet", [])) for t in tasks),
    }
