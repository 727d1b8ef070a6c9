"""Tools of the exam benchmarks and of the durability test.

* a database of its own (an SQLite file in WAL mode, or a dedicated PostgreSQL database),
  seeded with an exam through the models in bulk (``tests/delivery/builders.py``);
* candidates' signed session cookies and CSRF tokens, made with the server's secret the
  way Flask and Flask-WTF make them (signing in through the login form would spend the
  whole benchmark in the password hash);
* attempts started in bulk with known device tokens, for the runs that only measure saves;
* gunicorn in its own process group, so it can be killed (SIGKILL) and restarted;
* a small asyncio HTTP/1.1 client (one connection per request: gunicorn's sync workers
  close every connection, as they do behind a proxy).
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET = "benchmark-secret-key-not-for-production"
#: gunicorn of the Python running this (the project's virtual environment, wherever it is).
GUNICORN = [sys.executable, "-m", "gunicorn"]


# --- databases -----------------------------------------------------------------------------

@dataclass
class Database:
    """A database for one run: ``url`` for the app servers, ``drop()`` when done."""

    url: str
    kind: str
    admin_url: str | None = None
    name: str | None = None
    path: Path | None = None

    def drop(self) -> None:
        if self.kind == "postgresql":
            from sqlalchemy import create_engine, text

            engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            engine.dispose()
        elif self.path is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)


def sqlite_database(folder: Path) -> Database:
    path = folder / "exam-bench.db"
    Database("", "sqlite", path=path).drop()
    return Database(f"sqlite:///{path}", "sqlite", path=path)


def postgres_database(server_url: str, name: str) -> Database:
    """A new, empty database ``name`` on the server of ``server_url``."""
    from sqlalchemy import create_engine, text

    from exam.config import normalise_database_url

    admin = normalise_database_url(server_url)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    base = admin.rsplit("/", 1)[0]
    return Database(f"{base}/{name}", "postgresql", admin_url=admin, name=name)


def make_app(db: Database, instance: Path):
    from exam import create_app

    return create_app({"ENV_NAME": "production", "SECRET_KEY": SECRET,
                       "SQLALCHEMY_DATABASE_URI": db.url, "INSTANCE_PATH": str(instance)})


# --- the exam -------------------------------------------------------------------------------

@dataclass
class Candidate:
    user_id: int
    org_id: int
    enrolment_id: int
    cookie: str = ""
    csrf: str = ""
    attempt_id: int | None = None
    token: str | None = None
    shape: list = field(default_factory=list)
    seq: int = 0
    #: (position, seq, answer) of every acknowledged save.
    acked: list = field(default_factory=list)

    def next_change(self, rng: random.Random) -> dict:
        self.seq += 1
        position = rng.randrange(len(self.shape))
        return {"p": position, "a": answer_for(self.shape[position], rng, self.seq), "f": False,
                "q": self.seq}


def answer_for(code: str, rng: random.Random, seq: int):
    """An answer that fits an item of shape ``code`` (different each time)."""
    kind, _, count = code.partition(":")
    n = int(count or 0)
    letters = "ABCDEF"[:n]
    if kind == "single":
        return rng.choice(letters)
    if kind == "multiple":
        return sorted(rng.sample(letters, rng.randint(1, n)))
    if kind == "true_false":
        return rng.random() < 0.5
    if kind == "fill_blank":
        return [f"答案{seq}-{i}" for i in range(n)]
    return f"第 {seq} 次作答：互锁可以防止两个接触器同时吸合造成电源短路。" * 2


def seed_exam(app, candidates: int, *, items: int = 100, duration: int = 600, code: str = "bench",
              started_ago: timedelta = timedelta(minutes=1), late_entry: int = 60):
    """Create the schema and an exam with ``candidates`` checked-in candidates (papers ready)."""
    from exam.core.clock import now_utc
    from exam.extensions import db
    from tests.delivery.builders import build_exam

    with app.app_context():
        db.create_all()
        world = build_exam(now_utc() - started_ago, candidates=candidates, code=code, items=items,
                           duration=duration, late_entry=late_entry, earliest_handin=0)
        people = [Candidate(u.id, world.org.id, e.id) for u, e in zip(world.candidates, world.enrolments)]
        room_id, proctor = world.room.id, world.proctor.id
        db.session.remove()
    return people, room_id, proctor


def add_candidates(app, count: int, code: str = "bench") -> list[Candidate]:
    """More candidates (with papers) for the exam of ``seed_exam``, in bulk."""
    from exam.extensions import db
    from tests.delivery import builders

    with app.app_context():
        world = builders.load_exam(code)
        db.session.commit()  # end the read: on SQLite the inserts must open their own transaction
        before = len(world.enrolments)
        items = len(next(iter(world.papers.values())).items)
        builders.add_candidates(world, count, rng=random.Random(before),
                                checked_in_at=world.session.theory_start_at,
                                password_hash=builders.shared_password_hash(), items=items)
        people = [Candidate(u.id, world.org.id, e.id)
                  for u, e in zip(world.candidates[before:], world.enrolments[before:])]
        db.session.remove()
    return people


def start_in_bulk(app, people: list[Candidate]) -> None:
    """Start attempts directly in the database, with device tokens (for save-only runs)."""
    from sqlalchemy import insert, select

    from exam.core.clock import now_utc
    from exam.delivery import rules
    from exam.delivery.models import Attempt
    from exam.extensions import db
    from exam.papers.models import Paper
    from exam.sessions.models import Enrolment

    with app.app_context():
        now = now_utc()
        papers = {p.enrolment_id: p for p in db.session.scalars(select(Paper).where(
            Paper.enrolment_id.in_([c.enrolment_id for c in people])))}
        enrolments = {e.id: e for e in db.session.scalars(select(Enrolment).where(
            Enrolment.id.in_([c.enrolment_id for c in people])))}
        shape_of_version = {}
        from exam.banks.models import ItemVersion

        for v in db.session.scalars(select(ItemVersion)):
            shape_of_version[v.id] = rules.shape_code(v.type, v.options, v.stem)
        rows = []
        for c in people:
            paper, enrolment = papers[c.enrolment_id], enrolments[c.enrolment_id]
            c.shape = [shape_of_version[e["v"]] for e in paper.items]
            c.token = f"1.{secrets.token_urlsafe(24)}"
            rows.append({"org_id": c.org_id, "enrolment_id": c.enrolment_id, "user_id": c.user_id,
                         "paper_id": paper.id, "session_id": enrolment.session_id,
                         "room_id": enrolment.room_id, "status": "in_progress", "started_at": now,
                         "deadline_at": now + timedelta(hours=10), "extended_minutes": 0,
                         "device_token_hash": hashlib.sha256(c.token.encode()).hexdigest(),
                         "device_epoch": 1, "max_seq": 0, "item_count": len(c.shape),
                         "shape": c.shape})
        for offset in range(0, len(rows), 500):
            db.session.execute(insert(Attempt), rows[offset:offset + 500])
        db.session.commit()
        ids = dict(db.session.execute(select(Attempt.enrolment_id, Attempt.id).where(
            Attempt.enrolment_id.in_([c.enrolment_id for c in people]))).all())
        for c in people:
            c.attempt_id = ids[c.enrolment_id]
        db.session.remove()


def sign_sessions(app, people: list[Candidate], *, marked: bool) -> None:
    """Give each candidate a session cookie (signed in, acting for the body) and a CSRF token.

    ``marked``: as after the exam page, so saves skip the user lookup (``delivery.access``).
    """
    from itsdangerous import URLSafeTimedSerializer

    with app.test_request_context():
        cookies = app.session_interface.get_signing_serializer(app)
        tokens = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token")
        for c in people:
            raw = hashlib.sha1(os.urandom(64)).hexdigest()
            session = {"_user_id": f"{c.user_id}:1", "_fresh": True, "_permanent": True,
                       "org_id": c.org_id, "csrf_token": raw}
            if marked:
                session["exam_candidate"] = f"{c.user_id}:1@{c.org_id}"
            c.cookie = cookies.dumps(session)
            c.csrf = tokens.dumps(raw)


# --- gunicorn ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """``gunicorn wsgi:app`` in a process group of its own."""

    def __init__(self, db: Database, instance: Path, *, workers: int = 4, port: int | None = None,
                 worker_class: str = "sync", threads: int = 1, log: Path | None = None,
                 preload: bool = True, wsgi: str = "wsgi:app", reuse_port: bool = False):
        self.db, self.instance, self.workers = db, instance, workers
        self.preload, self.wsgi, self.reuse_port = preload, wsgi, reuse_port
        self.port = port or free_port()
        self.worker_class, self.threads = worker_class, threads
        self.log = log or instance / "gunicorn.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        env = dict(os.environ, SKILLCERT_ENV="production", SECRET_KEY=SECRET,
                   DATABASE_URL=self.db.url, SKILLCERT_INSTANCE_PATH=str(self.instance),
                   PYTHONPATH=str(ROOT), WEB_CONCURRENCY=str(self.workers))
        command = [*GUNICORN, "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}",
                   "--worker-class", self.worker_class, "--threads", str(self.threads),
                   "--backlog", "2048", "--timeout", "60", "--log-level", "warning"]
        if self.preload:
            # The master imports the application once and forks the workers: a killed worker
            # is replaced in milliseconds (no database connection is opened before the fork).
            command.append("--preload")
        if self.reuse_port:
            command.append("--reuse-port")
        command.append(self.wsgi)
        self.instance.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {self.log}")
            if len(self.worker_pids()) >= self.workers and self._healthy():
                return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not start in {timeout} s: see {self.log}")

    def _healthy(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                return s.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.process.pid:
                pids.append(int(entry.name))
        return pids

    def kill_worker(self, rng: random.Random) -> int | None:
        """SIGKILL one worker (the master starts another)."""
        pids = self.worker_pids()
        if not pids:
            return None
        pid = rng.choice(pids)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return None
        return pid

    def kill_all(self) -> None:
        """SIGKILL the master and every worker (the whole process group this object started)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self._group_alive():
            time.sleep(0.05)
        self.process = None

    def _group_alive(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            self.kill_all()
        self.process = None

    def cpu_seconds(self) -> float:
        """User + system CPU time of the master and its live workers so far."""
        total = 0.0
        ticks = os.sysconf("SC_CLK_TCK")
        for pid in ([self.process.pid] if self.process else []) + self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks
        return total


# --- HTTP ----------------------------------------------------------------------------------------

@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes
    seconds: float

    def json(self):
        import json

        return json.loads(self.body or b"{}")


async def http(port: int, method: str, path: str, *, headers: dict | None = None,
               body: bytes | None = None, timeout: float = 30) -> Reply:
    """One request on a new connection; status 0 when the connection failed."""
    started = time.perf_counter()
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    payload = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
    writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
        writer.write(payload)
        raw = await asyncio.wait_for(reader.read(), timeout)
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
        return Reply(0, {}, b"", time.perf_counter() - started)
    finally:
        if writer is not None:
            writer.close()
    head, _, content = raw.partition(b"\r\n\r\n")
    if not head:
        return Reply(0, {}, b"", time.perf_counter() - started)
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed: dict = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed.setdefault(name.strip().lower(), []).append(value.strip())
    try:
        status = int(status_line.split()[1])
    except (IndexError, ValueError):
        status = 0
    length = parsed.get("content-length")
    if length and len(content) < int(length[0]):
        status = 0  # cut off (the server died while answering): not an answer
    return Reply(status, parsed, content, time.perf_counter() - started)


def cookie_header(c: Candidate) -> str:
    return f"session={c.cookie}"


def take_cookie(c: Candidate, reply: Reply) -> None:
    for value in reply.headers.get("set-cookie", []):
        if value.startswith("session="):
            c.cookie = value.split(";", 1)[0][len("session="):]


async def save(port: int, c: Candidate, changes: list[dict], timeout: float = 30) -> Reply:
    import json

    body = json.dumps({"changes": changes}, ensure_ascii=False).encode()
    return await http(port, "POST", f"/api/exam/attempts/{c.attempt_id}/save", body=body,
                      timeout=timeout,
                      headers={"Cookie": cookie_header(c), "X-CSRFToken": c.csrf,
                               "X-Exam-Device": c.token or "", "Content-Type": "application/json",
                               "Accept": "application/json"})


def busy_delay(tries: int, rng: random.Random) -> float:
    """Seconds before trying a busy start again: what ``exam.js`` waits."""
    return (0.3 + 0.7 * rng.random()) * 2 ** min(tries - 1, 3)


async def start_through_the_pages(port: int, c: Candidate, rng: random.Random | None = None
                                  ) -> tuple[bool, float, int]:
    """What a browser does to start: post the start form, then load the exam page; a busy
    answer (503, every start slot taken) is tried again shortly, as the page does.

    Returns (started, seconds from the first click to the exam page, busy answers met).
    """
    import json
    import re

    rng = rng or random.Random()
    started = time.perf_counter()
    busy = 0
    form = f"csrf_token={quote(c.csrf)}&pledge=y".encode()
    while True:
        reply = await http(port, "POST", f"/exam/enrolments/{c.enrolment_id}", body=form,
                           headers={"Cookie": cookie_header(c),
                                    "Content-Type": "application/x-www-form-urlencoded"})
        if reply.status != 503:
            break
        busy += 1
        await asyncio.sleep(busy_delay(busy, rng))
    if reply.status != 302:
        return False, time.perf_counter() - started, busy
    take_cookie(c, reply)
    location = reply.headers["location"][0]
    path = location.split("://", 1)[-1]
    path = path[path.index("/"):] if "://" in location else location
    while True:
        page = await http(port, "GET", path, headers={"Cookie": cookie_header(c)})
        if page.status != 503:
            break
        busy += 1
        await asyncio.sleep(busy_delay(busy, rng))
    if page.status != 200:
        return False, time.perf_counter() - started, busy
    take_cookie(c, page)
    match = re.search(rb'id="exam-data">(.*?)</script>', page.body, re.S)
    state = json.loads(match.group(1))
    c.attempt_id, c.token, c.shape, c.seq = state["attempt"], state["token"], state["shape"], state["seq"]
    return c.token is not None, time.perf_counter() - started, busy


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]
