"""Issuing, revoking and reissuing through the services: numbers, snapshots, rules, audit."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from exam.certificates import keys, numbers, services, signing
from exam.certificates.models import Certificate, CertificateSerial
from exam.certificates.services import IssueRequest
from exam.core.audit import AuditEvent
from exam.core.auth import Actor
from exam.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from exam.core.clock import now_utc
from exam.extensions import db


def test_batch_issue_numbers_snapshot_and_signature(world, frozen_clock):
    org = world.org("NUM", kind="S", body_code="0123", province_code="44", site_code="030001")
    actor = world.actor(org)
    session = world.session(org, level=4)
    enrolments = world.enrolled(session, ["王小明", "李娜", "张伟"])
    issued = services.issue_for_session(actor, session.id, [e.id for e in enrolments])

    assert [c.number for c in issued] == [
        "S012344030001264000001", "S012344030001264000002", "S012344030001264000003"]
    assert all(numbers.is_well_formed(c.number) and len(c.number) == 22 for c in issued)
    first = issued[0]
    assert first.issued_on == date(2026, 3, 2)  # 09:00 in Beijing on the frozen Monday
    assert (first.holder_name, first.holder_id_type, first.issuer_name) == ("王小明", "resident_id", org.name)
    assert (first.occupation_code, first.occupation_name, first.work_type) == ("6-31-01-03", "电工", "--")
    assert (first.level, first.level_name, first.status) == (4, "四级/中级工", "valid")
    assert first.holder_photo_file_id is not None
    # The signature covers the documented canonical string and verifies with the published key.
    key = keys.active_key_row(org.id)
    message = f"SC1|{key.kid}|{first.number}|王小明|6-31-01-03|4|2026-03-02"
    assert signing.verify(signing.public_key_from_b64(key.public_key), message, first.signature)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "certificate.issued")).all()
    assert sorted(e.details["number"] for e in events) == [c.number for c in issued]


def test_serials_count_per_year_and_level_without_gaps(world, frozen_clock):
    org = world.org("SER")
    actor = world.actor(org)
    level4, level3 = world.session(org, level=4), world.session(org, level=3)
    a, b = world.enrolled(level4, ["甲一", "乙二"])
    [c] = world.enrolled(level3, ["丙三"])
    d, = world.enrolled(world.session(org, level=4), ["丁四"])
    issued = services.issue_certificates(actor, org.id, [
        IssueRequest(a.id, date(2026, 12, 31)), IssueRequest(c.id, date(2026, 12, 31)),
        IssueRequest(b.id, date(2027, 1, 1)), IssueRequest(d.id, date(2026, 12, 31))])
    assert [x.number[13:] for x in issued] == ["264000001", "263000001", "274000001", "264000002"]
    counters = {(r.year, r.level): r.last_serial for r in db.session.scalars(select(CertificateSerial))}
    assert counters == {(26, 4): 2, (26, 3): 1, (27, 4): 1}


def test_all_or_nothing_with_a_problem_per_enrolment(world):
    org = world.org("AON")
    actor = world.actor(org)
    session = world.session(org)
    good = world.enrol(session, world.candidate(org, "王小明"))
    no_photo = world.enrol(session, world.candidate(org, "无照片", photo=False))
    pending = world.enrol(session, world.candidate(org, "待审核"), status="applied")
    piped = world.enrol(session, world.candidate(org, "A|B"))
    with pytest.raises(ValidationFailed) as failure:
        services.issue_for_session(actor, session.id, [good.id, no_photo.id, pending.id, piped.id])
    assert len(failure.value.problems) == 3
    text = " ".join(str(p) for p in failure.value.problems)
    assert "photo" in text and "not approved" in text and "cannot be printed" in text
    assert db.session.scalar(select(Certificate.id)) is None
    assert db.session.scalar(select(CertificateSerial.last_serial)) is None  # no serial was taken


def test_one_valid_certificate_per_enrolment(issued, world):
    org, actor, session, cert = issued
    with pytest.raises(ValidationFailed, match="No certificate was issued"):
        services.issue_certificates(actor, org.id, [IssueRequest(cert.enrolment_id, date(2026, 5, 1))])
    assert services.issuable_enrolment_ids(session.id) == []


def test_issuable_enrolments_are_final_passes_without_certificates(world):
    from exam.scoring.models import Appeal, Result

    org = world.org("ISS")
    published = world.session(org)
    ok, appealing = world.enrolled(published, ["王小明", "复核中"])
    world.enrol(published, world.candidate(org, "未通过"), passed=False)
    world.enrol(published, world.candidate(org, "驳回"), status="rejected")
    result = db.session.scalar(select(Result).where(Result.enrolment_id == appealing.id))
    db.session.add(Appeal(org_id=org.id, session_id=published.id, result_id=result.id,
                          user_id=result.user_id, reason="合分有误", filed_at=now_utc(),
                          due_at=now_utc() + timedelta(days=14)))
    db.session.commit()
    still_published = world.session(org, publication_ended=False)
    world.enrolled(still_published, ["公示中"])
    unpublished = world.session(org, status="finished")
    world.enrolled(unpublished, ["未公示"])
    assert services.issuable_enrolment_ids(published.id) == [ok.id]
    assert services.issuable_enrolment_ids(still_published.id) == []
    assert services.issuable_enrolment_ids(unpublished.id) == []


def test_batch_issuing_refuses_results_that_are_not_final(world):
    org = world.org("FIN")
    actor = world.actor(org)
    session = world.session(org, publication_ended=False)
    [during_publication] = world.enrolled(session, ["公示期内"])
    with pytest.raises(ValidationFailed) as failure:
        services.issue_for_session(actor, session.id, [during_publication.id])
    assert "publication period" in str(failure.value.problems[0])
    assert db.session.scalar(select(Certificate.id)) is None


def test_revoke_needs_a_reason_and_happens_once(issued):
    org, actor, session, cert = issued
    with pytest.raises(ValidationFailed):
        services.revoke_certificate(actor, cert.id, "   ")
    services.revoke_certificate(actor, cert.id, "证书信息与档案不符")
    assert (cert.status, cert.revoked_reason, cert.revoked_by) == ("revoked", "证书信息与档案不符", actor.user_id)
    with pytest.raises(Conflict):
        services.revoke_certificate(actor, cert.id, "again")
    with pytest.raises(Conflict):
        services.reissue_certificate(actor, cert.id, "too late")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.revoked"))
    assert event.details == {"number": cert.number, "reason": "证书信息与档案不符"}


def test_reissue_takes_the_corrected_name_and_supersedes(issued, frozen_clock):
    org, actor, session, old = issued
    from exam.accounts.models import User

    holder = db.session.get(User, old.holder_user_id)
    holder.real_name = "王晓明"
    db.session.commit()
    new = services.reissue_certificate(actor, old.id, "姓名更正")
    assert new.number != old.number and new.number.endswith("000002")
    assert (new.holder_name, new.supersedes_id, new.status) == ("王晓明", old.id, "valid")
    assert (old.status, old.superseded_by_id, old.superseded_reason) == ("superseded", new.id, "姓名更正")
    assert old.holder_name == "王小明"  # the old snapshot never changes
    outcome = services.verify(old.number)
    assert outcome.result == "superseded" and outcome.successor.number == new.number
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert actions[-2:] == ["certificate.superseded", "certificate.issued"]


def test_certificates_are_never_deleted_and_never_rewritten(issued):
    org, actor, session, cert = issued
    db.session.delete(cert)
    with pytest.raises(RuntimeError, match="never deleted"):
        db.session.flush()
    db.session.rollback()
    cert = db.session.get(Certificate, cert.id)
    cert.holder_name = "李鬼"
    with pytest.raises(RuntimeError, match="cannot change holder_name"):
        db.session.flush()
    db.session.rollback()
    key = keys.active_key_row(org.id)
    db.session.delete(key)
    with pytest.raises(RuntimeError, match="never deleted"):
        db.session.flush()
    db.session.rollback()


def test_other_bodies_cannot_see_or_change_certificates(issued, world):
    org, actor, session, cert = issued
    other = world.org("OTHER", site_code="020002")
    intruder = world.actor(other)
    for call in (lambda: services.get_certificate(intruder, cert.id),
                 lambda: services.revoke_certificate(intruder, cert.id, "x"),
                 lambda: services.reissue_certificate(intruder, cert.id, "x"),
                 lambda: services.issue_for_session(intruder, session.id, [cert.enrolment_id]),
                 lambda: services.session_certificates(intruder, session.id)):
        with pytest.raises(NotFound):
            call()
    assert services.list_certificates(intruder, other.id).total == 0
    with pytest.raises(NotFound):
        services.list_certificates(intruder, org.id)
    # Same body, wrong role.
    proctor = world.factory.user(org, "proctor")
    with pytest.raises(PermissionDenied):
        services.revoke_certificate(Actor(user_id=proctor.id, org_id=org.id, roles=frozenset({"proctor"})),
                                    cert.id, "x")
    assert cert.status == "valid"


def test_the_regulator_reads_but_does_not_act(issued, world):
    org, actor, session, cert = issued
    regulator = world.factory.regulator()
    reader = Actor(user_id=regulator.id, is_regulator=True)
    assert services.get_certificate(reader, cert.id) is cert
    assert services.list_certificates(reader, org.id).total == 1
    with pytest.raises(NotFound):
        services.revoke_certificate(reader, cert.id, "x")


def test_search_and_status_filter(issued, world):
    org, actor, session, cert = issued
    other, = world.enrolled(session, ["李娜"])
    second, = services.issue_for_session(actor, session.id, [other.id])
    services.revoke_certificate(actor, second.id, "撤销")
    assert services.list_certificates(actor, org.id, q="李").certificates == [second]
    assert services.list_certificates(actor, org.id, q=cert.number[:18]).total == 2
    assert services.list_certificates(actor, org.id, q=cert.holder_id_number).certificates == [cert]
    page = services.list_certificates(actor, org.id, status="revoked")
    assert page.certificates == [second] and page.counts == {"valid": 1, "revoked": 1}
