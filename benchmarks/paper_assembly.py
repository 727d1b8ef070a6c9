"""How long paper assembly takes for a 5,000-item bank (target: under 20 ms per paper).

    .venv/bin/python benchmarks/paper_assembly.py                 # pure assembly, then SQLite
    .venv/bin/python benchmarks/paper_assembly.py --papers 300 --enrolments 0   # quicker, no database

Part 1 times ``exam.papers.assembly`` alone on a generated pool: a realistic element tree
(2 top areas, 9 sub-areas with weights, 150 assessment points, X/Y/Z), every question type,
difficulties 1–5, and the usual blueprint of 100 single-choice + 40 multiple-choice + 60
true/false items at 0.5 points with a difficulty mix and every core point covered. Papers
are drawn as a session would draw them: exposure balancing over the papers before, and
``avoid_orders`` from the candidates already seated in the same room of 30. It reports
the cost of planning once, of one paper with the plan prepared (what
``prepare_session_papers`` does), and of one complete ``assemble`` call that plans too.

Part 2 times ``services.prepare_session_papers`` for a session of 1,000 approved
enrolments on a fresh SQLite database in a temporary folder (rows inserted directly).

Recorded results (2-core machine shared with other work running test suites, load average
6–7; five runs; the spread is the load, not the code):

    plan (once per blueprint and pool):             mean 6.6–12.5 ms
    assemble with a prepared plan, per paper:       p50 2.6–5.9 ms, p95 7.2–10.9 ms
    assemble including planning, per paper:         p50 12.5–17.9 ms, p95 14.5–26.7 ms
    prepare_session_papers, 1,000 enrolments:       4.1–12.7 s (4–13 ms per paper, everything included)
    exposure balance, 1,000 papers:                 items competing for a cell's places differ by ≤ 1

The fastest of 20 runs: ``plan`` 6.1 ms, one paper with a prepared plan 2.6 ms.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from exam.papers.assembly import BlueprintSpec, PoolItem, Section, assemble, plan  # noqa: E402

TARGET_MS = 20.0
TYPES = (("single", 45), ("true_false", 30), ("multiple", 20), ("fill_blank", 3), ("short_answer", 2))
DIFFICULTY = ((1, 10), (2, 25), (3, 35), (4, 20), (5, 10))
#: (code, name, weight, number of points) per sub-area; top areas 1 (20 %) and 2 (80 %).
OUTLINE = (
    ("1.1", "职业道德", 5, 8), ("1.2", "基础知识", 15, 22),
    ("2.1", "电工仪表使用", 10, 14), ("2.2", "低压电器", 15, 20), ("2.3", "照明与动力线路", 10, 14),
    ("2.4", "电动机控制线路", 20, 28), ("2.5", "电子线路", 10, 16), ("2.6", "安全用电", 10, 16),
    ("2.7", "质量管理", 5, 12),
)


def weighted(rng: random.Random, table) -> object:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def generate_pool(items: int = 5000, seed: int = 2026) -> tuple[list[PoolItem], dict, dict]:
    """A realistic bank: ``(pool, weights, names)``; items spread over the points."""
    rng = random.Random(seed)
    weights = {"1": Decimal(20), "2": Decimal(80)}
    names = {"1": "基本要求", "2": "相关知识"}
    points = []
    for code, name, weight, count in OUTLINE:
        weights[code] = Decimal(weight)
        names[code] = name
        for n in range(1, count + 1):
            point = f"{code}.{n}"
            names[point] = f"{name}要点{n}"
            points.append((point, (code.split(".")[0], code), "X" if n % 3 == 1 else ("Y" if n % 3 else "Z")))
    pool = []
    for n in range(items):
        point, path, importance = points[n % len(points)]
        qtype = weighted(rng, TYPES)
        keys = tuple("ABCD") if qtype in ("single", "multiple") else ()
        pinned = frozenset({"D"}) if keys and rng.random() < 0.08 else frozenset()
        pool.append(PoolItem(10_000 + n, 1 + n, qtype, point, path, importance, weighted(rng, DIFFICULTY),
                             keys, pinned))
    return pool, weights, names


SPEC = BlueprintSpec(
    sections=(Section("single", 100, Decimal("0.5"), "一、单项选择题"),
              Section("multiple", 40, Decimal("0.5"), "二、多项选择题"),
              Section("true_false", 60, Decimal("0.5"), "三、判断题")),
    difficulty_mix={1: Decimal(10), 2: Decimal(20), 3: Decimal(40), 4: Decimal(20), 5: Decimal(10)},
    cover_all_x=True)


def stats(label: str, samples_ms: list[float]) -> None:
    samples = sorted(samples_ms)
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    verdict = "OK" if statistics.median(samples) < TARGET_MS else "OVER"
    print(f"  {label:<44} n={len(samples):>5}  mean {statistics.mean(samples):7.2f} ms  "
          f"p50 {statistics.median(samples):7.2f} ms  p95 {p95:7.2f} ms  [{verdict}, target {TARGET_MS:.0f} ms]")


def bench_pure(papers: int, full: int) -> None:
    pool, weights, names = generate_pool()
    print(f"Pool: {len(pool)} items, {Counter(i.type for i in pool).most_common()}")
    plans = []
    for _ in range(5):
        started = time.perf_counter()
        prepared = plan(SPEC, pool, weights, names)
        plans.append((time.perf_counter() - started) * 1000)
    assert prepared.ok, [str(i.problem()) for i in prepared.issues]
    print(f"  {'plan (once per blueprint and pool)':<44} n={len(plans):>5}  mean {statistics.mean(plans):7.2f} ms")
    exposure: Counter = Counter()
    rooms: dict[int, list] = {}
    samples = []
    for n in range(papers):
        room = rooms.setdefault(n // 30, [])
        started = time.perf_counter()
        paper = assemble(SPEC, pool, weights, 1_000_000 + n, exposure, room, prepared=prepared)
        samples.append((time.perf_counter() - started) * 1000)
        exposure.update(paper.order_key())
        room.append(paper.order_key())
    stats("assemble with a prepared plan, per paper", samples)
    spreads = []
    for items in prepared.candidates.values():
        # Items compete equally within a cell, except that each core point must be on every
        # paper: its items are compared among themselves.
        groups: dict = {}
        for i in items:
            groups.setdefault(i.point_code if i.importance == "X" else "", []).append(exposure.get(i.version_id, 0))
        spreads += [max(c) - min(c) for c in groups.values()]
    print(f"  exposure balance over {papers} papers: in every cell, the most and least shown of the items that "
          f"compete for its places differ by at most {max(spreads)} ({len(prepared.cells)} cells)")
    samples = []
    for n in range(full):
        started = time.perf_counter()
        assemble(SPEC, pool, weights, 2_000_000 + n, exposure)
        samples.append((time.perf_counter() - started) * 1000)
    stats("assemble including planning, per paper", samples)


def bench_database(enrolments: int) -> None:
    """``prepare_session_papers`` for ``enrolments`` candidates on a fresh SQLite database."""
    from sqlalchemy import insert, update

    from exam import create_app
    from exam.accounts.models import Organisation, User
    from exam.banks.models import AssessmentElement, Bank, Item, ItemVersion, Occupation
    from exam.core.auth import Actor
    from exam.extensions import db
    from exam.papers import services
    from exam.sessions.models import Enrolment, ExamSession, Room

    pool, weights, names = generate_pool()
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"ENV_NAME": "testing", "SECRET_KEY": "benchmark", "INSTANCE_PATH": folder,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db"})
        with app.app_context():
            db.create_all()
            org = Organisation(code="BENCH", name="基准测试机构", kind="Y", body_code="0001", province_code="11",
                               site_code="010001")
            occupation = Occupation(code="6-31-01-03", name="电工", levels=[5, 4, 3, 2, 1], work_types=[])
            db.session.add_all([org, occupation])
            db.session.flush()
            bank = Bank(org_id=org.id, occupation_id=occupation.id, level=5, name="电工（五级）基准题库")
            db.session.add(bank)
            db.session.flush()
            element_ids = {}
            codes = sorted({c for i in pool for c in i.area_path} | {i.point_code for i in pool},
                           key=lambda c: [int(p) for p in c.split(".")])
            importance = {i.point_code: i.importance for i in pool}
            for position, code in enumerate(codes):
                parent = code.rsplit(".", 1)[0] if "." in code else None
                node = AssessmentElement(bank_id=bank.id, parent_id=element_ids.get(parent), code=code,
                                         name=names[code], weight=weights.get(code), position=position,
                                         depth=code.count("."), is_point=code in importance,
                                         importance=importance.get(code))
                if hasattr(AssessmentElement, "path"):
                    node.path = [c for c in codes if code.startswith(c + ".")]
                db.session.add(node)
                db.session.flush()
                element_ids[code] = node.id
            item_ids = db.session.scalars(insert(Item).returning(Item.id, sort_by_parameter_order=True), [
                {"bank_id": bank.id, "point_id": element_ids[i.point_code], "status": "active"} for i in pool]).all()
            version_ids = db.session.scalars(
                insert(ItemVersion).returning(ItemVersion.id, sort_by_parameter_order=True),
                [{"item_id": item_id, "version_no": 1, "type": i.type, "stem": f"基准题 {n}（　　）。",
                  "options": [{"key": k, "text": f"选项{k}", "pin_last": k in i.pinned_keys} for k in i.option_keys],
                  "answer": "A" if i.type == "single" else ["A", "B"] if i.type == "multiple" else True,
                  "points": Decimal(1), "difficulty": i.difficulty, "config": {}, "fingerprint": f"{n:064d}"}
                 for n, (item_id, i) in enumerate(zip(item_ids, pool))]).all()
            db.session.execute(update(Item), [{"id": i, "current_version_id": v}
                                              for i, v in zip(item_ids, version_ids)])
            blueprint = services.create_blueprint(Actor.system("benchmark", org.id), bank.id,
                                                  services.BlueprintData("基准组卷方案", SPEC, duration_minutes=100))
            session = ExamSession(org_id=org.id, occupation_id=occupation.id, level=5, name="基准批次", code="B-1",
                                  components=["theory"], blueprint_id=blueprint.id)
            db.session.add(session)
            db.session.flush()
            rooms = [Room(session_id=session.id, name=f"第{n + 1}考场", capacity=30)
                     for n in range((enrolments + 29) // 30)]
            db.session.add_all(rooms)
            db.session.flush()
            user_ids = db.session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), [
                {"username": f"bench{n}", "real_name": f"考生{n}", "password_hash": "-"} for n in range(enrolments)]).all()
            db.session.execute(insert(Enrolment), [
                {"session_id": session.id, "user_id": user_id, "status": "approved", "components": ["theory"],
                 "room_id": rooms[n // 30].id, "seat_no": n % 30 + 1} for n, user_id in enumerate(user_ids)])
            db.session.commit()
            org_id, session_id = org.id, session.id
            db.session.remove()
            started = time.perf_counter()
            result = services.prepare_session_papers(Actor.system("benchmark", org_id), session_id)
            elapsed = time.perf_counter() - started
            print(f"  prepare_session_papers: {result['created']} papers in {elapsed:.2f} s "
                  f"({elapsed * 1000 / max(1, result['created']):.2f} ms per paper, planning and the frozen pool "
                  f"included)")
            db.session.remove()
            db.engine.dispose()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=1000, help="papers drawn with a prepared plan")
    parser.add_argument("--full", type=int, default=50, help="complete assemble() calls (planning included)")
    parser.add_argument("--enrolments", type=int, default=1000, help="0 skips the database part")
    args = parser.parse_args(argv)
    print("Paper assembly, 5,000-item bank, 200-item blueprint (100 single, 40 multiple, 60 true/false):")
    bench_pure(args.papers, args.full)
    if args.enrolments:
        print(f"SQLite, {args.enrolments} approved enrolments in rooms of 30:")
        bench_database(args.enrolments)
    return 0


if __name__ == "__main__":
    sys.exit(main())
