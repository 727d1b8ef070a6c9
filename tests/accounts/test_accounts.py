import io

import pytest
from sqlalchemy import func, select

from exam.accounts import services
from exam.accounts.models import Membership, User
from exam.core.audit import AuditEvent
from exam.core.files import StoredFile
from exam.extensions import db

from ..factories import PASSWORD, png_bytes, resident_id, sign_in
from ..conftest import make_test_app


def _registration(**overrides):
    data = {
        "real_name": "李小龙", "id_type": "resident_id", "id_number": resident_id("19920315"),
        "phone": "13912345678", "username": "", "education": "senior_secondary",
        "employer": "", "org_code": "", "password": "good-pass-1", "confirm": "good-pass-1",
        "pledge": "y",
    }
    data.update(overrides)
    return data


def test_candidate_registers_with_real_name_and_photo(client, factory):
    org = factory.org("REG")
    data = _registration(org_code="REG")
    data["photo"] = (io.BytesIO(png_bytes(400, 500)), "me.png")
    response = client.post("/register", data=data, content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")
    user = db.session.scalar(select(User).where(User.phone == "13912345678"))
    assert user.real_name == "李小龙" and user.birth_date.year == 1992
    assert user.password_hash.startswith("$argon2id$")
    photo = db.session.get(StoredFile, user.photo_file_id)
    assert photo.content_type == "image/jpeg" and photo.data[:2] == b"\xff\xd8"
    assert {(m.org_id, m.role) for m in user.memberships} == {(org.id, "candidate")}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.registered"))
    assert event.object_id == str(user.id) and event.org_id == org.id
    # Signed in straight away, and sees their own photo.
    assert client.get("/account").status_code == 200
    assert client.get(f"/photos/{user.id}").data == photo.data


def test_registration_reports_every_problem_next_to_its_field(client, app_ctx):
    bad_id = resident_id("19920315")[:-1] + ("0" if resident_id("19920315")[-1] != "0" else "1")
    data = _registration(id_number=bad_id, phone="12345", password="onlyletters", confirm="onlyletters")
    data["photo"] = (io.BytesIO(b"not an image at all"), "me.jpg")
    response = client.post("/register", data=data, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "校验码" in html  # check character
    assert "11 位" in html  # phone
    assert "组合" in html  # password mix
    assert "不是可识别的图片" in html  # photo
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_oversized_photo_is_refused(app_ctx):
    from exam.accounts.photos import PhotoRejected, normalise_photo

    with pytest.raises(PhotoRejected, match="2"):
        normalise_photo(b"x" * (2 * 1024 * 1024 + 1), 2 * 1024 * 1024)
    with pytest.raises(PhotoRejected):
        normalise_photo(png_bytes(50, 50), 2 * 1024 * 1024)


def test_duplicate_id_and_phone_are_refused(app_ctx, factory):
    number = resident_id("19800101")
    factory.user(None, id_type="resident_id", id_number=number, phone="13900001111")
    with pytest.raises(services.ValidationFailed) as excinfo:
        services.register_candidate(services.Registration(
            real_name="王五", id_type="resident_id", id_number=number, phone="13900001111",
            password="good-pass-1"), None, photo_max_bytes=1024)
    assert {p.location for p in excinfo.value.problems} == {"id_number", "phone"}


def test_sign_in_by_phone_or_username(client, factory):
    org = factory.org()
    user = factory.user(org, "admin", username="wangli", phone="13700001234")
    for login in ("wangli", "WangLi", "13700001234"):
        c = client.application.test_client()
        r = c.post("/login", data={"login": login, "password": PASSWORD})
        assert r.status_code == 302, login
        with c.session_transaction() as s:
            assert s["org_id"] == org.id and s["_user_id"] == user.get_id()


def test_wrong_password_does_not_say_which_part_was_wrong(client, factory):
    factory.user(None, username="zhao")
    for login, password in (("zhao", "wrong-pass-1"), ("nobody", PASSWORD)):
        r = client.post("/login", data={"login": login, "password": password})
        assert r.status_code == 200
        assert "手机号、用户名或密码不正确" in r.get_data(as_text=True)


def test_user_with_several_organisations_chooses_one(client, factory):
    a, b = factory.org("ORGA"), factory.org("ORGB")
    user = factory.user(a, "assessor")
    db.session.add(Membership(user_id=user.id, org_id=b.id, role="admin"))
    db.session.commit()
    r = client.post("/login", data={"login": user.username, "password": PASSWORD, "next": "/admin/people"})
    assert r.status_code == 302 and "/choose-organisation" in r.headers["Location"]
    assert client.get("/admin/people").status_code == 302  # acting for nobody yet
    page = client.get("/choose-organisation").get_data(as_text=True)
    assert a.name in page and b.name in page
    r = client.post("/choose-organisation", data={"org_id": b.id, "next": "/admin/people"})
    assert r.headers["Location"] == "/admin/people"
    assert client.get("/admin/people").status_code == 200  # admin in B
    client.post("/choose-organisation", data={"org_id": a.id})
    assert client.get("/admin/people").status_code == 403  # only assessor in A


def test_cannot_choose_an_organisation_one_is_not_a_member_of(client, factory):
    mine, other = factory.org(), factory.org()
    user = factory.user(mine, "admin")
    sign_in(client, user)
    assert client.post("/choose-organisation", data={"org_id": other.id}).status_code == 403


def test_sign_out_needs_post_and_ends_the_session(client, factory):
    user = factory.user(None)
    sign_in(client, user)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/account").status_code == 302


def test_open_redirects_are_refused(client, factory):
    factory.user(None, username="lin")
    r = client.post("/login", data={"login": "lin", "password": PASSWORD, "next": "//evil.example/x"})
    assert r.headers["Location"] == "/"


def test_language_choice_is_remembered_on_the_account(client, factory):
    user = factory.user(None)
    sign_in(client, user)
    assert "我的账号" in client.get("/account").get_data(as_text=True)
    client.post("/language", data={"lang": "en", "next": "/account"})
    assert "My account" in client.get("/account").get_data(as_text=True)
    db.session.refresh(user)
    assert user.locale == "en"
    # A new session on another device starts in the user's language after sign-in.
    other = client.application.test_client()
    other.post("/login", data={"login": user.username, "password": PASSWORD})
    assert "My account" in other.get("/account").get_data(as_text=True)


def test_anonymous_visitors_get_chinese_by_default_and_can_switch(client):
    assert "登录" in client.get("/login").get_data(as_text=True)
    client.post("/language", data={"lang": "en", "next": "/login"})
    assert "Sign in" in client.get("/login").get_data(as_text=True)


def test_password_change_signs_out_other_sessions(client, factory):
    user = factory.user(None)
    other = client.application.test_client()
    sign_in(client, user)
    sign_in(other, user)
    r = client.post("/account/password", data={"current_password": PASSWORD, "new_password": "new-pass-99",
                                               "confirm": "new-pass-99"})
    assert r.status_code == 302
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302  # old session version


def test_admin_adds_staff_and_changes_roles(client, factory):
    org = factory.org()
    admin = factory.user(org, "admin")
    sign_in(client, admin, org)
    r = client.post("/admin/people/new", data={"real_name": "钱七", "username": "qianqi", "phone": "",
                                                "password": "start-pass-1", "roles": ["assessor", "proctor"],
                                                "qualification_level": "3"})
    assert r.status_code == 302
    staff = db.session.scalar(select(User).where(User.username == "qianqi"))
    assert {m.role for m in staff.memberships} == {"assessor", "proctor"}
    assert next(m for m in staff.memberships if m.role == "assessor").qualification_level == 3
    client.post(f"/admin/people/{staff.id}", data={"roles": ["proctor"]})
    db.session.expire_all()
    assert {m.role for m in staff.memberships if m.active} == {"proctor"}
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert actions[-2:] == ["account.staff_created", "account.roles_changed"]


def test_admin_cannot_drop_their_own_admin_role(client, factory):
    org = factory.org()
    admin = factory.user(org, "admin")
    sign_in(client, admin, org)
    r = client.post(f"/admin/people/{admin.id}", data={"roles": ["proctor"]})
    assert "不能取消自己的管理员角色" in r.get_data(as_text=True)


def test_organisation_codes_are_validated(client, factory):
    org = factory.org()
    sign_in(client, factory.user(org, "admin"), org)
    r = client.post("/admin/organisation", data={"name": "新名称", "kind": "S", "body_code": "12ab",
                                                 "province_code": "99", "site_code": "12345a"})
    html = r.get_data(as_text=True)
    assert "4 位数字" in html and "两位省份代码" in html
    r = client.post("/admin/organisation", data={"name": "新名称", "kind": "S", "body_code": "0123",
                                                 "province_code": "44", "site_code": "123456"})
    assert r.status_code == 302
    db.session.refresh(org)
    assert org.certificate_prefix == "S012344123456"


# --- one organisation cannot see another's data ------------------------------------------------

def test_members_of_one_organisation_cannot_see_another(client, factory):
    a, b = factory.org("ISOA"), factory.org("ISOB")
    admin_a = factory.user(a, "admin")
    candidate_b = factory.user(b, "candidate", real_name="乙机构考生")
    stored = services.store_file(png_bytes(), "image/png")
    db.session.flush()
    candidate_b.photo_file_id = stored.id
    db.session.commit()
    sign_in(client, admin_a, a)
    people = client.get("/admin/people").get_data(as_text=True)
    assert "乙机构考生" not in people
    assert client.get(f"/photos/{candidate_b.id}").status_code == 404
    assert client.get(f"/admin/people/{candidate_b.id}").status_code == 404
    # The regulator reads across organisations.
    regulator = factory.regulator()
    reg_client = client.application.test_client()
    sign_in(reg_client, regulator)
    assert "乙机构考生" in reg_client.get(f"/admin/people?org={b.id}").get_data(as_text=True)
    assert reg_client.post("/admin/organisation", data={"name": "x"}).status_code == 403


def test_audit_trail_is_scoped_to_the_organisation(client, factory):
    a, b = factory.org("AUDA"), factory.org("AUDB")
    sup_a = factory.user(a, "supervisor")
    admin_b = factory.user(b, "admin")
    services.set_roles(services.Actor(user_id=admin_b.id, org_id=b.id, roles=frozenset({"admin"})),
                       b.id, admin_b.id, ["admin", "proctor"])
    sign_in(client, sup_a, a)
    page = client.get("/audit").get_data(as_text=True)
    assert "account.roles_changed" not in page


# --- security ------------------------------------------------------------------------------

def test_csrf_token_is_required(app, database, tmp_path):
    url, options = database
    app = make_test_app(url, options, WTF_CSRF_ENABLED=True, INSTANCE_PATH=str(tmp_path))
    client = app.test_client()
    r = client.post("/login", data={"login": "x", "password": "y"})
    assert r.status_code == 400
    assert "表单已过期" in r.get_data(as_text=True)


def test_login_is_rate_limited_with_a_clear_message(app, database, tmp_path):
    url, options = database
    app = make_test_app(url, options, RATE_LIMITS_ON=True, LOGIN_RATE_LIMIT="3 per minute",
                        INSTANCE_PATH=str(tmp_path))
    client = app.test_client()
    codes = [client.post("/login", data={"login": "x", "password": "wrong-1"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.post("/login", data={"login": "x", "password": "wrong-1"})
    assert "尝试次数过多" in r.get_data(as_text=True) and r.headers["Retry-After"]


def test_session_cookie_is_httponly_and_samesite(client, factory):
    factory.user(None, username="cookie")
    r = client.post("/login", data={"login": "cookie", "password": PASSWORD})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_an_initial_password_must_be_replaced_before_anything_else(client, factory):
    org = factory.org()
    user = factory.user(org, "candidate", username="rostered", must_change_password=True)
    r = client.post("/login", data={"login": "rostered", "password": PASSWORD, "next": "/account"})
    assert r.status_code == 302 and r.headers["Location"].startswith("/account/set-password")
    # Every other page sends back to the password form; JSON calls are refused.
    assert client.get("/account").headers["Location"].startswith("/account/set-password")
    assert client.post("/api/v1/anything", json={}).status_code == 403
    r = client.post("/account/set-password", data={"new_password": "mine-2026-x", "confirm": "mine-2026-x",
                                                   "next": "/account"})
    assert r.status_code == 302 and r.headers["Location"] == "/account"
    assert client.get("/account").status_code == 200
    db.session.refresh(user)
    assert user.must_change_password is False
    other = client.application.test_client()
    assert other.post("/login", data={"login": "rostered", "password": PASSWORD}).status_code == 200
    assert other.post("/login", data={"login": "rostered", "password": "mine-2026-x"}).status_code == 302
    # The form is only for passwords someone else set.
    assert "已经是您自己的密码" in client.post("/account/set-password", data={
        "new_password": "again-2026-y", "confirm": "again-2026-y"}).get_data(as_text=True)
