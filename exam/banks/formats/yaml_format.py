"""The native YAML format ``skillcert-bank/1`` (specified in ``question_banks/README.md``).

Reading is safe by construction: the file goes through PyYAML's safe parser as a stream
of events and this module builds plain values from them; nothing is ever constructed
from tags. Anchors and aliases (``&a``, ``*a``) are refused, so a small file cannot
expand into a huge one ("billion laughs"), and documents are capped in nodes and depth.
Every value keeps its line, so each problem is reported where it is.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml
from flask_babel import gettext

from ..interchange import (OPTION_KEYS, BankDocument, ElementNode, ItemData, OccupationData,
                           OptionData)
from . import Format, MAX_FILE_BYTES, register
from .fields import (MAX_IMAGE_BYTES, FieldError, decimal, difficulty, importance, integer, level,
                     option_letters, weight)

FORMAT_ID = "skillcert-bank/1"
#: Far above a 10,000-item bank (about 15 nodes an item), far below what would hurt.
MAX_NODES = 2_000_000
MAX_DEPTH = 40
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_TAG = "tag:yaml.org,2002:"
_NULLS = {"", "~", "null", "Null", "NULL"}
_TRUE = {"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}
_FALSE = {"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}


# --- reading: events → located values ------------------------------------------------------

@dataclass(slots=True, eq=False)
class Node:
    """A YAML value and the line it starts on (1-based)."""

    kind: str  # "map", "seq" or "scalar"
    line: int
    #: map: ``{key: Node}``; seq: ``[Node]``; scalar: the text, True/False, or None (null).
    value: Any
    #: Scalars: the text exactly as written (``1.10`` stays ``1.10``; ``yes`` stays ``yes``).
    text: str = ""


class Refused(Exception):
    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.message, self.line = message, line


def _line(mark) -> int:
    return mark.line + 1 if mark is not None else 0


def _scalar(event) -> Node:
    line, raw = _line(event.start_mark), event.value
    tag = event.tag
    if tag in (None, "!"):
        if not event.implicit[0]:  # quoted: always text
            return Node("scalar", line, raw, raw)
        tag = None
    elif not tag.startswith(_TAG) or tag[len(_TAG):] not in ("str", "null", "bool", "int", "float"):
        raise Refused(gettext("The YAML tag %(tag)s is not allowed.", tag=tag), line)
    else:
        tag = tag[len(_TAG):]
        if tag == "str":
            return Node("scalar", line, raw, raw)
    if tag in (None, "null") and raw in _NULLS:
        return Node("scalar", line, None, raw)
    if tag in (None, "bool") and (raw in _TRUE or raw in _FALSE):
        return Node("scalar", line, raw in _TRUE, raw)
    if tag in ("null", "bool"):
        raise Refused(gettext("“%(value)s” is not a valid %(tag)s.", value=raw, tag=tag), line)
    return Node("scalar", line, raw, raw)


def read_nodes(text: str) -> Node | None:
    """Parse one YAML document into ``Node`` values.

    :raise Refused: syntax errors, several documents, anchors or aliases, unknown tags,
        duplicate keys, too many nodes or too deep nesting.
    """
    stack: list[list] = []  # [node, pending key (maps), key line]
    root, count, documents = None, 0, 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            kind = type(event).__name__
            if kind == "DocumentStartEvent":
                documents += 1
                if documents > 1:
                    raise Refused(gettext("A bank file holds one YAML document (found a second “---”)."),
                                  _line(event.start_mark))
                continue
            if kind in ("StreamStartEvent", "StreamEndEvent", "DocumentEndEvent"):
                continue
            line = _line(event.start_mark)
            if kind == "AliasEvent" or getattr(event, "anchor", None):
                raise Refused(gettext("Anchors and aliases (& and *) are not allowed in bank files."),
                              line)
            if kind in ("MappingEndEvent", "SequenceEndEvent"):
                node = stack.pop()[0]
            elif kind == "ScalarEvent":
                node = _scalar(event)
            else:
                tag = event.tag
                if tag not in (None, "!", _TAG + "map", _TAG + "seq"):
                    raise Refused(gettext("The YAML tag %(tag)s is not allowed.", tag=tag), line)
                if kind == "MappingStartEvent":
                    stack.append([Node("map", line, {}), None, 0])
                else:
                    stack.append([Node("seq", line, []), None, 0])
                if len(stack) > MAX_DEPTH:
                    raise Refused(gettext("The file nests deeper than %(n)d levels.", n=MAX_DEPTH), line)
                continue
            count += 1
            if count > MAX_NODES:
                raise Refused(gettext("The file has more than %(n)d values.", n=MAX_NODES), line)
            if not stack:
                root = node
                continue
            frame = stack[-1]
            parent = frame[0]
            if parent.kind == "seq":
                parent.value.append(node)
            elif frame[1] is None:
                if node.kind != "scalar":
                    raise Refused(gettext("A key must be plain text."), node.line)
                key = "" if node.value is None else node.text
                if key in parent.value:
                    raise Refused(gettext("The key “%(key)s” appears twice.", key=key), node.line)
                frame[1], frame[2] = key, node.line
            else:
                parent.value[frame[1]] = node
                frame[1] = None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise Refused(gettext("This is not valid YAML: %(problem)s.", problem=problem),
                      _line(mark) if mark else None) from None
    return root


# --- building the interchange form ------------------------------------------------------------

class _Reader:
    """Turns located values into a ``BankDocument``, collecting every problem."""

    def __init__(self, doc: BankDocument):
        self.doc = doc

    @staticmethod
    def where(node_or_line) -> str:
        line = node_or_line.line if isinstance(node_or_line, Node) else node_or_line
        return gettext("line %(n)d", n=line)

    def error(self, message: str, at) -> None:
        self.doc.error(message, self.where(at))

    def mapping(self, node: Node | None, what: str) -> dict[str, Node] | None:
        if node is None:
            return None
        if node.kind != "map":
            self.error(gettext("%(what)s must be a mapping (key: value lines).", what=what), node)
            return None
        return node.value

    def sequence(self, node: Node | None, what: str) -> list[Node]:
        if node is None or (node.kind == "scalar" and node.value is None):
            return []
        if node.kind != "seq":
            self.error(gettext("%(what)s must be a list (lines starting with “- ”).", what=what), node)
            return []
        return node.value

    def text(self, node: Node | None, what: str) -> str | None:
        if node is None or (node.kind == "scalar" and node.value is None):
            return None
        if node.kind != "scalar":
            self.error(gettext("%(what)s must be text.", what=what), node)
            return None
        value = node.text.replace("\r\n", "\n").strip()
        return value or None

    def convert(self, node: Node | None, reader, *args, **kwargs):
        """Apply a ``fields`` reader to a scalar; report its FieldError at the node."""
        if node is None or (node.kind == "scalar" and node.value is None):
            return None
        if node.kind != "scalar":
            self.error(gettext("Expected a single value here."), node)
            return None
        try:
            return reader(node.text, *args, **kwargs)
        except FieldError as exc:
            self.error(str(exc), node)
            return None

    def boolean(self, node: Node | None, what: str) -> bool | None:
        if node is None or (node.kind == "scalar" and node.value is None):
            return None
        if node.kind == "scalar" and isinstance(node.value, bool):
            return node.value
        self.error(gettext("%(what)s must be true or false.", what=what), node)
        return None

    def unknown_keys(self, mapping: dict[str, Node], allowed: set[str], what: str) -> None:
        for key, node in mapping.items():
            if key not in allowed:
                self.doc.warn(gettext("“%(key)s” is not a field of %(what)s; it was ignored.",
                                      key=key, what=what), self.where(node))

    # --- sections ------------------------------------------------------------------------------

    def document(self, root: Node) -> None:
        top = self.mapping(root, gettext("The file"))
        if top is None:
            return
        self.unknown_keys(top, {"format", "occupation", "level", "bank", "elements", "items"},
                          gettext("the file"))
        fmt = self.text(top.get("format"), "format")
        if fmt is None:
            self.doc.error(gettext("The file must start with “format: %(id)s”.", id=FORMAT_ID),
                           self.where(root))
        elif fmt != FORMAT_ID:
            self.error(gettext("Unknown format “%(found)s”: this importer reads %(id)s.", found=fmt,
                               id=FORMAT_ID), top["format"])
        self.occupation(top.get("occupation"), root)
        level_node = top.get("level")
        if level_node is None:
            self.doc.error(gettext("The level (level: 5 … 1) is missing."), self.where(root))
        else:
            levels = self.doc.occupation.levels if self.doc.occupation else None
            self.doc.level = self.convert(level_node, level, levels)
        bank = self.mapping(top.get("bank"), "bank")
        if bank is not None:
            self.unknown_keys(bank, {"name"}, "bank")
            self.doc.bank_name = self.text(bank.get("name"), "bank.name")
        self.doc.elements = [n for n in (self.element(node) for node in
                                          self.sequence(top.get("elements"), "elements")) if n]
        for node in self.sequence(top.get("items"), "items"):
            item = self.item(node)
            if item is not None:
                self.doc.items.append(item)

    def occupation(self, node: Node | None, root: Node) -> None:
        if node is None:
            self.doc.error(gettext("The occupation (occupation: code, name) is missing."),
                           self.where(root))
            return
        fields = self.mapping(node, "occupation")
        if fields is None:
            return
        self.unknown_keys(fields, {"code", "name", "name_en", "levels", "work_types"}, "occupation")
        code = self.text(fields.get("code"), "occupation.code")
        name = self.text(fields.get("name"), "occupation.name")
        if not code:
            self.error(gettext("occupation.code is missing."), node)
        elif not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z.\-]{0,19}", code):
            self.error(gettext("“%(code)s” is not an occupation code like 6-31-01-03.", code=code),
                       fields["code"])
        if not name:
            self.error(gettext("occupation.name is missing."), node)
        levels = [self.convert(n, integer, field="levels") for n in
                  self.sequence(fields.get("levels"), "occupation.levels")]
        work_types = [self.text(n, "work_types") for n in
                      self.sequence(fields.get("work_types"), "occupation.work_types")]
        self.doc.occupation = OccupationData(
            code=code or "", name=name or "", name_en=self.text(fields.get("name_en"), "name_en"),
            levels=[n for n in levels if n is not None], work_types=[w for w in work_types if w])

    def element(self, node: Node) -> ElementNode | None:
        fields = self.mapping(node, gettext("An element"))
        if fields is None:
            return None
        self.unknown_keys(fields, {"code", "name", "importance", "weight", "children"},
                          gettext("an element"))
        code = self.text(fields.get("code"), "code")
        name = self.text(fields.get("name"), "name")
        if not code:
            self.error(gettext("This element has no code."), node)
        if not name:
            self.error(gettext("Element %(code)s has no name.", code=code or "?"), node)
        element = ElementNode(code=code or "", name=name or "",
                              importance=self.convert(fields.get("importance"), importance),
                              weight=self.convert(fields.get("weight"), weight),
                              location=self.where(node))
        element.children = [c for c in (self.element(child) for child in
                                         self.sequence(fields.get("children"), "children")) if c]
        return element

    def item(self, node: Node) -> ItemData | None:
        fields = self.mapping(node, gettext("An item"))
        if fields is None:
            return None
        self.unknown_keys(fields, ITEM_KEYS, gettext("an item"))
        item = ItemData(type=self.text(fields.get("type"), "type") or "", stem="",
                        location=self.where(node))
        if not item.type:
            self.error(gettext("The item has no type (single, multiple, true_false, fill_blank or "
                               "short_answer)."), node)
        item.stem = self.text(fields.get("stem"), "stem") or ""
        item.external_id = self.text(fields.get("id"), "id")
        item.point_code = self.text(fields.get("point"), "point")
        item.difficulty = self.convert(fields.get("difficulty"), difficulty)
        item.points = self.convert(fields.get("points"), decimal, field=gettext("Points"))
        item.explanation = self.text(fields.get("explanation"), "explanation")
        item.options = self.options(fields.get("options"))
        pin_node = fields.get("pin_last")
        if pin_node is not None and pin_node.kind == "seq":
            pinned = [(self.text(n, "pin_last") or "").upper() for n in pin_node.value]
        else:
            pinned = self.convert(pin_node, option_letters) or []
        keys = {o.key for o in item.options}
        for key in pinned:
            if key in keys:
                next(o for o in item.options if o.key == key).pin_last = True
            else:
                self.error(gettext("pin_last names option %(key)s, which the item does not have.",
                                   key=key), fields["pin_last"])
        item.answer = self.answer(item.type, fields.get("answer"))
        scoring = self.text(fields.get("scoring"), "scoring")
        if scoring is not None and scoring != "all_or_nothing":
            item.config["scoring"] = scoring
        case = self.boolean(fields.get("case_sensitive"), "case_sensitive")
        if case:
            item.config["case_sensitive"] = True
        item.stem_image = self.image(fields.get("stem_image"))
        return item

    def options(self, node: Node | None) -> list[OptionData]:
        if node is None or (node.kind == "scalar" and node.value is None):
            return []
        if node.kind == "seq":  # a plain list is lettered A, B, C … in order
            pairs = [(OPTION_KEYS[i] if i < len(OPTION_KEYS) else f"#{i + 1}", n)
                     for i, n in enumerate(node.value)]
        elif node.kind == "map":
            pairs = [(key.strip().upper(), n) for key, n in node.value.items()]
        else:
            self.error(gettext("options must be a mapping like {A: …, B: …}."), node)
            return []
        return [OptionData(key, self.text(value, "options") or "") for key, value in pairs]

    def answer(self, type_: str, node: Node | None):
        if node is None or (node.kind == "scalar" and node.value is None):
            return None
        if type_ == "true_false":
            return self.boolean(node, "answer")
        if type_ == "multiple":
            if node.kind == "seq":
                letters = [self.text(n, "answer") for n in node.value]
                return [str(v).strip().upper() for v in letters if v]
            return self.convert(node, option_letters)
        if type_ == "fill_blank":
            blanks = []
            for blank in self.sequence(node, "answer"):
                if blank.kind == "seq":
                    alternatives = [self.text(n, "answer") for n in blank.value]
                else:
                    alternatives = [self.text(blank, "answer")]
                blanks.append([a for a in alternatives if a is not None])
            return blanks
        value = self.text(node, "answer")
        return value.upper() if type_ == "single" and value else value

    def image(self, node: Node | None) -> tuple[str, bytes] | None:
        value = self.text(node, "stem_image")
        if value is None:
            return None
        match = re.fullmatch(r"data:([\w/+.-]+);base64,([A-Za-z0-9+/=\s]+)", value)
        if not match or match.group(1) not in IMAGE_TYPES:
            self.error(gettext("stem_image must be a data: address of a PNG, JPEG, GIF or WebP "
                               "image."), node)
            return None
        try:
            data = base64.b64decode(re.sub(r"\s+", "", match.group(2)), validate=True)
        except (binascii.Error, ValueError):
            self.error(gettext("stem_image is not valid base64."), node)
            return None
        if len(data) > MAX_IMAGE_BYTES:
            self.error(gettext("The stem image is larger than 2 MB."), node)
            return None
        return match.group(1), data


ITEM_KEYS = {"id", "point", "type", "difficulty", "points", "stem", "options", "pin_last", "answer",
             "explanation", "scoring", "case_sensitive", "stem_image"}


def parse(data: bytes, filename: str = "") -> BankDocument:
    """Read a ``skillcert-bank/1`` file; every problem is in ``problems`` with its line."""
    doc = BankDocument(source_format="yaml")
    if len(data) > MAX_FILE_BYTES:
        doc.error(gettext("The file is larger than %(mb)d MB.", mb=MAX_FILE_BYTES // (1024 * 1024)))
        return doc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        doc.error(gettext("The file is not UTF-8 text (byte %(n)d).", n=exc.start + 1))
        return doc
    try:
        root = read_nodes(text)
    except Refused as exc:
        doc.error(exc.message, gettext("line %(n)d", n=exc.line) if exc.line else None)
        return doc
    if root is None:
        doc.error(gettext("The file is empty."))
        return doc
    _Reader(doc).document(root)
    return doc


# --- writing -------------------------------------------------------------------------------------

class _BankDumper(_Dumper):
    """Multi-line text as literal blocks (``|``), everything else as PyYAML quotes it."""


def _represent_text(dumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


class _Flow(dict):
    """A mapping written on one line: ``{code: "1.1.1", name: …, importance: X}``."""


def _represent_list(dumper, value: list):
    flow = all(isinstance(v, (str, int, float, bool)) and "\n" not in str(v) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow and bool(value))


def _represent_flow(dumper, value: _Flow):
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=True)


_BankDumper.add_representer(str, _represent_text)
_BankDumper.add_representer(list, _represent_list)
_BankDumper.add_representer(_Flow, _represent_flow)


def _number(value: Decimal | None):
    if value is None:
        return None
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value.normalize())


def _element(node: ElementNode) -> dict:
    out: dict[str, Any] = {"code": node.code, "name": node.name}
    if node.importance and node.is_point:
        out["importance"] = node.importance
    if node.weight is not None:
        out["weight"] = _number(node.weight)
    if node.children:
        out["children"] = [_element(child) for child in node.children]
        return out
    return _Flow(out)


def _item(item: ItemData) -> dict:
    out: dict[str, Any] = {}
    if item.external_id:
        out["id"] = item.external_id
    if item.point_code:
        out["point"] = item.point_code
    out["type"] = item.type
    if item.difficulty is not None:
        out["difficulty"] = item.difficulty
    if item.points is not None:
        out["points"] = _number(item.points)
    if item.config.get("scoring") and item.config["scoring"] != "all_or_nothing":
        out["scoring"] = item.config["scoring"]
    out["stem"] = item.stem
    if item.options:
        out["options"] = {o.key: o.text for o in item.options}
        pinned = [o.key for o in item.options if o.pin_last]
        if pinned:
            out["pin_last"] = pinned
    if item.answer is not None:
        out["answer"] = item.answer
    if item.config.get("case_sensitive"):
        out["case_sensitive"] = True
    if item.explanation:
        out["explanation"] = item.explanation
    if item.stem_image:
        content_type, data = item.stem_image
        out["stem_image"] = f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"
    return out


def export(doc: BankDocument) -> bytes:
    """The document as a ``skillcert-bank/1`` file (UTF-8)."""
    body: dict[str, Any] = {"format": FORMAT_ID}
    if doc.occupation is not None:
        occupation = doc.occupation
        body["occupation"] = {"code": occupation.code, "name": occupation.name}
        if occupation.name_en:
            body["occupation"]["name_en"] = occupation.name_en
        body["occupation"]["levels"] = list(occupation.levels)
        body["occupation"]["work_types"] = list(occupation.work_types)
    body["level"] = doc.level
    if doc.bank_name:
        body["bank"] = {"name": doc.bank_name}
    body["elements"] = [_element(node) for node in doc.elements]
    body["items"] = [_item(item) for item in doc.items]
    text = yaml.dump(body, Dumper=_BankDumper, allow_unicode=True, sort_keys=False,
                     default_flow_style=False, width=120)
    return text.encode("utf-8")


def sniff(data: bytes) -> bool:
    return FORMAT_ID.encode() in data[:2000]


register(Format(name="yaml", label="SkillCert YAML", extensions=(".yaml", ".yml"), parse=parse,
                export=export, carries_occupation=True, sniff=sniff,
                media_type="application/yaml"))
