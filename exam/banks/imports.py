"""Importing question-bank files into a body's bank, and exporting banks to files.

``import_file`` / ``import_document`` are all or nothing: the file is read by its format,
checked (``exam.banks.checks``) against the bank it goes into, and either every
item is saved in one transaction with one audit event, or nothing is saved and the
report lists every problem with its location.

Uploads from the pages are kept in ``BankUpload`` rows between the preview and the
confirmation, so the user never sends the file twice and any app server can finish the
import.

Re-importing into an existing bank: the element tree is merged by code (new codes are
added, known codes may be renamed or get a new importance or weight); items whose id or
content is already in the bank are reported as duplicates and not added again.
"""
from __future__ import annotations

import copy
import hashlib
import importlib
import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import gettext
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..core import audit
from ..core.auth import Actor, require_org
from ..core.clock import now_utc
from ..core.errors import Conflict, Gone, NotFound, Problem, ValidationFailed
from ..core.files import StoredFile, store_file
from ..extensions import db
from . import formats, qtypes
from .checks import (Duplicate, TreeMerge, apply_defaults, check_items, check_tree, find_duplicates,
                        fingerprint, merge_tree, place_by_category)
from .interchange import BankDocument, ItemData, OccupationData
from .models import AssessmentElement, Bank, BankUpload, Item, ItemVersion, Occupation
from .services import (EDITORS, check_image, content_of, default_bank_name, element_nodes, get_bank,
                       options_json)

#: How long an uploaded file waits for its confirmation.
UPLOAD_TTL = timedelta(hours=24)
#: Items shown in a preview.
SAMPLE_SIZE = 10


def available_formats() -> dict[str, formats.Format]:
    """The format registry, with every format module that is installed."""
    try:
        return formats.load_all()
    except ModuleNotFoundError:
        for module in formats._MODULES:
            name = f"{formats.__name__}.{module}"
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise
        return formats.FORMATS


def read_file(data: bytes, filename: str, format_name: str | None = None) -> BankDocument:
    """Parse a file with the named format, or the one its name and content suggest."""
    registry = available_formats()
    if len(data) > formats.MAX_FILE_BYTES:
        doc = BankDocument()
        doc.error(gettext("The file is larger than %(mb)d MB.", mb=formats.MAX_FILE_BYTES // (1024 * 1024)))
        return doc
    name = format_name if format_name and format_name != "auto" else formats.detect_format(data, filename)
    if name not in registry:
        doc = BankDocument()
        doc.error(gettext("The format of %(file)s was not recognised; choose it in the list.",
                          file=filename or gettext("the file")) if not format_name or format_name == "auto"
                  else gettext("Unknown format “%(name)s”.", name=format_name))
        return doc
    doc = registry[name].parse(data, filename)
    doc.source_format = doc.source_format or name
    return doc


# --- the report --------------------------------------------------------------------------------------

@dataclass
class ImportOptions:
    #: For files that do not name the occupation and level (must match when both are given).
    occupation_code: str | None = None
    level: int | None = None
    skip_unsupported: bool = False
    dry_run: bool = False
    filename: str = ""


@dataclass
class AreaCount:
    code: str
    name: str
    items: int


@dataclass
class ImportReport:
    """What an import did or would do, and everything that stops it."""

    source_format: str | None = None
    filename: str = ""
    occupation_code: str | None = None
    occupation_name: str | None = None
    level: int | None = None
    bank_name: str | None = None
    bank_id: int | None = None
    bank_exists: bool = False
    items_in_file: int = 0
    items_to_import: int = 0
    by_type: Counter = field(default_factory=Counter)
    by_area: list[AreaCount] = field(default_factory=list)
    elements_added: int = 0
    elements_changed: int = 0
    problems: list[Problem] = field(default_factory=list)
    unsupported: list[Problem] = field(default_factory=list)
    duplicates: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    sample: list[ItemData] = field(default_factory=list)
    skip_unsupported: bool = False
    imported: bool = False

    @property
    def ok(self) -> bool:
        """Nothing stops the import."""
        return not self.problems and (self.skip_unsupported or not self.unsupported)

    @property
    def clean(self) -> bool:
        """Nothing worth telling either: no duplicates, warnings or unsupported questions."""
        return self.ok and not (self.unsupported or self.duplicates or self.warnings)

    def as_dict(self) -> dict:
        """Counts for the audit log and JSON callers."""
        return {"format": self.source_format, "filename": self.filename,
                "occupation": self.occupation_code, "level": self.level, "bank_id": self.bank_id,
                "items": self.items_to_import, "by_type": dict(self.by_type),
                "elements_added": self.elements_added, "elements_changed": self.elements_changed,
                "duplicates_skipped": len(self.duplicates),
                "unsupported_skipped": len(self.unsupported) if self.skip_unsupported else 0}


class ImportRefused(ValidationFailed):
    """The file has problems; nothing was imported. ``report`` says everything."""

    def __init__(self, report: ImportReport):
        stopping = report.problems + ([] if report.skip_unsupported else report.unsupported)
        super().__init__(gettext("Nothing was imported: the file has %(n)d problems.", n=len(stopping)),
                         problems=stopping)
        self.report = report


# --- planning -----------------------------------------------------------------------------------------

@dataclass
class _Plan:
    report: ImportReport
    doc: BankDocument
    occupation: Occupation | None
    occupation_data: OccupationData | None
    bank: Bank | None
    merge: TreeMerge
    items: list[ItemData]
    prints: list[str]


def _plan(org_id: int, doc: BankDocument, options: ImportOptions) -> _Plan:
    report = ImportReport(source_format=doc.source_format, filename=options.filename,
                          problems=list(doc.problems), unsupported=list(doc.unsupported),
                          warnings=list(doc.warnings), skip_unsupported=options.skip_unsupported,
                          items_in_file=len(doc.items) + len(doc.unsupported))
    problems = report.problems
    file_occupation = doc.occupation if doc.occupation and doc.occupation.code else None
    given_code = (options.occupation_code or "").strip() or None
    if file_occupation and given_code and file_occupation.code != given_code:
        problems.append(Problem(gettext("The file is for occupation %(file)s, but %(given)s was chosen.",
                                        file=file_occupation.code, given=given_code)))
    code = file_occupation.code if file_occupation else given_code
    occupation = db.session.scalar(select(Occupation).where(Occupation.code == code)) if code else None
    # A file that names its occupation and level but has problems there was reported already.
    ask = doc.occupation is None or not doc.problems
    if code is None and ask:
        problems.append(Problem(gettext("This file does not name its occupation: choose one.")))
    elif occupation is None and not (file_occupation and file_occupation.name):
        problems.append(Problem(gettext("The occupation %(code)s is not known yet: import a file that names "
                                        "it, or create the bank first.", code=code)))
    if doc.level is not None and options.level is not None and doc.level != options.level:
        problems.append(Problem(gettext("The file is for level %(file)s, but level %(given)s was chosen.",
                                        file=doc.level, given=options.level)))
    level = doc.level if doc.level is not None else options.level
    if level is None and ask:
        problems.append(Problem(gettext("This file does not name its level: choose one.")))
    levels = (file_occupation.levels if file_occupation and file_occupation.levels else None) or \
        (occupation.levels if occupation is not None and occupation.levels else None) or [5, 4, 3, 2, 1]
    if level is not None and level not in levels:
        problems.append(Problem(gettext("Level %(level)s is not one of the occupation's levels (%(levels)s).",
                                        level=level, levels=", ".join(str(n) for n in levels))))
    report.occupation_code = code
    report.occupation_name = (file_occupation.name if file_occupation else None) or \
        (occupation.name if occupation else None)
    report.level = level
    bank = None
    if occupation is not None and level is not None:
        query = select(Bank).where(Bank.org_id == org_id, Bank.occupation_id == occupation.id, Bank.level == level)
        # Imports into one bank take turns, so two of them never both miss each other's duplicates.
        bank = db.session.scalar(query if options.dry_run else query.with_for_update())
    report.bank_exists = bank is not None
    report.bank_id = bank.id if bank else None
    report.bank_name = doc.bank_name or (bank.name if bank else None) or (
        default_bank_name(report.occupation_name, level) if report.occupation_name and level else None)

    existing = element_nodes(bank.id) if bank is not None else []
    if doc.elements:
        problems += check_tree(doc.elements)
    merge = merge_tree(existing, doc.elements)
    problems += merge.problems
    # Shallow copies: planning fills in points and defaults without changing the caller's document.
    items = [copy.copy(item) for item in doc.items]
    if not doc.elements:
        place_by_category(items, merge)
    points = merge.index()
    problems += check_items(items, points)
    for item in items:
        apply_defaults(item)
        if item.stem_image is not None:
            content_type, problem = check_image(*item.stem_image)
            if problem:
                problems.append(Problem(problem, item.location))
            else:  # the type the bytes show, whatever the file declared
                item.stem_image = (content_type, item.stem_image[1])
    if not items and not doc.elements and not doc.unsupported and not doc.problems:
        problems.append(Problem(gettext("The file holds no items.")))

    prints = [fingerprint(item) if item.type in qtypes.REGISTRY else None for item in items]
    bank_prints, bank_ids = {}, {}
    if bank is not None:
        for item_id, print_, external_id, status in db.session.execute(
                select(Item.id, ItemVersion.fingerprint, Item.external_id, Item.status)
                .join(ItemVersion, ItemVersion.id == Item.current_version_id).where(Item.bank_id == bank.id)):
            if status == "active":
                bank_prints.setdefault(print_, item_id)
            if external_id:
                bank_ids.setdefault(external_id, item_id)
    duplicates: list[Duplicate] = find_duplicates(items, prints, bank_prints, bank_ids)
    report.duplicates = [d.problem for d in duplicates]
    skipped = {d.index for d in duplicates}
    keep = [i for i in range(len(items)) if i not in skipped]
    to_import = [items[i] for i in keep]

    report.items_to_import = len(to_import)
    report.by_type = Counter(item.type for item in to_import)
    root_of = {node.code: root for root in merge.roots for node, _ in root.walk()}
    per_root = Counter(root_of[item.point_code].code for item in to_import if item.point_code in root_of)
    report.by_area = [AreaCount(root.code, root.name, per_root[root.code]) for root in merge.roots]
    report.elements_added = len(merge.added)
    report.elements_changed = len(merge.changed)
    for code, changes in merge.changed.items():
        if "name" in changes:
            report.warnings.append(Problem(gettext("%(code)s is renamed from “%(old)s” to “%(new)s”.",
                                                   code=code, old=changes["name"][0], new=changes["name"][1])))
    report.sample = to_import[:SAMPLE_SIZE]
    for problems_of_a_kind in (report.problems, report.unsupported, report.duplicates, report.warnings):
        problems_of_a_kind.sort(key=_reading_order)
    return _Plan(report, doc, occupation, file_occupation, bank, merge, to_import,
                 [prints[i] for i in keep])


def _reading_order(problem: Problem) -> list:
    """Problems in the order of the file: "row 4" and "row 4, 答案" together, "row 10" after "row 9"."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"(\d+)", problem.location or "")]


# --- writing ------------------------------------------------------------------------------------------

def _upsert_occupation(plan: _Plan) -> Occupation:
    data, occupation = plan.occupation_data, plan.occupation
    if occupation is None:
        occupation = Occupation(code=data.code, name=data.name, name_en=data.name_en,
                                levels=list(data.levels) or [5, 4, 3, 2, 1], work_types=list(data.work_types))
        db.session.add(occupation)
        db.session.flush()
        return occupation
    if data is not None:  # never overwrite what is known with empty values
        if data.name and data.name != occupation.name:
            occupation.name = data.name
        if data.name_en and data.name_en != occupation.name_en:
            occupation.name_en = data.name_en
        if data.levels and list(data.levels) != list(occupation.levels or []):
            occupation.levels = list(data.levels)
        if data.work_types and list(data.work_types) != list(occupation.work_types or []):
            occupation.work_types = list(data.work_types)
    return occupation


def _write_tree(bank: Bank, merge: TreeMerge) -> dict[str, int]:
    """Insert new elements (one statement per depth), update changed ones; return code → id."""
    rows = {row.code: row for row in db.session.scalars(
        select(AssessmentElement).where(AssessmentElement.bank_id == bank.id))}
    ids = {code: row.id for code, row in rows.items()}
    by_depth: dict[int, list[dict]] = {}
    position = 0
    for root in merge.roots:
        for node, path in root.walk():
            values = dict(code=node.code, name=node.name, importance=node.importance if node.is_point else None,
                          weight=node.weight, position=position, depth=len(path), path=list(path),
                          is_point=node.is_point)
            position += 1
            row = rows.get(node.code)
            if row is None:
                by_depth.setdefault(len(path), []).append(dict(values, bank_id=bank.id,
                                                               parent=path[-1] if path else None))
                continue
            for name, value in values.items():
                if getattr(row, name) != value:
                    setattr(row, name, value)
    db.session.flush()
    for depth in sorted(by_depth):
        batch = by_depth[depth]
        for values in batch:
            parent = values.pop("parent")
            values["parent_id"] = ids[parent] if parent is not None else None
        result = db.session.execute(
            insert(AssessmentElement).returning(AssessmentElement.id, AssessmentElement.code,
                                                sort_by_parameter_order=True), batch)
        ids.update({code: element_id for element_id, code in result})
    return ids


def _write_items(bank: Bank, plan: _Plan, element_ids: dict[str, int], actor: Actor) -> None:
    if not plan.items:
        return
    image_ids = {}
    for index, item in enumerate(plan.items):
        if item.stem_image is not None:
            image_ids[index] = store_file(item.stem_image[1], item.stem_image[0])
    if image_ids:
        db.session.flush()
    now = now_utc()
    result = db.session.execute(
        insert(Item).returning(Item.id, sort_by_parameter_order=True),
        [dict(bank_id=bank.id, point_id=element_ids[item.point_code], status="active",
              external_id=item.external_id, created_at=now, updated_at=now) for item in plan.items])
    item_ids = [row[0] for row in result]
    db.session.execute(insert(ItemVersion), [
        dict(item_id=item_id, version_no=1, type=item.type, stem=item.stem,
             stem_image_file_id=image_ids[index].id if index in image_ids else None,
             options=options_json(item.options), answer=item.answer, points=item.points,
             difficulty=item.difficulty, explanation=item.explanation, config=dict(item.config or {}),
             fingerprint=print_, created_at=now, created_by=actor.user_id)
        for index, (item_id, item, print_) in enumerate(zip(item_ids, plan.items, plan.prints))])
    first_version = select(ItemVersion.id).where(ItemVersion.item_id == Item.id, ItemVersion.version_no == 1) \
        .scalar_subquery()
    db.session.execute(update(Item).where(Item.bank_id == bank.id, Item.current_version_id.is_(None))
                       .values(current_version_id=first_version).execution_options(synchronize_session=False))


def _run(actor: Actor, org_id: int, doc: BankDocument, options: ImportOptions) -> ImportReport:
    """Plan and (unless a dry run) write, without committing.

    :raise ImportRefused: the file has problems (or unsupported questions not skipped).
    """
    require_org(actor, org_id, *EDITORS)
    plan = _plan(org_id, doc, options)
    report = plan.report
    if options.dry_run:
        return report
    if not report.ok:
        raise ImportRefused(report)
    occupation = _upsert_occupation(plan)
    bank = plan.bank
    created = bank is None
    if created:
        bank = Bank(org_id=org_id, occupation_id=occupation.id, level=report.level, name=report.bank_name)
        db.session.add(bank)
        db.session.flush()
    elif doc.bank_name and doc.bank_name != bank.name:
        bank.name = doc.bank_name
    element_ids = _write_tree(bank, plan.merge)
    _write_items(bank, plan, element_ids, actor)
    report.bank_id, report.imported = bank.id, True
    audit.record("bank.imported", actor=actor, obj=bank, data=dict(report.as_dict(), bank_created=created))
    return report


def _commit() -> None:
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(gettext("The bank changed while importing (another import at the same time?). "
                               "Nothing was imported; try again.")) from None


def import_document(actor: Actor, org_id: int, doc: BankDocument, options: ImportOptions) -> ImportReport:
    """Import a parsed document into the organisation's bank for its occupation and level.

    A dry run checks everything and saves nothing.

    :raise ImportRefused: problems (each located), or unsupported questions not skipped.
    """
    try:
        report = _run(actor, org_id, doc, options)
    except ImportRefused:
        db.session.rollback()
        raise
    if not options.dry_run:
        _commit()
    return report


def import_file(actor: Actor, org_id: int, data: bytes, filename: str, options: ImportOptions,
                format_name: str | None = None) -> ImportReport:
    """Read ``data`` with its format and import it (see ``import_document``)."""
    options.filename = options.filename or filename
    return import_document(actor, org_id, read_file(data, filename, format_name), options)


# --- uploads waiting for confirmation --------------------------------------------------------------------

def stage_upload(actor: Actor, org_id: int, data: bytes, filename: str, *, format_name: str | None,
                 occupation_code: str | None, level: int | None, skip_unsupported: bool) -> BankUpload:
    """Keep an uploaded file until its preview is confirmed or discarded (expired ones are purged)."""
    require_org(actor, org_id, *EDITORS)
    if not data:
        raise ValidationFailed(gettext("Choose a file to upload."), problems=[
            Problem(gettext("Choose a file to upload."), "file")])
    if len(data) > formats.MAX_FILE_BYTES:
        raise ValidationFailed(gettext("The file is larger than %(mb)d MB.",
                                       mb=formats.MAX_FILE_BYTES // (1024 * 1024)))
    now = now_utc()
    db.session.execute(delete(BankUpload).where(BankUpload.expires_at < now))
    upload = BankUpload(token=secrets.token_urlsafe(32), org_id=org_id, user_id=actor.user_id,
                        filename=(filename or "upload")[-255:], format=None if format_name in (None, "", "auto")
                        else format_name, occupation_code=(occupation_code or "").strip() or None,
                        level=level, skip_unsupported=skip_unsupported, size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(), data=data, created_at=now,
                        expires_at=now + UPLOAD_TTL)
    db.session.add(upload)
    db.session.flush()
    audit.record("bank.upload_staged", actor=actor, obj=upload,
                 data={"filename": upload.filename, "size": upload.size, "sha256": upload.sha256})
    db.session.commit()
    return upload


def get_upload(actor: Actor, token: str, *, lock: bool = False) -> BankUpload:
    """:raise NotFound: unknown token or another organisation's. :raise Gone: expired.

    ``lock``: hold the row until the transaction ends (a second confirmation waits, then finds
    the upload gone).
    """
    query = select(BankUpload).where(BankUpload.token == token)
    upload = db.session.scalar(query.with_for_update() if lock else query)
    if upload is None:
        raise NotFound(gettext("This upload does not exist (it was imported or discarded)."))
    require_org(actor, upload.org_id, *EDITORS)
    if upload.expires_at < now_utc():
        raise Gone(gettext("This upload has expired; upload the file again."))
    return upload


def _upload_options(upload: BankUpload, skip_unsupported: bool | None = None, dry_run: bool = False):
    return ImportOptions(occupation_code=upload.occupation_code, level=upload.level,
                         skip_unsupported=upload.skip_unsupported if skip_unsupported is None else skip_unsupported,
                         dry_run=dry_run, filename=upload.filename)


def preview_upload(actor: Actor, token: str) -> tuple[BankUpload, ImportReport]:
    """What importing the upload would do; nothing is saved."""
    upload = get_upload(actor, token)
    doc = read_file(upload.data, upload.filename, upload.format)
    return upload, import_document(actor, upload.org_id, doc, _upload_options(upload, dry_run=True))


def confirm_upload(actor: Actor, token: str, skip_unsupported: bool | None = None) -> ImportReport:
    """Import the upload and forget it (one transaction).

    :raise ImportRefused: the file has problems; the upload stays for another look.
    """
    upload = get_upload(actor, token, lock=True)
    doc = read_file(upload.data, upload.filename, upload.format)
    try:
        report = _run(actor, upload.org_id, doc, _upload_options(upload, skip_unsupported))
    except ImportRefused:
        db.session.rollback()
        raise
    db.session.delete(upload)
    _commit()
    return report


def discard_upload(actor: Actor, token: str) -> None:
    upload = get_upload(actor, token, lock=True)
    audit.record("bank.upload_discarded", actor=actor, obj=upload, data={"filename": upload.filename})
    db.session.delete(upload)
    db.session.commit()


# --- export -------------------------------------------------------------------------------------------

def bank_document(actor: Actor, bank_id: int) -> BankDocument:
    """The bank's occupation, tree and active items (current versions) in the interchange form."""
    bank = get_bank(actor, bank_id)
    occupation = bank.occupation
    doc = BankDocument(
        occupation=OccupationData(code=occupation.code, name=occupation.name, name_en=occupation.name_en,
                                  levels=list(occupation.levels or []),
                                  work_types=list(occupation.work_types or [])),
        level=bank.level, bank_name=bank.name, elements=element_nodes(bank.id), source_format="skillcert")
    rows = db.session.execute(
        select(Item.external_id, AssessmentElement.code, ItemVersion)
        .join(ItemVersion, ItemVersion.id == Item.current_version_id)
        .join(AssessmentElement, AssessmentElement.id == Item.point_id)
        .where(Item.bank_id == bank.id, Item.status == "active")
        .order_by(AssessmentElement.position, Item.id)).all()
    image_ids = {version.stem_image_file_id for _, _, version in rows if version.stem_image_file_id}
    images = {f.id: (f.content_type, f.data) for f in db.session.scalars(
        select(StoredFile).where(StoredFile.id.in_(image_ids)))} if image_ids else {}
    for external_id, point_code, version in rows:
        item = content_of(version)
        item.external_id, item.point_code = external_id, point_code
        item.stem_image = images.get(version.stem_image_file_id)
        doc.items.append(item)
    return doc


@dataclass
class ExportFile:
    data: bytes
    filename: str
    media_type: str
    #: Items whose stem image the format cannot carry.
    images_dropped: int = 0


def export_bank(actor: Actor, bank_id: int, format_name: str) -> ExportFile:
    """The bank as a file of the named format (one audit event: banks are confidential)."""
    registry = available_formats()
    fmt = registry.get(format_name)
    if fmt is None or fmt.export is None:
        raise NotFound(gettext("Banks cannot be exported as “%(name)s”.", name=format_name))
    doc = bank_document(actor, bank_id)
    bank = db.session.get(Bank, bank_id)
    data = fmt.export(doc)
    # Only YAML, Moodle XML and QTI carry stem images.
    dropped = (sum(1 for item in doc.items if item.stem_image)
               if format_name in ("xlsx", "csv", "gift", "aiken") else 0)
    audit.record("bank.exported", actor=actor, obj=bank,
                 data={"format": format_name, "items": len(doc.items), "bytes": len(data)})
    db.session.commit()
    filename = f"{doc.occupation.code}-{bank.level}{fmt.extensions[0]}"
    return ExportFile(data, filename, fmt.media_type, dropped)


def exportable_formats() -> list[formats.Format]:
    return [f for f in available_formats().values() if f.export is not None]


def template_for(actor: Actor, bank_id: int | None) -> bytes:
    """The Excel template; from a bank's page it carries the bank's tree and occupation."""
    from .formats.spreadsheet import template

    if bank_id is None:
        return template()
    doc = bank_document(actor, bank_id)
    doc.items = []
    return template(doc)

