"""The pages and the API, through the test client: public verification, admin and candidate pages."""
from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import Workbook, load_workbook

from exam.certificates import keys, services
from exam.certificates.branding import specimen_seal
from exam.certificates.models import Certificate
from exam.extensions import db, limiter

from ..factories import png_bytes, sign_in

BASE = "https://verify.example.test"


def _path(url: str) -> str:
    assert url.startswith(BASE)
    return url[len(BASE):]


def _html(response) -> str:
    return response.get_data(as_text=True)


def test_the_qr_link_shows_a_valid_certificate_with_the_id_masked(client, issued):
    org, actor, session, cert = issued
    response = client.get(_path(services.link(cert)))
    page = _html(response)
    assert response.status_code == 200
    assert "verdict-ok" in page and cert.holder_name in page and "电工" in page and "四级/中级工" in page
    assert "*" * 14 + cert.holder_id_number[-4:] in page
    assert cert.holder_id_number not in page
    assert response.headers["X-Robots-Tag"].startswith("noindex")
    assert '<meta name="robots" content="noindex' in page
    # Typed in (no k/s): shown, but the page says the QR signature was not checked.
    typed = client.get(f"/c/{cert.number[:6]} {cert.number[6:].lower()}")
    assert typed.status_code == 200 and "verdict-ok" in _html(typed)
    assert services.verify(cert.number).signature == "not_checked"


@pytest.mark.parametrize("tamper", [
    lambda u: u[:-1] + ("B" if u[-1] != "B" else "C"),            # last signature character
    lambda u: u.replace("&s=", "&s=A", 1)[:-1],                   # shifted signature
    lambda u: u.replace("?k=", "?k=a", 1).replace("&s", "x&s", 1),  # other kid shape
    lambda u: u[:u.index("?k=") + 3] + "aaaaaaaa" + u[u.index("&s="):],  # unknown kid
    lambda u: u + "==",                                           # padding
    lambda u: u[:u.index("&s=") + 3] + "!!" + u[u.index("&s=") + 5:],  # not base64url
    lambda u: u.replace("/c/Y", "/c/y", 1),                       # number case
    lambda u: u.replace("000001?", "000002?", 1),                 # another number (unknown)
    lambda u: u.replace("/c/Y0001", "/c/Y00X1", 1),               # malformed number
])
def test_tampered_links_are_refused_with_a_message(client, issued, tamper):
    org, actor, session, cert = issued
    response = client.get(_path(tamper(services.link(cert))))
    page = _html(response)
    assert response.status_code in (400, 404, 422)
    assert "verdict-bad" in page or "verdict-none" in page
    assert cert.holder_name not in page  # nothing about the holder on a refused link
    api = client.get("/api/v1/certificates/" + _path(tamper(services.link(cert)))[3:])
    assert api.status_code in (400, 404, 422) and api.json["result"] != "valid"
    assert "holder_name" not in api.json


def test_a_key_of_another_body_does_not_sign_for_this_one(client, issued, world):
    org, actor, session, cert = issued
    other = world.org("OTHERKEY", site_code="020002")
    other_key = keys.ensure_active_key(world.actor(other), other.id)
    link = services.link(cert).replace(f"k={cert.kid}", f"k={other_key.kid}")
    assert client.get(_path(link)).status_code == 422


def test_a_record_altered_in_the_database_fails_its_signature(client, issued):
    org, actor, session, cert = issued
    db.session.execute(Certificate.__table__.update().where(Certificate.id == cert.id)
                       .values(holder_name="李鬼"))
    db.session.commit()
    assert services.verify(cert.number).result == "bad_signature"
    assert client.get(f"/c/{cert.number}").status_code == 422


def test_revoked_and_superseded_pages(client, issued, world):
    org, actor, session, cert = issued
    other, = world.enrolled(session, ["李娜"])
    second, = services.issue_for_session(actor, session.id, [other.id])
    services.revoke_certificate(actor, cert.id, "违规")
    page = _html(client.get(_path(services.link(cert))))
    assert "verdict-bad" in page and cert.holder_name in page and "违规" not in page
    new = services.reissue_certificate(actor, second.id, "姓名更正")
    response = client.get(_path(services.link(second)))
    assert "verdict-warn" in _html(response) and f"/c/{new.number}" in _html(response)
    assert client.get(_path(services.link(new))).status_code == 200


def test_confirming_the_id_number_answers_only_yes_or_no(client, issued):
    org, actor, session, cert = issued
    url = f"/c/{cert.number}/confirm-id"
    yes = _html(client.post(url, data={"id_number": cert.holder_id_number.lower()}))
    assert "answer-yes" in yes and cert.holder_id_number not in yes
    no = _html(client.post(url, data={"id_number": "110105199001011234"}))
    assert "answer-no" in no and "110105199001011234" not in no


def test_confirming_the_id_number_is_rate_limited(app, client, issued):
    org, actor, session, cert = issued
    app.config.update(RATE_LIMITS_ON=True, CERTIFICATE_CONFIRM_RATE_LIMIT="2 per minute")
    try:
        codes = [client.post(f"/c/{cert.number}/confirm-id", data={"id_number": "x"}).status_code
                 for _ in range(3)]
    finally:
        app.config.update(RATE_LIMITS_ON=False)
        app.config.pop("CERTIFICATE_CONFIRM_RATE_LIMIT")
        limiter.reset()
    assert codes == [200, 200, 429]


def test_the_api_gives_the_same_facts(client, issued):
    org, actor, session, cert = issued
    body = client.get("/api/v1/certificates/" + _path(services.link(cert))[3:]).json
    assert body["result"] == "valid" and body["signature"] == "valid" and body["kid"] == cert.kid
    assert body["holder_name"] == "王小明" and body["id_number_masked"].endswith(cert.holder_id_number[-4:])
    assert body["occupation"] == {"code": "6-31-01-03", "name": "电工"}
    assert (body["level"], body["level_name"], body["work_type"]) == (4, "四级/中级工", "--")
    assert cert.holder_id_number not in json.dumps(body, ensure_ascii=False)
    typed = client.get(f"/api/v1/certificates/{cert.number}").json
    assert typed["signature"] == "not_checked"
    assert client.get("/api/v1/certificates/Y000111010001264999999").status_code == 404
    assert client.get("/api/v1/certificates/NOPE").json["result"] == "malformed"


def test_jwks_publishes_current_and_retired_keys(client, issued):
    org, actor, session, cert = issued
    first = cert.kid
    keys.rotate_key(actor, org.id)
    response = client.get("/.well-known/jwks.json")
    published = {k["kid"]: k for k in response.json["keys"]}
    assert set(published) == {first, keys.active_key_row(org.id).kid}
    entry = published[first]
    assert {k: entry[k] for k in ("kty", "crv", "use", "alg", "status", "org")} == {
        "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "status": "retired", "org": org.code}
    assert len(entry["x"]) == 43 and "d" not in entry
    # Certificates signed by the retired key still verify.
    assert client.get(_path(services.link(cert))).status_code == 200


def test_lookup_needs_the_number_and_the_name(client, issued):
    org, actor, session, cert = issued
    found = _html(client.get("/verify", query_string={"number": cert.number, "name": "王 小明"}))
    assert "verdict-ok" in found and "*" * 14 in found
    wrong = _html(client.get("/verify", query_string={"number": cert.number, "name": "王大明"}))
    assert "verdict-none" in wrong and "*" * 14 not in wrong and "cert-facts" not in wrong
    assert client.get("/verify").status_code == 200


def _csv(rows) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def test_bulk_verification_reports_each_row(client, issued, world):
    org, actor, session, cert = issued
    other, = world.enrolled(session, ["李娜"])
    revoked, = services.issue_for_session(actor, session.id, [other.id])
    services.revoke_certificate(actor, revoked.id, "违规")
    rows = [["证书编号", "姓名"], [cert.number, "王小明"], [revoked.number, "李娜"], [cert.number, "张三"],
            ["Y000111010001264999999", "王五"], ["not-a-number", "赵六"], ["", "钱七"]]
    response = client.post("/verify/bulk", data={"file": (io.BytesIO(_csv(rows)), "list.csv")},
                           content_type="multipart/form-data")
    page = _html(response)
    assert response.status_code == 200
    for result in ("result-valid", "result-revoked", "result-name_mismatch", "result-unknown", "result-error"):
        assert result in page
    assert page.count("result-error") == 2
    book = Workbook()
    for row in [["number", "Name"], [cert.number, "王小明"], [revoked.number, "李娜"]]:
        book.active.append(row)
    data = io.BytesIO()
    book.save(data)
    response = client.post("/verify/bulk", data={"file": (io.BytesIO(data.getvalue()), "list.xlsx"),
                                                  "format": "xlsx"}, content_type="multipart/form-data")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == [cert.number, revoked.number]
    assert rows[1][0] == 2 and rows[1][4] == "电工"


def test_bulk_verification_refuses_unreadable_files_with_a_message(client):
    for name, data in (("list.xlsx", b"PK\x03\x04 not really"), ("list.csv", _csv([["a", "b"], ["1", "2"]])),
                       ("list.pdf", b"%PDF-1.4")):
        response = client.post("/verify/bulk", data={"file": (io.BytesIO(data), name)},
                               content_type="multipart/form-data")
        assert response.status_code == 200 and "alert-error" in _html(response)


def test_admin_pages_revoke_reissue_and_download(client, issued, world):
    org, actor, session, cert = issued
    from exam.accounts.models import User

    sign_in(client, db.session.get(User, actor.user_id), org)
    listing = _html(client.get("/certificates"))
    assert cert.number in listing and "王小明" in listing
    assert cert.number in _html(client.get("/certificates", query_string={"q": "王小"}))
    detail = _html(client.get(f"/certificates/{cert.id}"))
    assert cert.holder_id_number in detail  # the body's admins see the full number
    document = client.get(f"/certificates/{cert.id}/pdf")
    assert document.mimetype == "application/pdf" and document.data.startswith(b"%PDF")
    assert "Cache-Control" in document.headers and "no-store" in document.headers["Cache-Control"]
    assert client.post(f"/certificates/{cert.id}/reissue", data={"reissue-reason": ""}).status_code == 302
    assert db.session.get(Certificate, cert.id).status == "valid"  # no reason, no reissue
    response = client.post(f"/certificates/{cert.id}/reissue", data={"reissue-reason": "照片更换"})
    new = db.session.query(Certificate).filter_by(supersedes_id=cert.id).one()
    assert response.headers["Location"].endswith(f"/certificates/{new.id}")
    client.post(f"/certificates/{new.id}/revoke", data={"revoke-reason": "证书作废"})
    db.session.expire_all()
    assert db.session.get(Certificate, new.id).status == "revoked"


def test_session_page_issues_and_downloads_the_batch(client, world):
    org = world.org("SESS")
    admin = world.admin(org)
    session = world.session(org)
    world.enrolled(session, ["王小明", "李娜"])
    sign_in(client, admin, org)
    assert "SESS-" in _html(client.get("/certificates/sessions"))
    page = _html(client.get(f"/certificates/sessions/{session.id}"))
    assert f"/certificates/sessions/{session.id}/issue" in page
    client.post(f"/certificates/sessions/{session.id}/issue")
    assert db.session.query(Certificate).count() == 2
    batch = client.get(f"/certificates/sessions/{session.id}/pdf")
    assert batch.data.count(b"/Type /Page/") == 2
    assert services.issuable_enrolment_ids(session.id) == []


def test_candidates_download_their_own_certificates_only(client, issued, world):
    org, actor, session, cert = issued
    from exam.accounts.models import User

    holder = db.session.get(User, cert.holder_user_id)
    sign_in(client, holder, org)
    page = _html(client.get("/my/certificates"))
    assert cert.number in page
    assert client.get(f"/my/certificates/{cert.id}/pdf").data.startswith(b"%PDF")
    token = client.get(f"/my/certificates/{cert.id}/badge")
    assert token.mimetype == "application/vc+jwt" and token.data.count(b".") == 2
    stranger = world.candidate(org, "路人")
    sign_in(client, stranger, org)
    assert client.get(f"/my/certificates/{cert.id}/pdf").status_code == 404
    assert client.get(f"/my/certificates/{cert.id}/badge").status_code == 404
    assert cert.number not in _html(client.get("/my/certificates"))


def test_another_body_admin_gets_not_found(client, issued, world):
    org, actor, session, cert = issued
    other = world.org("ELSEWHERE", site_code="030003")
    sign_in(client, world.admin(other), other)
    for url in (f"/certificates/{cert.id}", f"/certificates/{cert.id}/pdf",
                f"/certificates/sessions/{session.id}", f"/certificates/sessions/{session.id}/pdf"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/certificates/{cert.id}/revoke", data={"revoke-reason": "x"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Certificate, cert.id).status == "valid"
    assert cert.number not in _html(client.get("/certificates"))


def test_branding_takes_a_transparent_seal_and_refuses_an_opaque_one(client, world):
    org = world.org("BRAND")
    sign_in(client, world.admin(org), org)
    opaque = client.post("/certificates/branding", data={"seal": (io.BytesIO(png_bytes()), "seal.png")},
                         content_type="multipart/form-data")
    assert opaque.status_code == 200 and "has-error" in _html(opaque)  # on the seal field
    seal = specimen_seal(org.name)
    saved = client.post("/certificates/branding", data={"seal": (io.BytesIO(seal), "seal.png"),
                                                         "logo": (io.BytesIO(png_bytes(400, 200)), "logo.png")},
                        content_type="multipart/form-data")
    assert saved.status_code == 302
    db.session.refresh(org)
    assert org.seal_file_id and org.logo_file_id
    assert client.get("/certificates/branding/seal.png").mimetype == "image/png"
    assert client.get("/certificates/branding/specimen.pdf").data.startswith(b"%PDF")
