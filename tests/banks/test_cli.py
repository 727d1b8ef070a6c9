"""``flask exam bank import`` and ``export``: summaries, every problem, exit codes."""
from __future__ import annotations

from sqlalchemy import func, select

from exam.banks.models import Item
from exam.extensions import db


def run(app, *args):
    return app.test_cli_runner().invoke(args=["exam", "bank", *map(str, args)])


def test_import_prints_a_summary_and_exits_0(app, org, tmp_path, small_yaml):
    path = tmp_path / "small.yaml"
    path.write_bytes(small_yaml)
    dry = run(app, "import", path, "--org", org.code, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "8 to import" in dry.output and "true_false     2" in dry.output and "nothing was saved" in dry.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Item)) == 0
    result = run(app, "import", path, "--org", org.code)
    assert result.exit_code == 0, result.output
    assert "Imported 8 items" in result.output and "1          基本要求" in result.output
    again = run(app, "import", path, "--org", org.code)
    assert again.exit_code == 0 and "Duplicates, not imported (8)" in again.output


def test_import_prints_every_problem_and_exits_1(app, org, tmp_path, small_yaml):
    path = tmp_path / "broken.yaml"
    path.write_bytes(small_yaml.replace(b"answer: C\n", b"answer: Q\n"))
    result = run(app, "import", path, "--org", org.code)
    assert result.exit_code == 1
    assert "line 29: The answer must be one of the option letters." in result.output
    assert "line 76: The answer must be one of the option letters." in result.output
    assert "Nothing was imported" in result.output
    mismatch = run(app, "import", tmp_path / "broken.yaml", "--org", org.code, "--occupation", "6-31-01-03")
    assert mismatch.exit_code == 1 and "6-31-01-03 was chosen" in mismatch.output


def test_unsupported_questions_and_skip(app, org, tmp_path, small_yaml):
    run(app, "import", _write(tmp_path, "small.yaml", small_yaml), "--org", org.code)
    sheet = _write(tmp_path, "more.csv", "题型,题干,答案\n判断,新的一题,对\n排序题,排一排,ABC\n".encode())
    refused = run(app, "import", sheet, "--org", org.code, "--occupation", "9-99-99-01", "--level", "5")
    assert refused.exit_code == 1 and "row 3: question type “排序题” is not supported" in refused.output
    assert "--skip-unsupported" in refused.output
    done = run(app, "import", sheet, "--org", org.code, "--occupation", "9-99-99-01", "--level", "5",
               "--skip-unsupported")
    assert done.exit_code == 0 and "Imported 1 items" in done.output


def test_export_writes_a_file_that_imports_again(app, org, tmp_path, small_yaml, factory):
    run(app, "import", _write(tmp_path, "small.yaml", small_yaml), "--org", org.code)
    out = tmp_path / "out.xlsx"
    result = run(app, "export", "--org", org.code, "--occupation", "9-99-99-01", "--level", 5, "--format", "xlsx", out)
    assert result.exit_code == 0, result.output
    factory.org("SECOND")
    again = run(app, "import", out, "--org", "SECOND")
    assert again.exit_code == 0 and "Imported 8 items" in again.output
    missing = run(app, "export", "--org", org.code, "--occupation", "9-99-99-01", "--level", 4, "--format", "yaml", "-")
    assert missing.exit_code == 1 and "has no bank" in missing.output
    assert run(app, "import", out, "--org", "NOPE").exit_code == 1


def _write(folder, name, data: bytes):
    path = folder / name
    path.write_bytes(data)
    return path
