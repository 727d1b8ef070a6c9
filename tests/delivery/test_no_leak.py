"""Correct answers and explanations never reach the candidate, through any response of the exam."""
import json
from datetime import timedelta

from sqlalchemy import select

from exam.banks.interchange import OPTION_KEYS
from exam.banks.models import ItemVersion
from exam.extensions import db

from ..factories import sign_in
from .builders import SECRET_MARKERS, correct_display_answers
from .conftest import Sitting, page_state

FORBIDDEN_KEYS = {"answer", "answers_key", "correct", "key", "explanation", "o", "v", "fingerprint"}


def json_keys(value, found=None):
    found = set() if found is None else found
    if isinstance(value, dict):
        for k, v in value.items():
            found.add(k)
            json_keys(v, found)
    elif isinstance(value, list):
        for v in value:
            json_keys(v, found)
    return found


def assert_no_leak(response):
    body = response.get_data(as_text=True)
    for marker in SECRET_MARKERS:
        assert marker not in body, f"{response.request.path} leaks {marker}"
    if response.is_json:
        leaked = json_keys(response.json) & FORBIDDEN_KEYS
        assert not leaked, f"{response.request.path} has keys {leaked}"


def test_no_response_of_the_exam_carries_the_key(app, world, sitting, staff_client, frozen_clock):
    s = sitting(0)
    s.keep(s.client.get("/exam"))
    s.keep(s.client.get(f"/exam/enrolments/{s.enrolment.id}"))
    s.start()
    state = s.open_page()
    assert not (json_keys(state) & FORBIDDEN_KEYS - {"answers"})
    versions = {v.id: v for v in db.session.scalars(select(ItemVersion))}
    right = correct_display_answers(world.paper_of(s.enrolment), versions)
    # Saving the right answers (in display labels) is accepted and echoes none of them back.
    s.save(*[s.change(p, a if not isinstance(a, list) or p != 7 else ["x", "y"])
             for p, a in enumerate(right) if p != 8])
    s.status()
    s.client.post(f"/api/exam/attempts/{s.attempt_id}/signals", headers=s.headers(),
                  json={"events": [{"k": "copy", "ago": 1}]})
    s.keep(s.client.get(f"/exam/attempts/{s.attempt_id}/images/0"))
    other = Sitting(app.test_client(), world, 0, attempt_id=s.attempt_id)
    sign_in(other.client, s.user, world.org)
    other.open_page()
    other.claim(confirm=False)
    other.claim(confirm=True)
    s.save(s.change(0, "A"))  # the replaced device's refusal
    frozen_clock.advance(timedelta(minutes=31))
    other.submit()
    other.keep(other.client.get(f"/exam/attempts/{s.attempt_id}/done"))
    other.keep(other.client.get(f"/exam/attempts/{s.attempt_id}"))
    responses = s.responses + other.responses
    assert len(responses) >= 14
    for response in responses:
        assert_no_leak(response)
    proctor = staff_client(world.proctor)
    assert_no_leak(proctor.get(f"/api/supervision/rooms/{world.room.id}/board"))
    assert_no_leak(proctor.get(f"/api/supervision/enrolments/{s.enrolment.id}/incidents"))


def test_options_appear_in_the_papers_order_under_display_labels(world, sitting):
    s = sitting(0, start=True)
    html = s.client.get(f"/exam/attempts/{s.attempt_id}").get_data(as_text=True)
    paper = world.paper_of(s.enrolment)
    versions = {v.id: v for v in db.session.scalars(select(ItemVersion))}
    for position, entry in enumerate(paper.items):
        version = versions[entry["v"]]
        if version.type not in ("single", "multiple"):
            continue
        texts = {o["key"]: o["text"] for o in version.options}
        block = html.split(f'id="q{position}"', 1)[1].split("</article>", 1)[0]
        shown = [texts[key] for key in entry["o"]]
        assert [block.index(t) for t in shown] == sorted(block.index(t) for t in shown)
        for label, text in zip(OPTION_KEYS, shown):
            assert f'value="{label}"><span class="opt-key">{label}</span><span class="opt-text">{text}' in block


def test_the_exam_page_follows_the_content_security_policy(world, sitting):
    s = sitting(0, start=True)
    response = s.client.get(f"/exam/attempts/{s.attempt_id}")
    html = response.get_data(as_text=True)
    assert "style=" not in html and " onclick" not in html and "<script>" not in html
    assert "http://" not in html and "https://" not in html
    assert response.headers["Cache-Control"] == "no-store"
    state = page_state(response)
    assert state["remaining_ms"] == 60 * 60 * 1000 and state["items"] == 9
    text = json.loads(html.split('id="exam-text">', 1)[1].split("</script>", 1)[0])
    assert text["urls"]["save"] == f"/api/exam/attempts/{s.attempt_id}/save"


def test_the_exam_never_even_reads_the_key(app, world, sitting, frozen_clock, monkeypatch):
    """Item versions are read column by column, without ``answer`` and ``explanation``
    (scoring, which runs after the hand-in on the server, is left out here)."""
    from exam.delivery import services

    from .conftest import StatementCounter

    monkeypatch.setattr(services, "_score_after_commit", lambda attempt_id: None)

    with StatementCounter(db.engine) as counter:
        s = sitting(0, start=True)
        s.open_page()
        s.save(s.change(0, "A"))
        frozen_clock.advance(timedelta(minutes=31))
        s.submit()
        s.client.get(f"/exam/attempts/{s.attempt_id}/done")
    reads = [q for q in counter.statements if "item_versions" in q]
    assert reads, "the exam reads item versions"
    for statement in reads:
        assert "item_versions.answer" not in statement and "item_versions.explanation" not in statement
