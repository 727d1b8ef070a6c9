"""Every acknowledged save survives app servers killed with SIGKILL.

Candidates save answers continuously against ``gunicorn wsgi:app`` while workers, and now and
then the whole server (master and workers), are killed with SIGKILL and started again. After
the run, every save that was answered 200 must be in the database: its item holds that change
or a newer one of the same candidate. Once on SQLite (WAL) and once on PostgreSQL (a database
of its own). About 20 seconds each (``EXAM_DURABILITY_SECONDS``).
"""
from __future__ import annotations

import asyncio
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, select

from benchmarks import exam_kit as kit
from exam.delivery.models import Response

pytestmark = pytest.mark.durability

SECONDS = float(os.environ.get("EXAM_DURABILITY_SECONDS", "15"))
CANDIDATES = 40


async def keep_saving(server: kit.Gunicorn, c: kit.Candidate, until: float, rng: random.Random,
                      stats: dict) -> None:
    while time.monotonic() < until:
        change = c.next_change(rng)
        reply = await kit.save(server.port, c, [change], timeout=5)
        if reply.status == 200:
            assert [change["p"], change["q"]] in reply.json()["acked"]
            c.acked.append((change["p"], change["q"], change["a"]))
            stats["acked"] += 1
            await asyncio.sleep(rng.uniform(0.005, 0.03))
        else:
            stats["failed"] += 1
            stats["statuses"][reply.status] = stats["statuses"].get(reply.status, 0) + 1
            await asyncio.sleep(rng.uniform(0.1, 0.3))  # the exam page backs off too


async def kill_now_and_then(server: kit.Gunicorn, until: float, rng: random.Random, stats: dict) -> None:
    """SIGKILL a worker twice, then the whole server (restarted at once), and again."""
    loop = asyncio.get_running_loop()
    while time.monotonic() < until - 2:
        await asyncio.sleep(rng.uniform(1.0, 2.0))
        if (stats["worker_kills"] + stats["server_kills"]) % 3 == 2:
            server.kill_all()
            stats["server_kills"] += 1
            await loop.run_in_executor(None, server.start)
        elif server.kill_worker(rng):
            stats["worker_kills"] += 1


def run_under_kills(database: kit.Database, folder) -> dict:
    app = kit.make_app(database, folder / "instance")
    people, _, _ = kit.seed_exam(app, CANDIDATES, items=30, code="dur")
    kit.start_in_bulk(app, people)
    kit.sign_sessions(app, people, marked=True)
    server = kit.Gunicorn(database, folder / "instance", workers=3)
    server.start()
    stats = {"acked": 0, "failed": 0, "statuses": {}, "worker_kills": 0, "server_kills": 0}
    rng = random.Random(11)

    async def main():
        until = time.monotonic() + SECONDS
        await asyncio.gather(kill_now_and_then(server, until, rng, stats),
                             *(keep_saving(server, c, until, random.Random(c.user_id), stats)
                               for c in people))

    try:
        # In a thread of its own: a real-browser test of the same run may keep an event loop
        # running in this one.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, main()).result()
    finally:
        server.kill_all()
    engine = create_engine(database.url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        stored = {(a, p): (q, ans) for a, p, q, ans in conn.execute(
            select(Response.attempt_id, Response.position, Response.seq, Response.answer))}
    engine.dispose()
    missing = []
    for c in people:
        latest: dict[int, tuple[int, object]] = {}
        for position, seq, answer in c.acked:
            have = stored.get((c.attempt_id, position))
            if have is None or have[0] < seq:
                missing.append((c.attempt_id, position, seq))
            if seq > latest.get(position, (0, None))[0]:
                latest[position] = (seq, answer)
        for position, (seq, answer) in latest.items():
            have = stored.get((c.attempt_id, position))
            if have is not None and have[0] == seq and have[1] != answer:
                missing.append((c.attempt_id, position, seq, "different answer"))
    stats["missing"] = missing
    return stats


def report(name: str, stats: dict) -> None:
    print(f"\n[durability {name}] {stats['acked']} acknowledged saves, all present: "
          f"{not stats['missing']}; {stats['failed']} not answered (by status, 0 = no answer: "
          f"{stats['statuses']}); "
          f"{stats['worker_kills']} worker kills, {stats['server_kills']} whole-server kills")


def test_acknowledged_saves_survive_sigkill_on_sqlite(tmp_path):
    database = kit.sqlite_database(tmp_path)
    try:
        stats = run_under_kills(database, tmp_path)
    finally:
        database.drop()
    report("sqlite", stats)
    assert stats["acked"] > 200 and stats["server_kills"] >= 1
    assert not stats["missing"], stats["missing"][:10]
    assert set(stats["statuses"]) <= {0}, "only cut-off requests fail, never an error answer"


def test_acknowledged_saves_survive_sigkill_on_postgresql(postgres_url, tmp_path, worker_name):
    database = kit.postgres_database(postgres_url, f"skillcert_durability_{os.getpid()}_{worker_name}")
    try:
        stats = run_under_kills(database, tmp_path)
    finally:
        database.drop()
    report("postgresql", stats)
    assert stats["acked"] > 200 and stats["server_kills"] >= 1
    assert not stats["missing"], stats["missing"][:10]
    assert set(stats["statuses"]) <= {0}, "only cut-off requests fail, never an error answer"
