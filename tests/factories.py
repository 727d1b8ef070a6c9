"""Factories for test data: real rows through the models, with sensible defaults.

Use them inside an application context (the ``factory`` fixture provides one).
"""
from __future__ import annotations

import io
import itertools

from exam.accounts.idnumbers import resident_id_check_char
from exam.accounts.models import Membership, Organisation, User
from exam.accounts.passwords import hash_password
from exam.extensions import db

PASSWORD = "correct-horse-7"
_counter = itertools.count(1)


def resident_id(birth: str = "19900101", region: str = "110105", seq: str | None = None) -> str:
    seq = seq or f"{next(_counter) % 1000:03d}"
    first17 = region + birth + seq
    return first17 + resident_id_check_char(first17)


def png_bytes(width: int = 300, height: int = 400, color=(240, 240, 240)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


class Factory:
    """``factory.org()``, ``factory.user(org, "admin")`` … each commits and returns the row."""

    def org(self, code: str | None = None, **kw) -> Organisation:
        n = next(_counter)
        org = Organisation(code=code or f"ORG{n}", name=kw.pop("name", f"评价机构 {n}"),
                           kind=kw.pop("kind", "Y"), body_code=kw.pop("body_code", "0012"),
                           province_code=kw.pop("province_code", "44"),
                           site_code=kw.pop("site_code", "030001"), **kw)
        db.session.add(org)
        db.session.commit()
        return org

    def user(self, org: Organisation | None = None, *roles: str, password: str = PASSWORD,
             **kw) -> User:
        n = next(_counter)
        kw.setdefault("username", f"user{n}")
        kw.setdefault("real_name", f"测试用户{n}")
        kw.setdefault("phone", f"139{n:08d}")
        if "candidate" in roles:
            kw.setdefault("id_type", "resident_id")
            kw.setdefault("id_number", resident_id())
        qualification = kw.pop("qualification_level", None)
        user = User(password_hash=hash_password(password), **kw)
        db.session.add(user)
        db.session.flush()
        for role in roles:
            db.session.add(Membership(user_id=user.id, org_id=org.id, role=role,
                                      qualification_level=qualification if role == "assessor" else None))
        db.session.commit()
        return user

    def regulator(self, **kw) -> User:
        return self.user(None, is_regulator=True, **kw)


def sign_in(client, user: User, org: Organisation | None = None) -> None:
    """Put ``user`` in the test client's session, acting for ``org`` (without the login form)."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
        if org is not None:
            session["org_id"] = org.id
