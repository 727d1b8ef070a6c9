"""IMS QTI 2.1: single items (``assessmentItem`` XML) and content packages (a zip with
``imsmanifest.xml`` listing the items).

Reading:

* ``choiceInteraction`` with ``maxChoices="1"`` → single choice; with two choices whose
  identifiers are ``true`` and ``false`` → true or false (how SkillCert writes them);
  any other ``maxChoices`` → multiple choice. Multiple choice scores partially when the
  response has a ``<mapping>`` and is scored with it (``map_response`` or ``mapResponse``):
  each right choice earns an equal share and a wrong choice scores nothing, the closest
  SkillCert has to a mapping with negative values for wrong choices (unequal values for
  the right choices are warned about); without a mapping (``match_correct``) it is all
  or nothing. ``fixed`` choices at the end of a shuffled list are kept last.
* ``textEntryInteraction`` → fill in the blank, a ``[[n]]`` at each interaction; the
  correct response and the mapped values with full credit are the alternatives (partial
  credit is left out, with a warning); blanks are case-sensitive unless every
  ``mapEntry`` says ``caseSensitive="false"``.
* ``extendedTextInteraction`` → short answer (its correct response, if any, is the
  reference answer). Any other interaction (``orderInteraction``, ``matchInteraction``…)
  or a mix of interactions is reported unsupported by name, with the item identifier.
* Points: the ``MAXSCORE`` outcome, else ``SCORE``'s ``normalMaximum``, else the largest
  score the mapping allows, else 1 for ``match_correct``. The explanation is a
  ``modalFeedback`` shown unconditionally (its outcome's default value names it); other
  feedback is dropped with a warning. ``identifier`` → external id.
* In a package, only the members the manifest names are read, after checking the number
  of members, each member's size and their total, and refusing absolute or ``..`` names;
  nothing is written to disk. The item's LOM metadata in the manifest gives the
  difficulty (``educational/difficulty``: very easy … very difficult → 1 … 5), the
  assessment point and areas (``classification`` with purpose ``competency``: one
  ``taxon`` per area down to the point, ``id`` = code, ``entry`` = name) and the external
  id (``general/identifier`` in the catalogue ``skillcert:external-id``); the first image
  of an item body becomes the stem image.

Writing: a package with ``imsmanifest.xml`` and one ``items/<id>.xml`` per item (plus
``images/`` for stem images), lossless for SkillCert's content: points in ``MAXSCORE``,
true or false as a ``choiceInteraction`` of class ``true-false`` with choices
``true``/``false``, pinned options as ``fixed`` choices, partial scoring as a mapping
(right choices 1, wrong ones −n, bounded by 0 and n), case sensitivity on every
``mapEntry``, the explanation as an unconditional ``modalFeedback``, and the metadata above.
"""
from __future__ import annotations

import io
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from decimal import Decimal
from urllib.parse import unquote

from flask_babel import gettext

from ..interchange import OPTION_KEYS, BankDocument, ItemData, OptionData
from . import Format, register
from ._foreign import (BLOCK_TAGS, IMAGE_EXTENSIONS, IMAGE_TYPES, TextBuilder, category_of,
                       category_paths, decimal_text, local, parse_decimal, points_of,
                       read_guarded, read_xml, squeeze, tidy_decimal, too_large, warn_partial_credit,
                       xml_safe)

NAME, LABEL = "qti", "QTI 2.1"
QTI_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
QTI_SCHEMA = "http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd"
CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
LOM_NS = "http://ltsc.ieee.org/xsd/LOM"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
ITEM_RESOURCE = "imsqti_item_xmlv2p1"
TRUE_FALSE_CLASS = "true-false"
EXTERNAL_ID_CATALOG = "skillcert:external-id"
POINT_PURPOSE = "competency"
DIFFICULTY_WORDS = {1: "very easy", 2: "easy", 3: "medium", 4: "difficult", 5: "very difficult"}
_DIFFICULTY = {word: level for level, word in DIFFICULTY_WORDS.items()}
SUPPORTED = ("choiceInteraction", "textEntryInteraction", "extendedTextInteraction")
#: Body elements that are not part of the question's text.
_HIDDEN = frozenset({"feedbackInline", "feedbackBlock", "templateInline", "templateBlock",
                     "infoControl", "stylesheet"})
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
#: Elements with mixed content, where added whitespace would change the text.
_MIXED = frozenset({"p", "prompt", "simpleChoice", "modalFeedback"})


def _children(element, name: str) -> list:
    return [c for c in element if local(c.tag) == name] if element is not None else []


def _first(element, name: str):
    found = _children(element, name)
    return found[0] if found else None


def _value_text(element) -> str | None:
    """The text of ``<x><value>…</value></x>`` (defaultValue, correctResponse)."""
    value = _first(element, "value")
    return (value.text or "").strip() if value is not None else None


# --- reading a package ---------------------------------------------------------------------
def _unsafe_name(name: str) -> bool:
    name = name.replace("\\", "/")
    return (name.startswith("/") or bool(re.match(r"^[A-Za-z]:", name)) or "\x00" in name
            or ".." in name.split("/"))


def _resolve(base: str, href: str | None) -> str | None:
    """A member name for ``href`` relative to the folder ``base``; None for anything outside
    the package (absolute paths, URLs, ``..`` above the top)."""
    href = unquote((href or "").split("#", 1)[0].split("?", 1)[0]).replace("\\", "/")
    if not href or href.startswith("/") or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", href):
        return None
    path = posixpath.normpath(posixpath.join(base, href))
    if path == ".." or path.startswith(("../", "/")):
        return None
    return path


class _Package:
    """A zip package whose members are read only when the manifest names them."""

    def __init__(self, doc: BankDocument, zf: zipfile.ZipFile) -> None:
        from . import MAX_MEMBER_BYTES

        self.doc = doc
        self.zf = zf
        self.limit = MAX_MEMBER_BYTES
        self.members = {info.filename: info for info in zf.infolist() if not info.is_dir()}
        self.named: set[str] = set()

    def read(self, name: str, location: str | None = None) -> bytes | None:
        info = self.members.get(name)
        if info is None or name not in self.named:
            self.doc.error(gettext("The package has no member “%(name)s” listed in its manifest.",
                                   name=name), location or name)
            return None
        try:
            with self.zf.open(info) as handle:
                data = handle.read(self.limit + 1)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, OSError,
                zlib.error, ValueError):
            self.doc.error(gettext("This member of the package is damaged or encrypted."), name)
            return None
        if len(data) > self.limit:
            self.doc.error(gettext("This member is larger than %(mb)d MB.",
                                   mb=self.limit // (1024 * 1024)), name)
            return None
        return data


def _check_package(doc: BankDocument, zf: zipfile.ZipFile) -> bool:
    """Refuse zip bombs and hostile names before anything is read."""
    from . import MAX_MEMBER_BYTES, MAX_MEMBERS, MAX_UNZIPPED_BYTES

    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        doc.error(gettext("The package has more than %(n)d members.", n=MAX_MEMBERS))
        return False
    ok = True
    if sum(info.file_size for info in infos) > MAX_UNZIPPED_BYTES:
        doc.error(gettext("The package unpacks to more than %(mb)d MB.",
                          mb=MAX_UNZIPPED_BYTES // (1024 * 1024)))
        ok = False
    for info in infos:
        if _unsafe_name(info.filename):
            doc.error(gettext("A member name is an absolute path or climbs out with “..”; "
                              "the package is refused."), info.filename)
            ok = False
        elif info.file_size > MAX_MEMBER_BYTES:
            doc.error(gettext("This member is larger than %(mb)d MB.",
                              mb=MAX_MEMBER_BYTES // (1024 * 1024)), info.filename)
            ok = False
    return ok


def _lom_text(element) -> str:
    """A LOM value: its own text (LOM 1.0) or its ``langstring``/``string`` child's (IMS MD 1.2)."""
    if element is None:
        return ""
    strings = _children(element, "string") + _children(element, "langstring")
    return squeeze(strings[0].text if strings else element.text)


def _lom(resource) -> dict:
    """What SkillCert reads from a resource's LOM metadata."""
    found: dict = {}
    metadata = _first(resource, "metadata")
    if metadata is None:
        return found
    for element in metadata.iter():
        name = local(element.tag)
        if name == "difficulty":
            word = _lom_text(_first(element, "value")).lower()
            if word in _DIFFICULTY:
                found["difficulty"] = _DIFFICULTY[word]
        elif name == "identifier":
            catalog, entry = _first(element, "catalog"), _first(element, "entry")
            if catalog is not None and squeeze(catalog.text) == EXTERNAL_ID_CATALOG \
                    and entry is not None and squeeze(entry.text):
                found["external_id"] = squeeze(entry.text)
        elif name == "classification":
            purpose = _first(element, "purpose")
            if _lom_text(_first(purpose, "value")).lower() != POINT_PURPOSE:
                continue
            for path in _children(element, "taxonPath"):
                ids, names = [], []
                for taxon in _children(path, "taxon"):
                    taxon_id, entry = _first(taxon, "id"), _first(taxon, "entry")
                    ids.append(squeeze(taxon_id.text) if taxon_id is not None else "")
                    text = _lom_text(entry)
                    if text:
                        names.append(text)
                found["category_path"] = names
                if ids and ids[-1]:
                    found["point_code"] = ids[-1]
    return found


def _read_package(doc: BankDocument, data: bytes) -> None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        doc.error(gettext("The file is not a valid zip package."))
        return
    with zf:
        if not _check_package(doc, zf):
            return
        package = _Package(doc, zf)
        if "imsmanifest.xml" not in package.members:
            doc.error(gettext("The package has no imsmanifest.xml."))
            return
        package.named.add("imsmanifest.xml")
        manifest, _ = read_xml(package.read("imsmanifest.xml"), doc, "imsmanifest.xml")
        if manifest is None:
            return
        items = []
        for resource in manifest.iter():
            if local(resource.tag) != "resource":
                continue
            base = resource.get("{http://www.w3.org/XML/1998/namespace}base") or ""
            hrefs = [resource.get("href")] + [f.get("href") for f in _children(resource, "file")]
            for href in dict.fromkeys(filter(None, hrefs)):
                name = _resolve(base, href)
                if name is None:
                    doc.error(gettext("The manifest names “%(href)s”, which is outside the "
                                      "package.", href=href), "imsmanifest.xml")
                else:
                    package.named.add(name)
            if (resource.get("type") or "").startswith("imsqti_item_xml"):
                href = resource.get("href") or next(
                    (f.get("href") for f in _children(resource, "file")), None)
                name = _resolve(base, href)
                if name is not None:
                    items.append((name, resource))
        if not items:
            doc.error(gettext("The manifest lists no QTI items."), "imsmanifest.xml")
        for name, resource in items:
            item_data = package.read(name, "imsmanifest.xml")
            if item_data is not None:
                _read_item(doc, item_data, name, package, _lom(resource))


# --- reading an item -------------------------------------------------------------------------
def _read_item(doc: BankDocument, data: bytes, member: str | None = None,
               package: _Package | None = None, metadata: dict | None = None) -> None:
    root, _ = read_xml(data, doc, member)
    if root is None:
        return
    if local(root.tag) != "assessmentItem":
        if local(root.tag) == "assessmentTest":
            doc.error(gettext("This is an assessment test, not an item: upload a package with "
                              "its items."), member)
        else:
            doc.error(gettext("This is not a QTI item: the file must start with "
                              "<assessmentItem>."), member)
        return
    identifier = root.get("identifier") or ""
    location = gettext("item %(id)s", id=identifier)
    if member:
        location = f"{location} ({member})"
    item = _ItemReader(doc, root, location, member, package).read()
    if item is None:
        return
    item.external_id = identifier or None
    for key, value in (metadata or {}).items():
        setattr(item, key, value)
    doc.items.append(item)


class _ItemReader:
    def __init__(self, doc, root, location, member, package) -> None:
        self.doc = doc
        self.root = root
        self.location = location
        self.member = member
        self.package = package
        self.images: list[str] = []
        self.declarations = {d.get("identifier"): d for d in _children(root, "responseDeclaration")}
        self.outcomes = {o.get("identifier"): o for o in _children(root, "outcomeDeclaration")}
        processing = _first(root, "responseProcessing")
        self.template = (processing.get("template") or "") if processing is not None else ""
        self.maps_response = processing is None or self.template.endswith("map_response") or any(
            local(e.tag) == "mapResponse" for e in processing.iter())
        if self.template.endswith("match_correct"):
            self.maps_response = False

    # --- text ---------------------------------------------------------------------------------
    def flow(self, element, out: TextBuilder, interaction=None) -> None:
        """Lay out ``element``'s content as text; ``interaction(el, out)`` writes interactions."""
        name = local(element.tag)
        if name.endswith("Interaction"):
            if interaction:
                interaction(element, out)
            return
        if name in _HIDDEN or (name == "rubricBlock" and "candidate" not in (element.get("view") or "")):
            return
        if name == "br":
            out.line_break()
            return
        if name == "img":
            self.images.append(element.get("src") or "")
            return
        if name == "object" and (element.get("type") or "").startswith("image/"):
            self.images.append(element.get("data") or "")
        block = name in BLOCK_TAGS or name in ("itemBody", "prompt", "simpleChoice", "modalFeedback")
        if block:
            out.block()
        out.text(element.text or "")
        for child in element:
            self.flow(child, out, interaction)
            out.text(child.tail or "")
        if block:
            out.block()

    def text_of(self, element, interaction=None) -> str:
        out = TextBuilder()
        self.flow(element, out, interaction)
        return out.result()

    # --- the item -----------------------------------------------------------------------------
    def read(self) -> ItemData | None:
        body = _first(self.root, "itemBody")
        if body is None:
            self.doc.error(gettext("The item has no itemBody."), self.location)
            return None
        interactions = [e for e in body.iter() if local(e.tag).endswith("Interaction")]
        kinds = list(dict.fromkeys(local(e.tag) for e in interactions))
        unsupported = [k for k in kinds if k not in SUPPORTED]
        if unsupported:
            self.doc.not_supported(", ".join(unsupported), self.location)
            return None
        if not interactions:
            self.doc.warn(gettext("The item has no interaction (nothing to answer); it was skipped."),
                          self.location)
            return None
        if len(kinds) > 1 or (kinds[0] != "textEntryInteraction" and len(interactions) > 1):
            self.doc.not_supported(" + ".join(local(e.tag) for e in interactions), self.location)
            return None
        item = ItemData(type="", stem="", location=self.location)
        reader = {"choiceInteraction": self.choice, "textEntryInteraction": self.text_entry,
                  "extendedTextInteraction": self.extended_text}[kinds[0]]
        if not reader(item, body, interactions):
            return None
        self.stem_image(item)
        self.feedback(item)
        item.points = self.points(item, interactions)
        return item

    def declaration(self, interaction):
        declaration = self.declarations.get(interaction.get("responseIdentifier"))
        if declaration is None:
            self.doc.error(gettext("The interaction has no responseDeclaration."), self.location)
        return declaration

    def prompt_in_place(self, interaction, out: TextBuilder) -> None:
        prompt = _first(interaction, "prompt")
        if prompt is not None:
            self.flow(prompt, out)

    def choice(self, item: ItemData, body, interactions) -> bool:
        interaction = interactions[0]
        declaration = self.declaration(interaction)
        if declaration is None:
            return False
        item.stem = self.text_of(body, self.prompt_in_place)
        choices = _children(interaction, "simpleChoice")
        ids = [c.get("identifier") or "" for c in choices]
        keys = {ident: (OPTION_KEYS[i] if i < len(OPTION_KEYS) else chr(ord("A") + i))
                for i, ident in enumerate(ids)}
        mapping = _first(declaration, "mapping")
        values = {e.get("mapKey"): parse_decimal(e.get("mappedValue")) or Decimal(0)
                  for e in _children(mapping, "mapEntry")}
        correct_element = _first(declaration, "correctResponse")
        correct = [(v.text or "").strip() for v in _children(correct_element, "value")]
        if not correct:
            correct = [k for k, v in values.items() if v > 0]
        unknown = [c for c in correct if c not in keys]
        if unknown or not correct:
            self.doc.error(gettext("The correct response does not name the item's choices."),
                           self.location)
            return False
        max_choices = (interaction.get("maxChoices") or "1").strip()
        if max_choices == "1" and sorted(i.lower() for i in ids) == ["false", "true"]:
            if len(correct) != 1:
                self.doc.error(gettext("A true-or-false item needs one correct response."), self.location)
                return False
            item.type, item.answer = "true_false", correct[0].lower() == "true"
            return True
        stem_images = list(self.images)
        item.options = [OptionData(keys[ident], self.text_of(choice)) for ident, choice in zip(ids, choices)]
        if len(self.images) > len(stem_images):
            self.doc.warn(gettext("An image in an answer was left out."), self.location)
            self.images = stem_images
        if (interaction.get("shuffle") or "").strip() == "true":
            for option, choice in reversed(list(zip(item.options, choices))):
                if (choice.get("fixed") or "").strip() != "true":
                    break
                option.pin_last = True
        if max_choices == "1":
            if len(correct) != 1:
                self.doc.error(gettext("A single-choice item needs exactly one correct response; "
                                       "this one has %(n)d.", n=len(correct)), self.location)
                return False
            item.type, item.answer = "single", keys[correct[0]]
            return True
        item.type = "multiple"
        item.answer = [keys[ident] for ident in ids if ident in correct]
        if mapping is not None and self.maps_response:
            item.config = {"scoring": "partial"}
            shares = {values.get(ident, parse_decimal(mapping.get("defaultValue")) or Decimal(0))
                      for ident in correct}
            if len(shares) > 1:
                self.doc.warn(gettext("The right answers have different weights; each will earn "
                                      "an equal share."), self.location)
        return True

    def text_entry(self, item: ItemData, body, interactions) -> bool:
        numbers = {id(e): n for n, e in enumerate(interactions, start=1)}
        item.stem = self.text_of(body, lambda e, out: out.raw(f"[[{numbers[id(e)]}]]"))
        answers, sensitive, partial = [], [], False
        for interaction in interactions:
            declaration = self.declaration(interaction)
            if declaration is None:
                return False
            accepted = [(v.text or "").strip() for v in
                        _children(_first(declaration, "correctResponse"), "value")]
            entries = _children(_first(declaration, "mapping"), "mapEntry")
            best = max((parse_decimal(e.get("mappedValue")) or Decimal(0) for e in entries),
                       default=Decimal(0))
            for entry in entries:
                value = parse_decimal(entry.get("mappedValue")) or Decimal(0)
                key = (entry.get("mapKey") or "").strip()
                if value > 0 and value == best:
                    accepted.append(key)
                    sensitive.append((entry.get("caseSensitive") or "true").strip() != "false")
                elif value > 0:
                    partial = True
            if not entries:
                sensitive.append(True)  # match_correct compares exactly
            accepted = list(dict.fromkeys(a for a in accepted if a))
            if not accepted:
                self.doc.error(gettext("Blank %(n)d has no correct response.", n=len(answers) + 1),
                               self.location)
                return False
            answers.append(accepted)
        if partial:
            warn_partial_credit(self.doc, self.location)
        item.type, item.answer = "fill_blank", answers
        if any(sensitive):
            item.config = {"case_sensitive": True}
        return True

    def extended_text(self, item: ItemData, body, interactions) -> bool:
        item.stem = self.text_of(body, self.prompt_in_place)
        item.type = "short_answer"
        declaration = self.declarations.get(interactions[0].get("responseIdentifier"))
        correct = _first(declaration, "correctResponse") if declaration is not None else None
        item.answer = _value_text(correct) or None if correct is not None else None
        return True

    # --- the rest -----------------------------------------------------------------------------
    def stem_image(self, item: ItemData) -> None:
        if not self.images:
            return
        source = self.images[0]
        content_type = IMAGE_TYPES.get(posixpath.splitext(source.split("?")[0])[1].lower())
        if self.package is not None and content_type:
            name = _resolve(posixpath.dirname(self.member or ""), source)
            if name is not None and name in self.package.named and name in self.package.members:
                data = self.package.read(name, self.location)
                if data is not None:
                    item.stem_image = (content_type, data)
        if item.stem_image is None or len(self.images) > 1:
            self.doc.warn(gettext("An image of the stem was left out."), self.location)

    def feedback(self, item: ItemData) -> None:
        dropped = False
        for feedback in _children(self.root, "modalFeedback"):
            outcome = self.outcomes.get(feedback.get("outcomeIdentifier"))
            default = _value_text(_first(outcome, "defaultValue")) if outcome is not None else None
            if (feedback.get("showHide") or "show") == "show" and default \
                    and default == feedback.get("identifier") and item.explanation is None:
                item.explanation = self.text_of(feedback) or None
            else:
                dropped = True
        body = _first(self.root, "itemBody")
        if dropped or any(local(e.tag) in ("feedbackInline", "feedbackBlock") for e in body.iter()):
            self.doc.warn(gettext("Feedback shown only for some answers was left out."), self.location)

    def points(self, item: ItemData, interactions) -> Decimal | None:
        maximum = self.outcomes.get("MAXSCORE")
        value = parse_decimal(_value_text(_first(maximum, "defaultValue"))) if maximum is not None else None
        if value is None and self.outcomes.get("SCORE") is not None:
            value = parse_decimal(self.outcomes["SCORE"].get("normalMaximum"))
        if value is None and self.maps_response and item.type in ("multiple", "fill_blank"):
            value = Decimal(0)
            for interaction in interactions:
                declaration = self.declarations.get(interaction.get("responseIdentifier"))
                mapping = _first(declaration, "mapping") if declaration is not None else None
                if mapping is None:
                    value = None
                    break
                entries = [parse_decimal(e.get("mappedValue")) or Decimal(0)
                           for e in _children(mapping, "mapEntry")]
                most = (sum(v for v in entries if v > 0) if item.type == "multiple"
                        else max(entries, default=Decimal(0)))
                upper = parse_decimal(mapping.get("upperBound"))
                value += min(most, upper) if upper is not None else most
        if value is None and self.template.endswith("match_correct"):
            value = Decimal(1)
        return tidy_decimal(value) if value is not None and value > 0 else None


def parse(data: bytes, filename: str = "") -> BankDocument:
    doc = BankDocument(source_format=NAME)
    if too_large(data, doc):
        return doc
    if data[:2] == b"PK":
        return read_guarded(doc, lambda: _read_package(doc, data))
    return read_guarded(doc, lambda: _read_item(doc, data))


# --- writing -------------------------------------------------------------------------------------
def _lines(parent, text: str) -> None:
    """Append ``text`` to ``parent``, a ``<br/>`` for each line break."""
    last = None
    for index, line in enumerate(xml_safe(text).split("\n")):
        if index:
            last = ET.SubElement(parent, "br")
        if last is None:
            parent.text = (parent.text or "") + line
        else:
            last.tail = (last.tail or "") + line


def _sub(parent, tag: str, attributes: dict | None = None, text: str | None = None):
    element = ET.SubElement(parent, tag, attributes or {})
    if text is not None:
        element.text = xml_safe(text)
    return element


def _value(parent, tag: str, *values: str, attributes: dict | None = None):
    element = _sub(parent, tag, attributes)
    for value in values:
        _sub(element, "value", text=value)
    return element


def _outcome(root, identifier: str, base_type: str, default: str) -> None:
    outcome = _sub(root, "outcomeDeclaration", {"identifier": identifier, "cardinality": "single",
                                                "baseType": base_type})
    _value(outcome, "defaultValue", default)


def _score_if_correct(processing) -> None:
    condition = _sub(_sub(processing, "responseCondition"), "responseIf")
    match = _sub(condition, "match")
    _sub(match, "variable", {"identifier": "RESPONSE"})
    _sub(match, "correct", {"identifier": "RESPONSE"})
    _sub(_sub(condition, "setOutcomeValue", {"identifier": "SCORE"}), "variable",
         {"identifier": "MAXSCORE"})


def _score_by_mapping(processing, identifiers: list[str], divisor: int) -> None:
    """SCORE = MAXSCORE × (sum of the mapped responses) / divisor."""
    divide = _sub(_sub(processing, "setOutcomeValue", {"identifier": "SCORE"}), "divide")
    product = _sub(divide, "product")
    total = _sub(product, "sum") if len(identifiers) > 1 else product
    for identifier in identifiers:
        _sub(total, "mapResponse", {"identifier": identifier})
    _sub(product, "variable", {"identifier": "MAXSCORE"})
    _sub(divide, "baseValue", {"baseType": "float"}, str(divisor))


def _indent(element, level: int = 0) -> None:
    """Indent like ``ET.indent``, but leave mixed content (text with inline elements) as is."""
    if not len(element) or element.tag in _MIXED:
        return
    inner = "\n" + "  " * (level + 1)
    if not (element.text or "").strip():
        element.text = inner
    for child in element:
        _indent(child, level + 1)
        if not (child.tail or "").strip():
            child.tail = inner
    if not (element[-1].tail or "").strip():
        element[-1].tail = "\n" + "  " * level


def _item_xml(item: ItemData, identifier: str, image_src: str | None) -> bytes:
    root = ET.Element("assessmentItem", {
        "xmlns": QTI_NS, "xmlns:xsi": XSI_NS, "xsi:schemaLocation": f"{QTI_NS} {QTI_SCHEMA}",
        "identifier": identifier, "title": " ".join(item.stem.split())[:80],
        "adaptive": "false", "timeDependent": "false"})
    config = item.config or {}
    blanks = item.answer if item.type == "fill_blank" else []
    if item.type in ("single", "true_false", "multiple"):
        if item.type == "true_false":
            correct = ["true" if item.answer else "false"]
        else:
            correct = [item.answer] if item.type == "single" else list(item.answer)
        declaration = _sub(root, "responseDeclaration", {
            "identifier": "RESPONSE", "baseType": "identifier",
            "cardinality": "multiple" if item.type == "multiple" else "single"})
        _value(declaration, "correctResponse", *correct)
        if item.type == "multiple" and config.get("scoring") == "partial":
            n = len(correct)
            mapping = _sub(declaration, "mapping", {"lowerBound": "0", "upperBound": str(n),
                                                    "defaultValue": str(-n)})
            for key in correct:
                _sub(mapping, "mapEntry", {"mapKey": key, "mappedValue": "1"})
    elif item.type == "fill_blank":
        for number, alternatives in enumerate(blanks, start=1):
            declaration = _sub(root, "responseDeclaration", {
                "identifier": f"RESPONSE_{number}", "cardinality": "single", "baseType": "string"})
            _value(declaration, "correctResponse", alternatives[0])
            mapping = _sub(declaration, "mapping", {"defaultValue": "0"})
            case = "true" if config.get("case_sensitive") else "false"
            for alternative in alternatives:
                _sub(mapping, "mapEntry", {"mapKey": xml_safe(alternative), "mappedValue": "1",
                                           "caseSensitive": case})
    else:
        declaration = _sub(root, "responseDeclaration", {
            "identifier": "RESPONSE", "cardinality": "single", "baseType": "string"})
        if item.answer:
            _value(declaration, "correctResponse", item.answer)
    _outcome(root, "SCORE", "float", "0")
    _outcome(root, "MAXSCORE", "float", decimal_text(points_of(item)))
    if item.explanation:
        _outcome(root, "FEEDBACK", "identifier", "EXPLANATION")

    body = _sub(root, "itemBody")
    if image_src:
        _sub(_sub(body, "p"), "img", {"src": image_src, "alt": ""})
    if item.type == "fill_blank":
        paragraph = _sub(body, "p")
        parts = re.split(r"\[\[(\d+)\]\]", item.stem)
        _lines(paragraph, parts[0])
        for index in range(1, len(parts), 2):
            entry = _sub(paragraph, "textEntryInteraction",
                         {"responseIdentifier": f"RESPONSE_{parts[index]}", "expectedLength": "15"})
            holder = ET.Element("span")
            _lines(holder, parts[index + 1])
            entry.tail = holder.text
            paragraph.extend(list(holder))
    elif item.type == "short_answer":
        interaction = _sub(body, "extendedTextInteraction", {"responseIdentifier": "RESPONSE"})
        _lines(_sub(interaction, "prompt"), item.stem)
    else:
        attributes = {"responseIdentifier": "RESPONSE",
                      "shuffle": "false" if item.type == "true_false" else "true",
                      "maxChoices": "0" if item.type == "multiple" else "1"}
        if item.type == "true_false":
            attributes["class"] = TRUE_FALSE_CLASS
        interaction = _sub(body, "choiceInteraction", attributes)
        _lines(_sub(interaction, "prompt"), item.stem)
        options = ([("true", "正确", False), ("false", "错误", False)] if item.type == "true_false"
                   else [(o.key, o.text, o.pin_last) for o in item.options])
        for key, text, fixed in options:
            choice = _sub(interaction, "simpleChoice", {"identifier": key, "fixed": "true" if fixed else "false"})
            _lines(choice, text)

    if item.type != "short_answer":
        processing = _sub(root, "responseProcessing")
        if item.type == "fill_blank":
            _score_by_mapping(processing, [f"RESPONSE_{n}" for n in range(1, len(blanks) + 1)], len(blanks))
        elif item.type == "multiple" and config.get("scoring") == "partial":
            _score_by_mapping(processing, ["RESPONSE"], len(item.answer))
        else:
            _score_if_correct(processing)
    if item.explanation:
        feedback = _sub(root, "modalFeedback", {"outcomeIdentifier": "FEEDBACK",
                                                "identifier": "EXPLANATION", "showHide": "show"})
        _lines(feedback, item.explanation)
    _indent(root)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
            + "\n").encode("utf-8")


def _lang_string(parent, text: str) -> None:
    _sub(parent, "imsmd:string", {"language": "zh"}, text)


def _metadata(resource, item: ItemData, identifier: str, path: list[str], codes: list[str]) -> None:
    if not (item.difficulty or item.point_code or path or
            (item.external_id and item.external_id != identifier)):
        return
    lom = _sub(_sub(resource, "metadata"), "imsmd:lom")
    if item.external_id and item.external_id != identifier:
        general_id = _sub(_sub(lom, "imsmd:general"), "imsmd:identifier")
        _sub(general_id, "imsmd:catalog", text=EXTERNAL_ID_CATALOG)
        _sub(general_id, "imsmd:entry", text=item.external_id)
    if item.difficulty in DIFFICULTY_WORDS:
        difficulty = _sub(_sub(lom, "imsmd:educational"), "imsmd:difficulty")
        _sub(difficulty, "imsmd:source", text="LOMv1.0")
        _sub(difficulty, "imsmd:value", text=DIFFICULTY_WORDS[item.difficulty])
    if path or item.point_code:
        classification = _sub(lom, "imsmd:classification")
        purpose = _sub(classification, "imsmd:purpose")
        _sub(purpose, "imsmd:source", text="LOMv1.0")
        _sub(purpose, "imsmd:value", text=POINT_PURPOSE)
        taxon_path = _sub(classification, "imsmd:taxonPath")
        _lang_string(_sub(taxon_path, "imsmd:source"), "鉴定要素细目表")
        for name, code in zip(path, codes):
            taxon = _sub(taxon_path, "imsmd:taxon")
            if code:
                _sub(taxon, "imsmd:id", text=code)
            _lang_string(_sub(taxon, "imsmd:entry"), name)
        if item.point_code and (not codes or codes[-1] != item.point_code):
            _sub(_sub(taxon_path, "imsmd:taxon"), "imsmd:id", text=item.point_code)


def _element_codes(doc: BankDocument) -> dict[str, list[str]]:
    """Assessment-point code → codes from the root area down to the point."""
    codes: dict[str, list[str]] = {}
    for root in doc.elements:
        for node, ancestors in root.walk():
            codes.setdefault(node.code, list(ancestors) + [node.code])
    return codes


def _store(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def export(doc: BankDocument) -> bytes:
    paths, codes = category_paths(doc), _element_codes(doc)
    manifest = ET.Element("manifest", {
        "xmlns": CP_NS, "xmlns:imsmd": LOM_NS, "xmlns:xsi": XSI_NS, "identifier": "MANIFEST-1",
        "xsi:schemaLocation": f"{CP_NS} http://www.imsglobal.org/xsd/imscp_v1p1.xsd "
                              f"{LOM_NS} http://www.imsglobal.org/xsd/imsmd_loose_v1p3p2.xsd"})
    metadata = _sub(manifest, "metadata")
    _sub(metadata, "schema", text="QTIv2.1 Package")
    _sub(metadata, "schemaversion", text="1.0.0")
    _sub(manifest, "organizations")
    resources = _sub(manifest, "resources")
    buffer = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buffer, "w") as zf:
        for number, item in enumerate(doc.items, start=1):
            identifier = item.external_id if item.external_id and _IDENTIFIER.match(item.external_id) \
                and item.external_id not in used else f"item-{number}"
            while identifier in used:
                identifier += "-1"
            used.add(identifier)
            href = f"items/item-{number}.xml"
            files = [href]
            image_src = None
            if item.stem_image:
                image = f"images/item-{number}{IMAGE_EXTENSIONS.get(item.stem_image[0], '.png')}"
                _store(zf, image, item.stem_image[1])
                files.append(image)
                image_src = "../" + image
            _store(zf, href, _item_xml(item, identifier, image_src))
            resource = _sub(resources, "resource", {"identifier": f"resource-{number}",
                                                    "type": ITEM_RESOURCE, "href": href})
            in_tree = bool(item.point_code and item.point_code in paths)
            path = category_of(item, paths)
            _metadata(resource, item, identifier, path,
                      codes[item.point_code] if in_tree else [""] * len(path))
            for name in files:
                _sub(resource, "file", {"href": name})
        ET.indent(manifest)
        _store(zf, "imsmanifest.xml", ('<?xml version="1.0" encoding="UTF-8"?>\n'
                                       + ET.tostring(manifest, encoding="unicode") + "\n").encode("utf-8"))
    return buffer.getvalue()


def sniff(data: bytes) -> bool:
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return "imsmanifest.xml" in zf.namelist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return False
    return bool(re.search(rb"<(\w+:)?assessmentItem[\s>]", data[:65536]))


register(Format(name=NAME, label=LABEL, extensions=(".zip", ".xml"), parse=parse, export=export,
                sniff=sniff, media_type="application/zip"))
