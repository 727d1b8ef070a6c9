from __future__ import annotations

import copy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from exam.core.errors import Conflict, NotFound, ValidationFailed
from exam.extensions import db
from exam.papers import practical, services
from exam.papers.models import PracticalSpec, PracticalSpecVersion

from .conftest import actor_for, occupation

DATA = Path(__file__).parent / "data"
BUNDLED = Path(__file__).resolve().parents[2] / "question_banks"


def good() -> bytes:
    return (DATA / "good.practical.yaml").read_bytes()


def test_good_file_loads_normalised():
    content, header, problems = practical.load_yaml(good())
    assert problems == []
    assert header == {"occupation": "6-31-01-03", "level": 4}
    assert content["choose"] == 1 and [t["code"] for t in content["tasks"]] == ["T1", "T2", "T3"]
    veto = content["tasks"][0]["sheet"][2]
    assert veto["veto"] is True and veto["veto_rule"].startswith("违反安全操作规程")
    assert content["tasks"][2]["sheet"][0]["max_points"] == 62.5
    assert content["tasks"][1]["required"] is False and content["tasks"][1]["minutes"] == 60


def test_bad_file_reports_every_problem_with_its_line():
    _, _, problems = practical.load_yaml((DATA / "bad.practical.yaml").read_bytes())
    found = {(p.location, p.message) for p in problems}
    assert ("line 3", "“level” must be a level number, 5 (basic) to 1 (senior technician).") in found
    assert ("line 20 (T1.2)", "A veto item (★) must say which breach fails the practical (“veto_rule”).") in found
    assert ("line 21 (T1.2)", "Item code T1.2 is used twice.") in found
    assert ("line 25 (T1.2)", "Unknown field “colour”.") in found
    assert ("line 23 (T1.2)", "“max_points” must be more than 0.") in found
    assert ("line 28 (T2)", "“weight” must be a number.") in found
    assert ("line 29 (T2)", "“minutes” must be a whole number.") in found
    assert ("line 30 (T2)", "A task needs a scoring sheet with at least one item.") in found


@pytest.mark.parametrize("change, expected", [
    (lambda c: c["tasks"][0]["sheet"][0].update(max_points=20),
     ("T1", "The sheet's maximum points add up to 90; a task is scored out of 100.")),
    (lambda c: c["tasks"][0].update(weight=50),
     ("tasks", "The weights of the required tasks and the chosen optional tasks add up to 90; "
               "they must add up to 100.")),
    (lambda c: c["tasks"][2].update(weight=30),
     ("tasks", "Optional tasks must have the same weight, so that any choice adds up to 100.")),
    (lambda c: c.update(choose=0),
     ("choose", "There are optional tasks (选考) but “choose” is 0: say how many each candidate takes.")),
    (lambda c: c.update(choose=3), ("choose", "Candidates choose 3 optional tasks but only 2 are listed.")),
    (lambda c: c["tasks"][0]["sheet"][2].update(veto=False),
     ("T1.3", "“veto_rule” is given but the item is not a veto item (veto: true).")),
    (lambda c: c["tasks"][1].update(code="T1"), ("T1", "Task code T1 is used twice.")),
])
def test_rules_of_the_editor_content(change, expected):
    content, _, _ = practical.load_yaml(good())
    broken = copy.deepcopy(content)
    change(broken)
    _, problems = practical.validate_content(broken)
    assert expected in {(p.location, p.message) for p in problems}
    assert practical.validate_content(content)[1] == []


def test_not_yaml_and_wrong_format_are_reported():
    _, _, problems = practical.load_yaml(b"tasks: [unclosed")
    assert problems and problems[0].message.startswith("The file is not valid YAML")
    _, _, problems = practical.load_yaml(good().replace(b"skillcert-practical/1", b"skillcert-bank/1"))
    assert problems[0].message == "The first line must be “format: skillcert-practical/1”."


def test_dump_round_trips():
    content, header, _ = practical.load_yaml(good())
    text = practical.dump_yaml(content, header["occupation"], header["level"])
    again, header_again, problems = practical.load_yaml(text.encode())
    assert problems == [] and again == content and header_again == header


@pytest.mark.parametrize("level", [5, 4])
def test_bundled_electrician_specs_are_valid(level):
    path = BUNDLED / "6-31-01-03" / f"{level}.practical.yaml"
    if not path.exists():
        pytest.skip(f"{path.name} is not bundled")
    content, problems = services.load_practical_spec_yaml(path.read_bytes())
    assert problems == [], [str(p) for p in problems]
    assert content["occupation"] == "6-31-01-03" and content["level"] == level
    assert any(item["veto"] for task in content["tasks"] for item in task["sheet"])


# --- services ----------------------------------------------------------------------------

def test_import_is_idempotent_and_saving_makes_immutable_versions(env, frozen_clock):
    occupation()
    db.session.commit()
    content, problems = services.load_practical_spec_yaml(good())
    first = services.import_practical_spec(env.editor_actor, env.org.id, "6-31-01-03", 4, content)
    again = services.import_practical_spec(env.editor_actor, env.org.id, "6-31-01-03", 4, content)
    assert again.id == first.id and first.version_no == 1
    edited = copy.deepcopy(first.content)
    edited["tasks"][0]["minutes"] = 180
    second = services.save_practical_spec_version(env.editor_actor, first.spec_id, edited)
    assert second.version_no == 2 and second.content["tasks"][0]["minutes"] == 180
    spec = db.session.get(PracticalSpec, first.spec_id)
    assert spec.current_version_id == second.id
    assert [v.version_no for v in services.practical_versions(spec)] == [2, 1]
    assert first.content["tasks"][0]["minutes"] == 150  # the old version did not change
    first.content = {"tasks": []}
    with pytest.raises(RuntimeError):
        db.session.flush()
    db.session.rollback()


def test_bad_content_saves_nothing_and_says_where(env):
    occupation()
    db.session.commit()
    content, _ = services.load_practical_spec_yaml(good())
    content["tasks"][1]["sheet"][0]["max_points"] = 10
    with pytest.raises(ValidationFailed) as caught:
        services.import_practical_spec(env.editor_actor, env.org.id, "6-31-01-03", 4, content)
    assert [(p.location, p.message) for p in caught.value.problems] == [
        ("T2", "The sheet's maximum points add up to 40; a task is scored out of 100.")]
    assert db.session.scalar(select(func.count(PracticalSpecVersion.id))) == 0
    with pytest.raises(ValidationFailed):
        services.import_practical_spec(env.editor_actor, env.org.id, "9-99-99-99", 4,
                                       services.load_practical_spec_yaml(good())[0])


def test_practical_specs_belong_to_their_organisation(env, factory):
    occupation()
    db.session.commit()
    version = services.import_practical_spec(env.editor_actor, env.org.id, "6-31-01-03", 4,
                                             services.load_practical_spec_yaml(good())[0])
    other = factory.org()
    stranger = actor_for(factory.user(other, "bank_editor"), other, "bank_editor")
    with pytest.raises(NotFound):
        services.get_practical_spec(stranger, version.spec_id)
    assert services.list_practical_specs(stranger) == []
    with pytest.raises(Conflict):
        services.create_practical_spec(env.editor_actor, env.org.id, "6-31-01-03", 4,
                                       services.load_practical_spec_yaml(good())[0])
