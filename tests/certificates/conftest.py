"""Certificate test data: an assessment body, candidates with photos, an occupation, a session
whose results were published and whose publication period has ended, approved enrolments with
passed results. Rows are inserted directly (the sessions and scoring domains have their own
services and tests)."""
from __future__ import annotations

import functools
import io
import itertools
import shutil
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from PIL import Image, ImageDraw

from exam.accounts.models import Membership, Organisation, User
from exam.banks.models import Occupation
from exam.core.auth import Actor
from exam.core.clock import now_utc
from exam.core.files import store_file
from exam.extensions import db
from exam.scoring.models import Publication, Result
from exam.sessions.models import Enrolment, ExamSession

from ..factories import PASSWORD, resident_id

_codes = itertools.count(1)


@functools.lru_cache(maxsize=1)
def password_hash() -> str:
    """``PASSWORD`` hashed once: Argon2 takes 0.3 s a user, and these tests make many users."""
    from exam.accounts.passwords import hash_password

    return hash_password(PASSWORD)


def portrait_jpeg(seed: int = 0) -> bytes:
    """A passport-style photo: a face and shoulders on white (compresses like a real one)."""
    image = Image.new("RGB", (480, 640), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.ellipse((150, 110, 330, 330), fill=(226 - seed % 30, 190, 160))
    draw.rectangle((90, 380, 390, 640), fill=(40, 60 + seed % 60, 110))
    for y in range(0, 640, 3):  # fabric and skin texture
        draw.line((0, y, 480, y + (y * 7 + seed) % 11), fill=(255 - y % 9, 255 - y % 7, 255), width=1)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


@dataclass
class CertWorld:
    """Makes the rows a certificate needs; every method commits."""

    factory: object

    def org(self, code: str | None = None, **kw) -> Organisation:
        kw.setdefault("name", "示范技能人才评价中心")
        kw.setdefault("kind", "Y")
        kw.setdefault("body_code", "0001")
        kw.setdefault("province_code", "11")
        kw.setdefault("site_code", "010001")
        return self.factory.org(code, **kw)

    def user(self, org: Organisation | None, *roles: str, **kw) -> User:
        """Like ``factory.user`` (same password), without hashing it again for every user."""
        n = next(_codes)
        kw.setdefault("username", f"certuser{n}")
        kw.setdefault("real_name", f"测试用户{n}")
        kw.setdefault("phone", f"137{n:08d}")
        if "candidate" in roles:
            kw.setdefault("id_type", "resident_id")
            kw.setdefault("id_number", resident_id())
        user = User(password_hash=password_hash(), **kw)
        db.session.add(user)
        db.session.flush()
        for role in roles:
            db.session.add(Membership(user_id=user.id, org_id=org.id, role=role))
        db.session.commit()
        return user

    def admin(self, org: Organisation) -> User:
        return self.user(org, "admin")

    def actor(self, org: Organisation, user: User | None = None) -> Actor:
        user = user or self.admin(org)
        return Actor(user_id=user.id, org_id=org.id, roles=frozenset({"admin"}), label=user.username)

    def occupation(self, code: str = "6-31-01-03", name: str = "电工", work_types=()) -> Occupation:
        existing = db.session.query(Occupation).filter_by(code=code).one_or_none()
        if existing:
            return existing
        occupation = Occupation(code=code, name=name, levels=[5, 4, 3, 2, 1], work_types=list(work_types))
        db.session.add(occupation)
        db.session.commit()
        return occupation

    def session(self, org: Organisation, *, level: int = 4, occupation: Occupation | None = None,
                work_type: str | None = None, status: str = "results_published",
                publication_ended: bool = True) -> ExamSession:
        """A session; with status ``results_published`` also its publication (公示), whose period
        has ended (or, with ``publication_ended=False``, is still running)."""
        occupation = occupation or self.occupation()
        n = next(_codes)
        session = ExamSession(org_id=org.id, occupation_id=occupation.id, level=level, work_type=work_type,
                              name=f"{occupation.name}{level}级 第{n}批", code=f"{org.code}-2026-{n:02d}",
                              status=status)
        db.session.add(session)
        db.session.flush()
        if status == "results_published":
            now = now_utc()
            ends = now - timedelta(days=1) if publication_ended else now + timedelta(days=5)
            db.session.add(Publication(org_id=org.id, session_id=session.id, published_at=ends - timedelta(days=7),
                                       days=5, appeal_days=5, ends_at=ends, appeal_ends_at=ends))
        db.session.commit()
        return session

    def candidate(self, org: Organisation, name: str = "王小明", photo: bool = True, **kw) -> User:
        if photo:
            stored = store_file(portrait_jpeg(next(_codes)), "image/jpeg")
            db.session.flush()
            kw["photo_file_id"] = stored.id
        return self.user(org, "candidate", real_name=name, **kw)

    def enrol(self, session: ExamSession, user: User, status: str = "approved",
              passed: bool | None = True) -> Enrolment:
        """An enrolment; when approved in a session whose results are published, with its result
        (``passed``; None: no result)."""
        if not db.session.query(Membership).filter_by(user_id=user.id, org_id=session.org_id,
                                                     role="candidate").count():
            db.session.add(Membership(user_id=user.id, org_id=session.org_id, role="candidate"))
        enrolment = Enrolment(session_id=session.id, user_id=user.id, status=status,
                              components=["theory", "practical"])
        db.session.add(enrolment)
        db.session.flush()
        if status == "approved" and session.status == "results_published" and passed is not None:
            score = Decimal("82.50") if passed else Decimal("41.00")
            db.session.add(Result(org_id=session.org_id, session_id=session.id, enrolment_id=enrolment.id,
                                  user_id=user.id, components=["theory", "practical"],
                                  theory_score=score, practical_score=score, passed=passed))
        db.session.commit()
        return enrolment

    def enrolled(self, session: ExamSession, names) -> list[Enrolment]:
        org = db.session.get(Organisation, session.org_id)
        return [self.enrol(session, self.candidate(org, name)) for name in names]


@pytest.fixture
def world(factory) -> CertWorld:
    return CertWorld(factory)


@pytest.fixture
def issued(world):
    """A body, its admin's actor, a session and one valid certificate (王小明, 电工 level 4)."""
    from exam.certificates import services

    org = world.org("CERT")
    actor = world.actor(org)
    session = world.session(org)
    enrolment = world.enrol(session, world.candidate(org, "王小明"))
    [cert] = services.issue_for_session(actor, session.id, [enrolment.id])
    return org, actor, session, cert


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (scripts/system-packages.sh test installs it)")
    return path


def decode_qr_codes(png_path) -> list[str]:
    """Every QR code zbar finds in an image."""
    zbarimg = require_tool("zbarimg")
    done = subprocess.run([zbarimg, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(png_path)],
                          capture_output=True, text=True, timeout=60)
    return [line for line in done.stdout.splitlines() if line]


def pdf_page_png(pdf_bytes: bytes, tmp_path, resolution: int = 200, page: int = 1):
    pdftoppm = require_tool("pdftoppm")
    source = tmp_path / "page.pdf"
    source.write_bytes(pdf_bytes)
    subprocess.run([pdftoppm, "-png", "-r", str(resolution), "-f", str(page), "-l", str(page),
                    "-singlefile", str(source), str(tmp_path / "page")], check=True, timeout=60)
    return tmp_path / "page.png"


def pdf_text(pdf_bytes: bytes, tmp_path) -> str:
    pdftotext = require_tool("pdftotext")
    source = tmp_path / "text.pdf"
    source.write_bytes(pdf_bytes)
    return subprocess.run([pdftotext, "-enc", "UTF-8", str(source), "-"], capture_output=True,
                          text=True, check=True, timeout=60).stdout
