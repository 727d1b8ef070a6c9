from __future__ import annotations

from sqlalchemy import select

from exam.extensions import db
from exam.papers import services
from exam.papers.models import Blueprint, PracticalSpec

from ..factories import sign_in as sign_in_user
from .conftest import occupation
from .test_practical import good


def sign_in(client, user, org=None, lang="en"):
    sign_in_user(client, user, org)
    with client.session_transaction() as session:
        session["lang"] = lang


def blueprint_form(**overrides) -> dict:
    data = {"name": "标准卷", "mode": "random", "duration_minutes": "100", "pass_mark": "60", "total_points": "100",
            "cover_all_x": "y", "shuffle_items": "y", "shuffle_options": "y"}
    rows = [("single", "40", "1", "一、单项选择题"), ("multiple", "20", "2", "三、多项选择题"),
            ("true_false", "20", "1", "二、判断题"), ("fill_blank", "", "", ""), ("short_answer", "", "", "")]
    for n, (qtype, count, points, title) in enumerate(rows):
        data.update({f"sections-{n}-qtype": qtype, f"sections-{n}-count": count, f"sections-{n}-points": points,
                     f"sections-{n}-title": title, f"sections-{n}-order": ""})
    for n, (code, share) in enumerate((("1.1", "10"), ("1.2", "20"), ("2.1", "40"), ("2.2", "30"))):
        data.update({f"shares-{n}-code": code, f"shares-{n}-percent": share})
    data.update(overrides)
    return data


def test_editor_creates_checks_and_samples_a_blueprint(env, client):
    sign_in(client, env.editor, env.org)
    page = client.get(f"/papers/banks/{env.bank.id}/blueprints/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="shares-0-percent"' in html and 'data-blueprint-form' in html
    response = client.post(f"/papers/banks/{env.bank.id}/blueprints/new", data=blueprint_form())
    assert response.status_code == 302
    blueprint = db.session.scalar(select(Blueprint))
    assert blueprint.status == "ready"
    assert [s["type"] for s in blueprint.spec["sections"]] == ["single", "multiple", "true_false"]
    assert blueprint.spec["area_shares"] == {"1.1": "10", "1.2": "20", "2.1": "40", "2.2": "30"}
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2.1 电工仪表" in detail
    sample = client.get(f"/papers/blueprints/{blueprint.id}/sample?seed=3").get_data(as_text=True)
    assert "meets it exactly" in sample and "seed 3" in sample
    assert client.get(f"/papers/banks/{env.bank.id}/blueprints").status_code == 200
    assert env.bank.name in client.get("/papers/blueprints").get_data(as_text=True)


def test_problems_are_shown_on_the_page(env, client):
    sign_in(client, env.editor, env.org)
    data = blueprint_form(**{"sections-0-count": "100", "shares-2-percent": "20"})
    response = client.post(f"/papers/banks/{env.bank.id}/blueprints/new", data=data, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "The sections add up to 160 points; the paper&#39;s total is 100." in html
    assert "The area shares add up to 80%; they must add up to 100%." in html
    assert db.session.scalar(select(Blueprint)).status == "draft"


def test_a_section_without_points_is_marked_at_its_row(env, client):
    sign_in(client, env.editor, env.org)
    response = client.post(f"/papers/banks/{env.bank.id}/blueprints/new",
                           data=blueprint_form(**{"sections-0-points": ""}))
    assert response.status_code == 200
    assert "Give the points per item." in response.get_data(as_text=True)
    assert db.session.scalar(select(Blueprint)) is None


def test_chinese_interface_shows_validation_in_chinese(env, client):
    sign_in(client, env.editor, env.org, lang="zh")
    data = blueprint_form(**{"sections-0-count": "90", "sections-2-count": "", "sections-1-count": "",
                             "shares-0-percent": "", "shares-1-percent": "", "shares-2-percent": "100",
                             "shares-3-percent": "", "sections-0-points": "1", "total_points": "90",
                             "d3": "50", "d4": "50"})
    html = client.post(f"/papers/banks/{env.bank.id}/blueprints/new", data=data,
                       follow_redirects=True).get_data(as_text=True)
    assert "鉴定范围 2.1 电工仪表 需要难度为 3–4 的单项选择题 90 道，题库只有 12 道。" in html


def test_locked_blueprints_cannot_be_edited_but_can_be_copied(env, client):
    sign_in(client, env.editor, env.org)
    client.post(f"/papers/banks/{env.bank.id}/blueprints/new", data=blueprint_form())
    blueprint = db.session.scalar(select(Blueprint))
    services.lock_blueprint(env.editor_actor, blueprint.id)
    response = client.post(f"/papers/blueprints/{blueprint.id}/edit", data=blueprint_form(name="改"))
    assert response.status_code == 409
    copy = client.post(f"/papers/blueprints/{blueprint.id}/copy")
    assert copy.status_code == 302 and "/edit" in copy.headers["Location"]


def test_regulator_reads_but_cannot_change(env, client, factory):
    services.create_blueprint(env.editor_actor, env.bank.id, services.BlueprintData("卷", services.default_spec_for_bank(env.bank.id)))
    blueprint = db.session.scalar(select(Blueprint))
    regulator = factory.regulator()
    sign_in(client, regulator)
    assert client.get(f"/papers/blueprints/{blueprint.id}").status_code == 200
    assert client.get("/papers/blueprints").status_code == 200
    assert client.post(f"/papers/blueprints/{blueprint.id}/validate").status_code == 403
    assert client.get(f"/papers/blueprints/{blueprint.id}/edit").status_code == 403


def test_practical_upload_edit_and_history(env, client):
    occupation()
    db.session.commit()
    sign_in(client, env.editor, env.org)
    response = client.post("/papers/practical/import", data={"file": (__import__("io").BytesIO(good()), "4.practical.yaml")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    spec = db.session.scalar(select(PracticalSpec))
    page = client.get(f"/papers/practical/{spec.id}").get_data(as_text=True)
    assert "违反安全操作规程" in page and "★" in page
    editor = client.get(f"/papers/practical/{spec.id}/edit").get_data(as_text=True)
    assert 'name="tasks-0-sheet-2-veto" value="y" checked' in editor
    form = {"choose": "1"}
    for t, task in enumerate(spec.current_version.content["tasks"]):
        form.update({f"tasks-{t}-code": task["code"], f"tasks-{t}-title": task["title"],
                     f"tasks-{t}-required": "1" if task["required"] else "0", f"tasks-{t}-weight": str(task["weight"]),
                     f"tasks-{t}-minutes": str(task["minutes"])})
        for i, item in enumerate(task["sheet"]):
            form.update({f"tasks-{t}-sheet-{i}-code": item["code"], f"tasks-{t}-sheet-{i}-description": item["description"],
                         f"tasks-{t}-sheet-{i}-max_points": str(item["max_points"]),
                         f"tasks-{t}-sheet-{i}-criteria": item["criteria"],
                         f"tasks-{t}-sheet-{i}-veto_rule": item["veto_rule"] or ""})
            if item["veto"]:
                form[f"tasks-{t}-sheet-{i}-veto"] = "y"
        form.update({f"tasks-{t}-sheet-9-code": "", f"tasks-{t}-sheet-9-max_points": ""})  # blank rows
    form["tasks-0-minutes"] = "140"
    assert client.post(f"/papers/practical/{spec.id}/edit", data=form).status_code == 302
    db.session.refresh(spec)
    assert spec.current_version.version_no == 2 and spec.current_version.content["tasks"][0]["minutes"] == 140
    form["tasks-0-sheet-0-max_points"] = "5"
    bad = client.post(f"/papers/practical/{spec.id}/edit", data=form)
    assert bad.status_code == 422
    assert "The sheet&#39;s maximum points add up to 75; a task is scored out of 100." in bad.get_data(as_text=True)
    assert client.get(f"/papers/practical/{spec.id}/versions/1").status_code == 200
    download = client.get(f"/papers/practical/{spec.id}/download")
    assert download.status_code == 200 and b"skillcert-practical/1" in download.data


def test_a_bad_upload_imports_nothing_and_lists_problems(env, client):
    sign_in(client, env.editor, env.org)
    from pathlib import Path

    bad = (Path(__file__).parent / "data" / "bad.practical.yaml").read_bytes()
    response = client.post("/papers/practical/import", data={"file": (__import__("io").BytesIO(bad), "bad.yaml")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert "line 28 (T2)" in response.get_data(as_text=True)
    assert db.session.scalar(select(PracticalSpec)) is None


def test_new_practical_spec_from_the_editor(env, client):
    occupation()
    db.session.commit()
    sign_in(client, env.editor, env.org)
    assert client.get("/papers/practical/new").status_code == 200
    form = {"occupation_code": "6-31-01-03", "level": "5", "choose": "0",
            "tasks-0-code": "T1", "tasks-0-title": "照明线路安装", "tasks-0-required": "1", "tasks-0-weight": "100",
            "tasks-0-minutes": "90",
            "tasks-0-sheet-0-code": "T1.1", "tasks-0-sheet-0-description": "安装", "tasks-0-sheet-0-max_points": "90",
            "tasks-0-sheet-0-criteria": "错一处扣 5 分",
            "tasks-0-sheet-1-code": "T1.2", "tasks-0-sheet-1-description": "安全", "tasks-0-sheet-1-max_points": "10",
            "tasks-0-sheet-1-criteria": "未戴手套扣 5 分", "tasks-0-sheet-1-veto": "y",
            "tasks-0-sheet-1-veto_rule": "触电即不合格",
            "tasks-1-code": "", "tasks-1-title": "", "tasks-1-weight": "", "tasks-1-minutes": ""}
    response = client.post("/papers/practical/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    spec = db.session.scalar(select(PracticalSpec))
    assert spec.level == 5 and len(spec.current_version.content["tasks"]) == 1
    assert spec.current_version.content["tasks"][0]["sheet"][1]["veto"] is True
