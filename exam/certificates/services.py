"""Certificates: issuing, revoking and reissuing; printing; public verification.

Every function that changes state takes an ``Actor``, checks it on the object, records
one audit event per certificate it changes and commits once (creating an organisation's
first signing key is committed on its own, just before). Reading for the public
(verification, lookup, bulk lists, the API) needs no actor and shows only what a
certificate prints, with the ID number masked.
"""
from __future__ import annotations

import hmac
import io
import unicodedata
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext
from PIL import Image, ImageOps
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from ..accounts.idnumbers import ID_TYPE_NAMES_ZH, mask_to_last, normalise_id_number
from ..accounts.models import Organisation, User
from ..banks.models import Occupation
from ..core import audit
from ..core.auth import ADMIN, Actor, require_org, require_user
from ..core.clock import now_utc
from ..core.errors import Conflict, Gone, NotFound, Problem, ProblemList, ValidationFailed
from ..core.files import StoredFile, store_file
from ..extensions import db
from ..scoring.services import issuable_enrolment_ids as final_passes
from ..sessions.models import Enrolment, ExamSession
from . import badges, keys, numbers, pdf, signing
from .branding import ImageRejected, normalise_logo, normalise_seal
from .bulk import BulkResult, BulkRow, results_workbook, same_name
from ..banks.levels import LEVEL_NAMES_ZH as LEVEL_NAMES
from .models import Certificate, CertificateSerial, SigningKey

#: The printed photo (1-inch, 5:7), at about 300 dpi.
PHOTO_SIZE = (300, 420)
PER_PAGE = 50
NO_WORK_TYPE = "--"


# --- lookups ---------------------------------------------------------------------------------

def _certificate(certificate_id: int) -> Certificate:
    cert = db.session.get(Certificate, certificate_id)
    if cert is None:
        raise NotFound(gettext("No such certificate."))
    return cert


def get_certificate(actor: Actor, certificate_id: int) -> Certificate:
    """A certificate for its body's admins (and the regulator, reading).

    :raise NotFound: no such certificate, or another body's.
    """
    cert = _certificate(certificate_id)
    require_org(actor, cert.org_id, ADMIN, write=False)
    return cert


def get_own_certificate(actor: Actor, certificate_id: int) -> Certificate:
    """:raise NotFound: no such certificate, or not the actor's own."""
    user_id = require_user(actor)
    cert = db.session.get(Certificate, certificate_id)
    if cert is None or cert.holder_user_id != user_id:
        raise NotFound(gettext("No such certificate."))
    return cert


def my_certificates(actor: Actor) -> list[Certificate]:
    """The actor's certificates from every body, newest first."""
    user_id = require_user(actor)
    return list(db.session.scalars(select(Certificate).where(Certificate.holder_user_id == user_id)
                                   .order_by(Certificate.issued_on.desc(), Certificate.id.desc())))


@dataclass
class CertificatePage:
    certificates: list[Certificate]
    page: int
    pages: int
    total: int
    counts: dict[str, int]


def list_certificates(actor: Actor, org_id: int, *, q: str | None = None, status: str | None = None,
                      page: int = 1, per_page: int = PER_PAGE) -> CertificatePage:
    """A body's certificates, newest first; ``q`` matches a number (or its start), a name or an
    ID number."""
    require_org(actor, org_id, ADMIN, write=False)
    stmt = select(Certificate).where(Certificate.org_id == org_id)
    q = (q or "").strip()
    if q:
        typed = numbers.normalise_typed(q)
        stmt = stmt.where(or_(Certificate.number.startswith(typed, autoescape=True),
                              Certificate.holder_name.contains(q, autoescape=True),
                              Certificate.holder_id_number == typed))
    matching = stmt.subquery()
    counts = dict(db.session.execute(select(matching.c.status, func.count())
                                     .group_by(matching.c.status)).all())
    if status:
        stmt = stmt.where(Certificate.status == status)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max((total + per_page - 1) // per_page, 1)
    page = min(max(page, 1), pages)
    rows = db.session.scalars(stmt.order_by(Certificate.id.desc()).limit(per_page)
                              .offset((page - 1) * per_page))
    return CertificatePage(list(rows), page, pages, total, counts)


def get_session(actor: Actor, session_id: int) -> ExamSession:
    """:raise NotFound: no such session, or another body's."""
    session = db.session.get(ExamSession, session_id)
    if session is None:
        raise NotFound(gettext("No such session."))
    require_org(actor, session.org_id, ADMIN, write=False)
    return session


def session_certificates(actor: Actor, session_id: int) -> list[Certificate]:
    session = get_session(actor, session_id)
    return list(db.session.scalars(
        select(Certificate).join(Enrolment, Enrolment.id == Certificate.enrolment_id)
        .where(Enrolment.session_id == session.id).order_by(Certificate.number)))


@dataclass
class SessionRow:
    session: ExamSession
    occupation: Occupation
    issued: int
    issuable: int


def sessions_overview(actor: Actor, org_id: int) -> list[SessionRow]:
    """The body's sessions whose results are published or that have certificates."""
    require_org(actor, org_id, ADMIN, write=False)
    issued = (select(Enrolment.session_id, func.count(Certificate.id).label("n"))
              .join(Certificate, Certificate.enrolment_id == Enrolment.id)
              .where(Certificate.status == "valid").group_by(Enrolment.session_id).subquery())
    rows = db.session.execute(
        select(ExamSession, Occupation, func.coalesce(issued.c.n, 0))
        .join(Occupation, Occupation.id == ExamSession.occupation_id)
        .outerjoin(issued, issued.c.session_id == ExamSession.id)
        .where(ExamSession.org_id == org_id,
               or_(ExamSession.status == "results_published", issued.c.n > 0))
        .order_by(ExamSession.id.desc()))
    return [SessionRow(s, o, n, len(issuable_enrolment_ids(s.id))) for s, o, n in rows]


# --- issuing ---------------------------------------------------------------------------------

def issuable_enrolment_ids(session_id: int) -> list[int]:
    """Enrolments of a session that may get a certificate now: the result passed, the
    publication period (公示) ended and no appeal is open (``exam.scoring``), and the enrolment
    has no certificate yet (a revoked one is not re-issued by a batch: reissue is explicit)."""
    candidates = final_passes(session_id)
    if not candidates:
        return []
    certified = set(db.session.scalars(select(Certificate.enrolment_id)
                                       .where(Certificate.enrolment_id.in_(candidates))))
    return [i for i in candidates if i not in certified]


@dataclass(frozen=True)
class IssueRequest:
    enrolment_id: int
    issued_on: date


def local_today() -> date:
    """Today in the display time zone (Asia/Shanghai): the date printed on a certificate."""
    return now_utc().astimezone(ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])).date()


def issue_for_session(actor: Actor, session_id: int, enrolment_ids: list[int]) -> list[Certificate]:
    """Issue certificates dated today to enrolments of one session (all or none).

    :raise ValidationFailed: an enrolment is not in the session, or its result is not a final
        pass (publication period ended, no open appeal), or its facts cannot be printed.
    """
    session = db.session.get(ExamSession, session_id)
    if session is None:
        raise NotFound(gettext("No such session."))
    require_org(actor, session.org_id, ADMIN)
    ids = list(dict.fromkeys(enrolment_ids))
    elsewhere = set(ids) - set(db.session.scalars(
        select(Enrolment.id).where(Enrolment.id.in_(ids), Enrolment.session_id == session.id)))
    if elsewhere:
        raise ValidationFailed(gettext("Some enrolments are not in this session."),
                               problems=[_problem_at(i, gettext("Not in this session.")) for i in sorted(elsewhere)])
    today = local_today()
    return issue_certificates(actor, session.org_id, [IssueRequest(i, today) for i in ids],
                              final_passes=set(final_passes(session.id)))


def _problem_at(enrolment_id: int, message: str) -> Problem:
    return Problem(message, gettext("enrolment %(id)s", id=enrolment_id))


def _snapshot(org: Organisation, enrolment: Enrolment, session: ExamSession, user: User,
              occupation: Occupation, problems: ProblemList, location: str) -> dict | None:
    """The certificate's fields from the records, or None after adding what is wrong."""
    before = len(problems)
    name = unicodedata.normalize("NFC", (user.real_name or "").strip())
    if signing.field_problem(name):
        problems.add(gettext("The candidate's name cannot be printed (%(name)s).", name=name or "—"),
                     location)
    if not user.id_type or not user.id_number:
        problems.add(gettext("%(name)s has no ID document on record.", name=name), location)
    if user.photo_file_id is None:
        problems.add(gettext("%(name)s has no photo on record; a certificate needs one.", name=name),
                     location)
    if session.level not in LEVEL_NAMES:
        problems.add(gettext("Level %(level)s has no national certificate number.", level=session.level),
                     location)
    if signing.field_problem(occupation.code) or signing.field_problem(occupation.name):
        problems.add(gettext("The occupation's code or name cannot be printed."), location)
    if len(problems) > before:
        return None
    return dict(
        org_id=org.id, enrolment_id=enrolment.id, holder_user_id=user.id, holder_name=name,
        holder_id_type=user.id_type, holder_id_number=user.id_number,
        issuer_name=org.name, occupation_code=occupation.code, occupation_name=occupation.name,
        work_type=(session.work_type or "").strip() or NO_WORK_TYPE, level=session.level,
        level_name=LEVEL_NAMES[session.level])


def _print_photo(file_id: int) -> int:
    """A copy of the photo for print: cropped to 5:7 and 300 × 420 pixels (no commit)."""
    original = db.session.get(StoredFile, file_id)
    with Image.open(io.BytesIO(original.data)) as image:
        fitted = ImageOps.fit(image.convert("RGB"), PHOTO_SIZE, Image.LANCZOS, centering=(0.5, 0.4))
    out = io.BytesIO()
    fitted.save(out, "JPEG", quality=85, optimize=True)
    stored = store_file(out.getvalue(), "image/jpeg")
    db.session.flush()
    return stored.id


def _take_serials(org_id: int, year: int, level: int, count: int) -> int:
    """Reserve ``count`` serials for (organisation, year, level); returns the first.

    The counter row is updated in place: the update holds the row's lock (PostgreSQL) or
    the database's write lock (SQLite) until the transaction ends, so concurrent issuers
    queue and every number is used once; a rolled-back issue gives its serials back.
    """
    table = CertificateSerial.__table__
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    db.session.execute(insert.values(org_id=org_id, year=year, level=level, last_serial=0)
                       .on_conflict_do_nothing())
    last = db.session.execute(
        update(table).where(table.c.org_id == org_id, table.c.year == year, table.c.level == level)
        .values(last_serial=table.c.last_serial + count).returning(table.c.last_serial)).scalar_one()
    if last > numbers.MAX_SERIAL:
        raise Conflict(gettext("The serial numbers of level %(level)s in 20%(year)02d are used up.",
                               level=level, year=year))
    return last - count + 1


def _sign(cert: Certificate, loaded: keys.LoadedKey) -> None:
    cert.kid = loaded.kid
    cert.signature = signing.sign_certificate(loaded.private_key, loaded.kid, signed_facts(cert))


def signed_facts(cert: Certificate) -> signing.SignedFacts:
    return signing.SignedFacts(number=cert.number, holder_name=cert.holder_name,
                               occupation_code=cert.occupation_code, level=cert.level,
                               issued_on=cert.issued_on)


def issue_certificates(actor: Actor, org_id: int, requests: list[IssueRequest],
                       final_passes: set[int] | None = None) -> list[Certificate]:
    """Issue one certificate per request (all or none), numbered in the order given.

    Each request names an enrolment (approved, of one of this body's sessions; with
    ``final_passes``, also one of those enrolments: a passed result whose publication period
    ended with no open appeal) and the date of issue. The certificate snapshots the candidate (name, ID, photo) and the
    occupation, work type and level of the session, and is signed with the body's key.

    :raise ValidationFailed: every request that cannot be issued, with the reason.
    """
    require_org(actor, org_id, ADMIN)
    org = db.session.get(Organisation, org_id)
    if org is None:
        raise NotFound(gettext("No such organisation."))
    if not requests:
        raise ValidationFailed(gettext("There is nothing to issue."))
    key_row = keys.ensure_active_key(actor, org_id)
    loaded = keys.load_private_key(key_row.kid)

    ids = [r.enrolment_id for r in requests]
    found = {e.id: (e, s, u, o) for e, s, u, o in db.session.execute(
        select(Enrolment, ExamSession, User, Occupation)
        .join(ExamSession, ExamSession.id == Enrolment.session_id)
        .join(User, User.id == Enrolment.user_id)
        .join(Occupation, Occupation.id == ExamSession.occupation_id)
        .where(Enrolment.id.in_(ids)))}
    certified = set(db.session.scalars(select(Certificate.enrolment_id).where(
        Certificate.enrolment_id.in_(ids), Certificate.status == "valid")))
    problems, snapshots, seen = ProblemList(), [], set()
    for request in requests:
        location = gettext("enrolment %(id)s", id=request.enrolment_id)
        row = found.get(request.enrolment_id)
        if row is None or row[1].org_id != org_id:
            problems.add(gettext("No such enrolment in this body."), location)
            continue
        enrolment, session, user, occupation = row
        if request.enrolment_id in seen:
            problems.add(gettext("Listed twice."), location)
            continue
        seen.add(request.enrolment_id)
        if enrolment.status != "approved":
            problems.add(gettext("The enrolment is not approved."), location)
            continue
        if final_passes is not None and enrolment.id not in final_passes:
            problems.add(gettext("No passed result whose publication period has ended without an "
                                 "open appeal."), location)
            continue
        if enrolment.id in certified:
            problems.add(gettext("%(name)s already holds a valid certificate for this enrolment.",
                                 name=user.real_name), location)
            continue
        values = _snapshot(org, enrolment, session, user, occupation, problems, location)
        if values is not None:
            snapshots.append((request, values, user.photo_file_id))
    problems.raise_if_any(gettext("No certificate was issued."))

    if not numbers.PREFIX_RE.fullmatch(org.certificate_prefix):
        raise ValidationFailed(gettext("The body's registered codes do not form a certificate number; "
                                       "check them in the organisation settings."))
    firsts = {}
    for request, values, _ in snapshots:
        bucket = (request.issued_on.year % 100, values["level"])
        firsts[bucket] = firsts.get(bucket, 0) + 1
    for bucket, count in sorted(firsts.items()):
        firsts[bucket] = _take_serials(org_id, bucket[0], bucket[1], count)
    issued = []
    for request, values, photo_id in snapshots:
        bucket = (request.issued_on.year % 100, values["level"])
        serial, firsts[bucket] = firsts[bucket], firsts[bucket] + 1
        cert = Certificate(**values, number=numbers.format_number(org.certificate_prefix, bucket[0],
                                                                   bucket[1], serial),
                           issued_on=request.issued_on, holder_photo_file_id=_print_photo(photo_id),
                           status="valid", created_by=actor.user_id, created_at=now_utc())
        _sign(cert, loaded)
        db.session.add(cert)
        issued.append(cert)
    _flush_or_conflict()
    for cert in issued:
        audit.record("certificate.issued", actor=actor, obj=cert,
                     data={"number": cert.number, "enrolment_id": cert.enrolment_id,
                           "holder": cert.holder_name, "kid": cert.kid})
    db.session.commit()
    return issued


def _flush_or_conflict() -> None:
    """Flush new certificates; another admin issuing the same enrolment at the same moment
    trips the one-valid-certificate index, which becomes a conflict (nothing is kept)."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(gettext("Another administrator issued a certificate for the same candidate "
                               "at the same moment; reload the page and try again.")) from None


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed(gettext("Give the reason."),
                               problems=[Problem(gettext("Give the reason."), "reason")])
    if len(text) > 500:
        raise ValidationFailed(gettext("The reason is too long."),
                               problems=[Problem(gettext("At most 500 characters."), "reason")])
    return text


def _locked(certificate_id: int) -> Certificate:
    cert = db.session.scalar(select(Certificate).where(Certificate.id == certificate_id)
                             .with_for_update())
    if cert is None:
        raise NotFound(gettext("No such certificate."))
    return cert


def revoke_certificate(actor: Actor, certificate_id: int, reason: str) -> Certificate:
    """Withdraw a valid certificate for good (撤销); verification shows it revoked.

    :raise Conflict: it is not valid (already revoked or superseded).
    """
    cert = _locked(certificate_id)
    require_org(actor, cert.org_id, ADMIN)
    reason = _reason(reason)
    if cert.status != "valid":
        raise Conflict(gettext("Only a valid certificate can be revoked."))
    cert.status = "revoked"
    cert.revoked_at = now_utc()
    cert.revoked_reason = reason
    cert.revoked_by = actor.user_id
    audit.record("certificate.revoked", actor=actor, obj=cert,
                 data={"number": cert.number, "reason": reason})
    db.session.commit()
    return cert


def reissue_certificate(actor: Actor, certificate_id: int, reason: str,
                        issued_on: date | None = None) -> Certificate:
    """Replace a valid certificate by a new one with a new number (补发/换发).

    The new certificate takes the candidate's current records (e.g. a corrected name or
    photo); the old one becomes ``superseded`` and links to it. Both stay forever.

    :raise Conflict: the certificate is not valid.
    """
    cert = _certificate(certificate_id)
    require_org(actor, cert.org_id, ADMIN)
    reason = _reason(reason)
    if cert.status != "valid":
        raise Conflict(gettext("Only a valid certificate can be reissued."))
    key_row = keys.ensure_active_key(actor, cert.org_id)
    loaded = keys.load_private_key(key_row.kid)
    old = _locked(certificate_id)
    if old.status != "valid":
        raise Conflict(gettext("Only a valid certificate can be reissued."))
    enrolment = db.session.get(Enrolment, old.enrolment_id)
    session = db.session.get(ExamSession, enrolment.session_id)
    user = db.session.get(User, enrolment.user_id)
    occupation = db.session.get(Occupation, session.occupation_id)
    org = db.session.get(Organisation, old.org_id)
    problems = ProblemList()
    values = _snapshot(org, enrolment, session, user, occupation, problems, old.number)
    problems.raise_if_any(gettext("The certificate was not reissued."))
    issued_on = issued_on or local_today()
    year = issued_on.year % 100
    serial = _take_serials(org.id, year, values["level"], 1)
    now = now_utc()
    old.status = "superseded"
    old.superseded_at = now
    old.superseded_reason = reason
    db.session.flush()  # the old one stops being valid before the new one is
    new = Certificate(**values, number=numbers.format_number(org.certificate_prefix, year,
                                                              values["level"], serial),
                      issued_on=issued_on, holder_photo_file_id=_print_photo(user.photo_file_id),
                      status="valid", supersedes_id=old.id, created_by=actor.user_id, created_at=now)
    _sign(new, loaded)
    db.session.add(new)
    _flush_or_conflict()
    old.superseded_by_id = new.id
    audit.record("certificate.superseded", actor=actor, obj=old,
                 data={"number": old.number, "by": new.number, "reason": reason})
    audit.record("certificate.issued", actor=actor, obj=new,
                 data={"number": new.number, "enrolment_id": new.enrolment_id,
                       "holder": new.holder_name, "kid": new.kid, "supersedes": old.number})
    db.session.commit()
    return new


# --- the body's logo and seal ----------------------------------------------------------------

def update_branding(actor: Actor, org_id: int, *, logo: bytes | None = None, seal: bytes | None = None,
                    remove_logo: bool = False, remove_seal: bool = False) -> Organisation:
    """Set or remove the logo and the seal printed on the body's certificates.

    :raise ValidationFailed: an image is not usable (``logo`` or ``seal`` says which).
    """
    require_org(actor, org_id, ADMIN)
    org = db.session.get(Organisation, org_id)
    problems = ProblemList()
    changes = {}
    for name, data, normalise, remove in (("logo", logo, normalise_logo, remove_logo),
                                          ("seal", seal, normalise_seal, remove_seal)):
        column = f"{name}_file_id"
        if data:
            try:
                stored = store_file(normalise(data), "image/png")
            except ImageRejected as exc:
                problems.add(str(exc), name)
                continue
            db.session.flush()
            changes[name] = stored.sha256
            setattr(org, column, stored.id)
        elif remove and getattr(org, column) is not None:
            changes[name] = None
            setattr(org, column, None)
    problems.raise_if_any(gettext("The images were not saved."))
    if not changes:
        raise ValidationFailed(gettext("Choose an image to upload, or one to remove."))
    audit.record("organisation.certificate_branding_changed", actor=actor, obj=org, data=changes)
    db.session.commit()
    return org


def get_organisation_for_branding(actor: Actor, org_id: int) -> Organisation:
    require_org(actor, org_id, ADMIN)
    return db.session.get(Organisation, org_id)


def branding_image(actor: Actor, org_id: int, which: str) -> StoredFile:
    """The body's logo or seal (admins, for the branding page)."""
    require_org(actor, org_id, ADMIN, write=False)
    org = db.session.get(Organisation, org_id)
    file_id = getattr(org, f"{which}_file_id", None) if which in ("logo", "seal") else None
    if org is None or file_id is None:
        raise NotFound(gettext("No image."))
    return db.session.get(StoredFile, file_id)


# --- printing --------------------------------------------------------------------------------

def base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def link(cert: Certificate) -> str:
    """The signed verification link of the certificate's QR code."""
    return signing.qr_url(base_url(), cert.number, cert.kid, cert.signature)


def lookup_address() -> str:
    address = base_url()
    return address.split("://", 1)[-1] + "/verify"


def _branding(org: Organisation) -> pdf.Branding:
    files = {f.id: f for f in db.session.scalars(select(StoredFile).where(
        StoredFile.id.in_([i for i in (org.logo_file_id, org.seal_file_id) if i])))}
    logo, seal = files.get(org.logo_file_id), files.get(org.seal_file_id)
    return pdf.Branding(lookup_address=lookup_address(), logo=logo.data if logo else None,
                        seal=seal.data if seal else None)


def _printed(certs: list[Certificate]) -> list[pdf.PrintedCertificate]:
    photo_ids = [c.holder_photo_file_id for c in certs if c.holder_photo_file_id]
    photos = {f.id: f for f in db.session.scalars(select(StoredFile).where(StoredFile.id.in_(photo_ids)))}
    printed = []
    for cert in certs:
        photo = photos.get(cert.holder_photo_file_id)
        watermark = None if cert.status == "valid" else pdf.WATERMARKS[cert.status]
        printed.append(pdf.PrintedCertificate(
            number=cert.number, holder_name=cert.holder_name,
            id_type_name=ID_TYPE_NAMES_ZH.get(cert.holder_id_type, cert.holder_id_type),
            id_number=cert.holder_id_number, occupation_name=cert.occupation_name,
            work_type=cert.work_type, level_name=cert.level_name, issued_on=cert.issued_on,
            issuer_name=cert.issuer_name, link=link(cert), photo=photo.data if photo else None,
            photo_type=photo.content_type if photo else "image/jpeg", watermark=watermark))
    return printed


def pdf_filename(cert: Certificate) -> str:
    return f"{cert.number}.pdf"


def certificate_pdf(cert: Certificate) -> bytes:
    """The certificate's PDF (not valid ones carry a watermark saying so). The caller checks
    access (``get_certificate`` or ``get_own_certificate``)."""
    org = db.session.get(Organisation, cert.org_id)
    return pdf.render_pdf(_printed([cert]), _branding(org))


def own_certificate_pdf(actor: Actor, certificate_id: int) -> tuple[Certificate, bytes]:
    """The holder's own valid certificate as a PDF.

    :raise Gone: it was revoked or superseded.
    """
    cert = get_own_certificate(actor, certificate_id)
    if cert.status != "valid":
        raise Gone(gettext("This certificate is no longer valid and cannot be downloaded."))
    return cert, certificate_pdf(cert)


def session_pdf(actor: Actor, session_id: int, processes: int = 2) -> tuple[ExamSession, bytes]:
    """The valid certificates of a session as one PDF, in number order.

    :raise NotFound: the session has no valid certificate.
    """
    session = get_session(actor, session_id)
    certs = [c for c in session_certificates(actor, session_id) if c.status == "valid"]
    if not certs:
        raise NotFound(gettext("This session has no valid certificate yet."))
    org = db.session.get(Organisation, session.org_id)
    return session, pdf.render_batch(_printed(certs), _branding(org), processes=processes)


def specimen_pdf(actor: Actor, org_id: int) -> bytes:
    """A specimen certificate (样本) with the body's current logo and seal, for checking them."""
    require_org(actor, org_id, ADMIN, write=False)
    org = db.session.get(Organisation, org_id)
    sample = pdf.PrintedCertificate(
        number=numbers.format_number(org.certificate_prefix, local_today().year, 4, 1),
        holder_name="王小明", id_type_name=ID_TYPE_NAMES_ZH["resident_id"],
        id_number="110105199001011234", occupation_name="电工", work_type=NO_WORK_TYPE,
        level_name=LEVEL_NAMES[4], issued_on=local_today(), issuer_name=org.name,
        link=f"{base_url()}/verify", watermark=pdf.WATERMARKS["specimen"])
    return pdf.render_pdf([sample], _branding(org))


# --- Open Badges -----------------------------------------------------------------------------

def open_badge(actor: Actor, certificate_id: int) -> tuple[Certificate, str]:
    """The holder's valid certificate as an Open Badges 3.0 credential, signed as a VC-JWT with
    the body's current key."""
    cert = get_own_certificate(actor, certificate_id)
    if cert.status != "valid":
        raise Gone(gettext("This certificate is no longer valid."))
    org = db.session.get(Organisation, cert.org_id)
    key_row = keys.ensure_active_key(actor, org.id)
    loaded = keys.load_private_key(key_row.kid)
    facts = badges.BadgeFacts(
        number=cert.number, holder_name=cert.holder_name, occupation_code=cert.occupation_code,
        occupation_name=cert.occupation_name, work_type=cert.work_type, level=cert.level,
        level_name=cert.level_name, issued_on=cert.issued_on, issuer_code=org.code,
        issuer_name=cert.issuer_name)
    payload = badges.credential(facts, base_url(), current_app.config["DISPLAY_TIMEZONE"])
    return cert, badges.sign_credential(payload, loaded.private_key, loaded.kid)


def issuer_profile(code: str) -> dict:
    """The Open Badges issuer profile of a body, with its published keys."""
    org = db.session.scalar(select(Organisation).where(Organisation.code == code))
    if org is None:
        raise NotFound(gettext("No such assessment body."))
    published = db.session.scalars(select(SigningKey).where(SigningKey.org_id == org.id)
                                   .order_by(SigningKey.id))
    return {
        "@context": [badges.VC_CONTEXT, badges.OB_CONTEXT],
        "id": f"{base_url()}/issuers/{org.code}", "type": ["Profile"], "name": org.name,
        "url": base_url(),
        "jwks": {"keys": [keys.jwk_of(k, org) for k in published]},
    }


# --- public verification ---------------------------------------------------------------------

#: Outcomes of a verification, worst first where several could apply.
RESULTS = ("malformed", "unknown", "bad_signature", "revoked", "superseded", "valid")


@dataclass
class Verification:
    """What verifying a number (and perhaps a QR signature) found."""

    number: str
    #: One of ``RESULTS``.
    result: str
    #: ``valid``, ``invalid`` or ``not_checked`` (typed-in: no QR signature to check).
    signature: str = "not_checked"
    certificate: Certificate | None = None
    successor: Certificate | None = None
    #: The key that signed the link (when checked).
    key: SigningKey | None = None

    @property
    def found(self) -> bool:
        return self.certificate is not None and self.result in ("valid", "revoked", "superseded")

    @property
    def masked_id(self) -> str:
        return mask_to_last(self.certificate.holder_id_number) if self.certificate else ""


def _verifying_key(cert: Certificate, kid: str | None, signature: str | None) -> SigningKey | None:
    """The certificate's body's published key ``kid`` if ``signature`` signs the certificate's
    facts with it, else None."""
    if signing.check_link_parameters(kid, signature) is not None:
        return None
    found = keys.public_key_for(kid)
    if found is None or found[0].org_id != cert.org_id:
        return None
    public_key = signing.public_key_from_b64(found[0].public_key)
    return found[0] if signing.verify_certificate(public_key, kid, signed_facts(cert), signature) else None


def verify(number: str, kid: str | None = None, signature: str | None = None) -> Verification:
    """Verify a certificate by number, and the QR link's signature when ``kid``/``signature``
    are given (then the number must be exactly as issued; typed numbers are tidied).

    The stored record is checked against its own signature too, so a row altered in the
    database fails like a forged link.
    """
    signed = bool(kid or signature)
    number = (number or "").strip() if signed else numbers.normalise_typed(number)
    if not numbers.is_well_formed(number):
        return Verification(number=number[:40], result="malformed")
    cert = db.session.scalar(select(Certificate).where(Certificate.number == number))
    if cert is None:
        return Verification(number=number, result="unknown")
    outcome = Verification(number=number, result=cert.status, certificate=cert)
    if signed:
        outcome.key = _verifying_key(cert, kid, signature)
        outcome.signature = "valid" if outcome.key else "invalid"
    record_intact = (outcome.key is not None and (kid, signature) == (cert.kid, cert.signature)) \
        or _verifying_key(cert, cert.kid, cert.signature) is not None
    if outcome.signature == "invalid" or not record_intact:
        outcome.result = "bad_signature"
        return outcome
    if cert.superseded_by_id:
        outcome.successor = db.session.get(Certificate, cert.superseded_by_id)
    return outcome


def confirm_id_number(number: str, id_number: str) -> bool:
    """Whether ``id_number`` is the holder's: answers only yes or no."""
    cert = db.session.scalar(select(Certificate).where(
        Certificate.number == numbers.normalise_typed(number)))
    if cert is None or not id_number:
        return False
    typed = normalise_id_number(cert.holder_id_type, id_number)
    return hmac.compare_digest(typed.encode("utf-8"), cert.holder_id_number.encode("utf-8"))


def lookup(number: str, name: str) -> Verification:
    """Verify a paper copy by its number and the holder's name: both must match."""
    outcome = verify(number)
    if outcome.certificate is None or not same_name(outcome.certificate.holder_name, name):
        return Verification(number=outcome.number, result="no_match")
    return outcome


def verify_rows(rows: list[BulkRow]) -> list[BulkResult]:
    """Check the rows of a bulk list (one query for all of them)."""
    wanted = [r.number for r in rows if r.problem is None]
    found = {}
    for start in range(0, len(wanted), 500):
        found.update((c.number, c) for c in db.session.scalars(
            select(Certificate).where(Certificate.number.in_(wanted[start:start + 500]))))
    successor_ids = [c.superseded_by_id for c in found.values() if c.superseded_by_id]
    successors = dict(db.session.execute(select(Certificate.id, Certificate.number)
                                         .where(Certificate.id.in_(successor_ids))).all())
    results = []
    for row in rows:
        cert = found.get(row.number)
        if row.problem:
            results.append(BulkResult(row.row, row.number, row.name, "error", row.problem))
        elif cert is None:
            results.append(BulkResult(row.row, row.number, row.name, "unknown",
                                      gettext("No certificate has this number.")))
        elif not same_name(cert.holder_name, row.name):
            results.append(BulkResult(row.row, row.number, row.name, "name_mismatch",
                                      gettext("The name does not match this certificate.")))
        else:
            message = {
                "valid": gettext("Valid"),
                "revoked": gettext("Revoked on %(date)s", date=_local_date(cert.revoked_at)),
                "superseded": gettext("Superseded by %(number)s",
                                      number=successors.get(cert.superseded_by_id, "")),
            }[cert.status]
            results.append(BulkResult(row.row, row.number, row.name, cert.status, message,
                                      occupation=_occupation_text(cert), level_name=cert.level_name,
                                      issued_on=cert.issued_on.isoformat(), issuer=cert.issuer_name))
    return results


def bulk_workbook(results: list[BulkResult]) -> bytes:
    """The results of a bulk check as an Excel file (headers in the reader's language)."""
    headers = [gettext("Row"), gettext("Certificate number"), gettext("Holder's name"), gettext("Result"),
               gettext("Occupation"), gettext("Level"), gettext("Issued on"), gettext("Issued by")]
    return results_workbook(results, headers)


def _occupation_text(cert: Certificate) -> str:
    if cert.work_type and cert.work_type != NO_WORK_TYPE:
        return f"{cert.occupation_name}（{cert.work_type}）"
    return cert.occupation_name


def _local_date(moment) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])).date().isoformat()


def verification_json(outcome: Verification) -> dict:
    """The API's answer: the same facts as the public page, nothing more."""
    body = {"number": outcome.number, "result": outcome.result, "signature": outcome.signature}
    cert = outcome.certificate
    if outcome.found:
        body.update({
            "status": cert.status,
            "holder_name": cert.holder_name,
            "id_number_masked": outcome.masked_id,
            "occupation": {"code": cert.occupation_code, "name": cert.occupation_name},
            "work_type": cert.work_type,
            "level": cert.level,
            "level_name": cert.level_name,
            "issued_on": cert.issued_on.isoformat(),
            "issuer": {"name": cert.issuer_name},
            "revoked_on": _local_date(cert.revoked_at) or None,
            "superseded_by": outcome.successor.number if outcome.successor else None,
            "verify_url": f"{base_url()}/c/{cert.number}",
        })
        if outcome.key is not None:
            body["kid"] = outcome.key.kid
    return body
