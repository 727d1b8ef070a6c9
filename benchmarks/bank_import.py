"""How long importing a large question bank takes, through the real import service.

    .venv/bin/python benchmarks/bank_import.py [--items 10000] [--database-url URL]

Generates a bank of ``--items`` items (all five question types, Chinese text, a tree of
5 areas × 6 sub-areas × 8 assessment points), writes it as SkillCert YAML and as an Excel
workbook, and imports each into a fresh database (SQLite in a temporary folder unless
``--database-url`` names another, e.g. PostgreSQL). Prints the file sizes, the time to
parse each file alone, and the time of the whole import (parse, checks, duplicate
detection, inserts, one commit). The target is under 10 s per import on a 2-core machine.

Measured figures are recorded at the end of this file.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from exam.banks.interchange import (BankDocument, ElementNode, ItemData,  # noqa: E402
                                    OccupationData, OptionData)

WORDS = ("电压 电流 电阻 绝缘 接地 漏电 保护 开关 熔断器 接触器 继电器 电动机 变压器 万用表 兆欧表 钳形电流表 "
         "导线 电缆 照明 插座 安全 操作 检修 停电 验电 挂牌 上锁 短路 过载 相序 功率 电容 电感").split()


def sentence(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(WORDS) for _ in range(n))


def generate(items: int, seed: int = 20261122) -> BankDocument:
    rng = random.Random(seed)
    roots = []
    for a in range(1, 6):
        area = ElementNode(str(a), f"鉴定范围{a}{sentence(rng, 2)}", weight=Decimal("20"))
        for b in range(1, 7):
            sub = ElementNode(f"{a}.{b}", f"{sentence(rng, 3)}")
            for c in range(1, 9):
                sub.children.append(ElementNode(f"{a}.{b}.{c}", sentence(rng, 3), rng.choice("XXYYYZ")))
            area.children.append(sub)
        roots.append(area)
    points = [n.code for root in roots for n, _ in root.walk() if n.is_point]
    doc = BankDocument(occupation=OccupationData("6-31-01-03", "电工", "Electrician", [5, 4, 3, 2, 1]),
                       level=4, bank_name="电工（四级/中级工）基准题库", elements=roots)
    kinds = ["single"] * 50 + ["multiple"] * 20 + ["true_false"] * 20 + ["fill_blank"] * 5 + ["short_answer"] * 5
    for n in range(items):
        kind = rng.choice(kinds)
        stem = f"第{n + 1}题：关于{sentence(rng, 4)}，下列说法{sentence(rng, 2)}（　　）。"
        item = ItemData(kind, stem, point_code=points[n % len(points)], difficulty=rng.randint(1, 5),
                        external_id=f"B-{n + 1:05d}", explanation=f"解析：{sentence(rng, 6)}")
        if kind in ("single", "multiple"):
            count = rng.choice((4, 4, 4, 5))
            item.options = [OptionData("ABCDEF"[i], f"{sentence(rng, 3)}{i}") for i in range(count)]
            if rng.random() < 0.1:
                item.options[-1] = OptionData(item.options[-1].key, "以上都对", pin_last=True)
            keys = [o.key for o in item.options]
            item.answer = rng.choice(keys) if kind == "single" else sorted(rng.sample(keys, rng.randint(2, count)))
            if kind == "multiple" and rng.random() < 0.5:
                item.config = {"scoring": "partial"}
        elif kind == "true_false":
            item.answer = rng.random() < 0.5
        elif kind == "fill_blank":
            item.stem = f"第{n + 1}题：{sentence(rng, 3)}的单位是[[1]]，{sentence(rng, 2)}的单位是[[2]]。"
            item.answer = [["安培", "A"], ["伏特", "V"]]
        else:
            item.points = Decimal("5")
            item.answer = f"参考答案：{sentence(rng, 10)}"
        doc.items.append(item)
    return doc


def run(items: int, database_url: str | None) -> None:
    from exam import create_app
    from exam.accounts.models import Organisation
    from exam.banks.formats import spreadsheet, yaml_format
    from exam.banks.imports import ImportOptions, import_file
    from exam.core.auth import Actor
    from exam.extensions import db

    doc = generate(items)
    with tempfile.TemporaryDirectory(prefix="bank-import-") as folder:
        folder = Path(folder)
        files = {"yaml": yaml_format.export(doc), "xlsx": spreadsheet.export_xlsx(doc)}
        print(f"{items} items, {len(doc.points())} assessment points")
        for name, fmt_parse in (("yaml", yaml_format.parse), ("xlsx", spreadsheet.parse_xlsx)):
            data = files[name]
            started = time.perf_counter()
            parsed = fmt_parse(data, f"bank.{name}")
            parse_seconds = time.perf_counter() - started
            assert not parsed.problems and len(parsed.items) == items, parsed.problems[:3]
            url = database_url or f"sqlite:///{folder / f'{name}.db'}"
            app = create_app({"SECRET_KEY": "benchmark", "SQLALCHEMY_DATABASE_URI": url,
                              "INSTANCE_PATH": str(folder / "instance"), "ENV_NAME": "development"})
            with app.app_context():
                if database_url:
                    db.drop_all()
                db.create_all()
                org = Organisation(code=f"BENCH{name.upper()}", name="基准测试机构", province_code="11",
                                   site_code="000001")
                db.session.add(org)
                db.session.commit()
                actor = Actor.system("system: benchmark", org_id=org.id)
                started = time.perf_counter()
                report = import_file(actor, org.id, data, f"bank.{name}", ImportOptions())
                import_seconds = time.perf_counter() - started
                assert report.imported and report.items_to_import == items
                from exam.banks.services import active_pool

                started = time.perf_counter()
                pool = active_pool(report.bank_id)
                pool_seconds = time.perf_counter() - started
                assert len(pool) == items
                db.session.remove()
                if database_url:
                    db.drop_all()
                db.engine.dispose()
            print(f"{name:<5} {len(data) / 1e6:6.1f} MB   parse only {parse_seconds:5.2f} s   "
                  f"import (parse + checks + database) {import_seconds:5.2f} s   "
                  f"active_pool {pool_seconds * 1000:4.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--database-url", help="a database to use instead of a temporary SQLite file; "
                                               "its tables are dropped and created")
    args = parser.parse_args()
    run(args.items, args.database_url)


if __name__ == "__main__":
    main()

# Recorded results
# ----------------
# 2 cores, 10,000 items (240 assessment points); YAML 3.5 MB, Excel 0.9 MB. Seconds.
#
#                       parse only   whole import   active_pool (10,000 items)
# SQLite, machine idle
#   yaml                    0.98          2.10
#   xlsx                    1.53          2.70
# SQLite, machine shared with other test runs (load average 5)
#   yaml                    1.06–1.13     2.41–2.97       0.30–0.33
#   xlsx                    1.65–1.89     3.57–4.90       0.19–0.24
# PostgreSQL 15 on the same machine (load average 5)
#   yaml                    1.66          5.41            0.41
#   xlsx                    3.48          5.48            0.15
