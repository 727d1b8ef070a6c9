"""Load benchmark of the timed exam: a whole session starting at the same minute, then saving.

    .venv/bin/python benchmarks/exam_load.py                      # SQLite and PostgreSQL
    .venv/bin/python benchmarks/exam_load.py --db sqlite --quick  # a short run

Per database (an SQLite file in WAL mode; a dedicated PostgreSQL database), against
``gunicorn wsgi:app`` on 127.0.0.1 (loopback only, every run bounded in time):

1. page weight of the exam page with a 100-item paper and all its assets (raw and gzip);
2. the trivial endpoint ``/healthz`` at saturation (``wrk``): the baseline;
3. the session: ``--candidates`` (1,000) start within one minute through the pages (the start
   form, then the exam page), each then saving one answer every 5–10 seconds; latencies
   of starts and saves, errors;
4. the save endpoint at saturation (``wrk`` with a Lua script cycling over the candidates);
5. the ramp: more candidates (attempts started in bulk), saving every 5–10 seconds, until
   the 99th percentile of a save passes 100 ms; the largest number that stayed under it.

The load generator (Python asyncio, one connection per request like gunicorn's sync
workers; ``wrk`` for saturation) shares the machine's cores with the server and the
database: the figures are for the three together. Needs ``wrk`` (``apt-get install wrk``).
"""
from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import exam_kit as kit  # noqa: E402

POSTGRES = os.environ.get("POSTGRES_BENCH_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

WRK_SAVE = r"""
-- One save per request, cycling over the candidates in the file; sequence numbers grow.
local candidates = {}
local index, seq = 0, 0
function init(args)
  for line in io.lines(args[1]) do
    local id, cookie, csrf, token = line:match("(%S+) (%S+) (%S+) (%S+)")
    table.insert(candidates, {id = id, cookie = cookie, csrf = csrf, token = token})
  end
  index = math.random(#candidates)
  seq = 1000000000 * (tonumber(args[2]) or 1)
end
function request()
  index = index % #candidates + 1
  seq = seq + 1
  local c = candidates[index]
  local body = '{"changes":[{"p":' .. (seq % 30) .. ',"a":"' .. (seq % 2 == 0 and "A" or "B") ..
               '","f":false,"q":' .. seq .. '}]}'
  return wrk.format("POST", "/api/exam/attempts/" .. c.id .. "/save",
    {["Cookie"] = "session=" .. c.cookie, ["X-CSRFToken"] = c.csrf, ["X-Exam-Device"] = c.token,
     ["Content-Type"] = "application/json", ["Accept"] = "application/json"}, body)
end
function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("status " .. status .. "\n")
  end
end
"""


def log(message: str) -> None:
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{time.strftime('%H:%M:%S')} (load {load}) {message}", flush=True)


# --- measurements ------------------------------------------------------------------------------

def wrk(url: str, seconds: int, connections: int, script: Path | None = None,
        script_args: tuple = ()) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script:
        command += ["-s", str(script)]
    command.append(url)
    if script_args:
        command += ["--", *map(str, script_args)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    text = out.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    latency = dict(re.findall(r"^\s+(50|90|99)%\s+([\d.]+\w+)", text, re.M))
    errors = re.search(r"Socket errors: (.*)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    bad = out.stderr.count("status ")
    return {"rps": rps, "requests": requests, "latency": latency,
            "socket_errors": errors.group(1) if errors else "none",
            "non_2xx": int(non2xx.group(1)) if non2xx else 0, "bad_status": bad}


def page_weight(port: int, candidate: kit.Candidate) -> dict:
    """The exam page and every asset it loads: raw bytes and gzip (level 6) bytes."""
    async def fetch_all():
        page = await kit.http(port, "GET", f"/exam/attempts/{candidate.attempt_id}",
                              headers={"Cookie": kit.cookie_header(candidate)})
        assets = re.findall(rb'(?:href|src)="(/static/[^"]+)"', page.body)
        replies = {"page": page}
        for path in dict.fromkeys(a.decode() for a in assets):
            replies[path] = await kit.http(port, "GET", path)
        return replies

    replies = asyncio.run(fetch_all())
    sizes = {}
    for name, reply in replies.items():
        assert reply.status == 200, (name, reply.status)
        sizes[name] = (len(reply.body), len(gzip.compress(reply.body, 6)))
    total = (sum(r for r, _ in sizes.values()), sum(g for _, g in sizes.values()))
    return {"files": sizes, "total_raw": total[0], "total_gzip": total[1],
            "items": len(candidate.shape)}


class Recorder:
    def __init__(self):
        self.busy = 0  # "every start slot busy, try again" answers met by starting candidates
        self.latencies: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.statuses: dict[str, dict[int, int]] = {}

    def add(self, kind: str, seconds: float, ok: bool, status: int = 200):
        self.latencies.setdefault(kind, []).append(seconds)
        if not ok:
            self.errors[kind] = self.errors.get(kind, 0) + 1
            self.statuses.setdefault(kind, {})
            self.statuses[kind][status] = self.statuses[kind].get(status, 0) + 1

    def summary(self, kind: str, seconds: float) -> dict:
        values = self.latencies.get(kind, [])
        return {"count": len(values), "per_second": round(len(values) / seconds, 1),
                "p50_ms": round(kit.percentile(values, 50) * 1000, 1),
                "p95_ms": round(kit.percentile(values, 95) * 1000, 1),
                "p99_ms": round(kit.percentile(values, 99) * 1000, 1),
                "max_ms": round(max(values) * 1000, 1) if values else None,
                "errors": self.errors.get(kind, 0), "error_statuses": self.statuses.get(kind, {})}


async def saver(port: int, c: kit.Candidate, rng: random.Random, until: float, rec: Recorder,
                first_delay: float, kind: str = "save") -> None:
    await asyncio.sleep(first_delay)
    while time.monotonic() < until:
        reply = await kit.save(port, c, [c.next_change(rng)])
        rec.add(kind, reply.seconds, reply.status == 200, reply.status)
        await asyncio.sleep(rng.uniform(5, 10))


async def session_storm(port: int, people: list[kit.Candidate], start_window: float,
                        steady: float, seed: int = 1) -> tuple[Recorder, float, float]:
    """Everyone starts within ``start_window`` seconds, then saves every 5–10 s until the end."""
    rng = random.Random(seed)
    rec = Recorder()
    began = time.monotonic()
    until = began + start_window + steady

    async def candidate(c: kit.Candidate, at: float):
        await asyncio.sleep(at)
        ok, seconds, busy = await kit.start_through_the_pages(port, c, random.Random(c.user_id))
        rec.add("start", seconds, ok)
        rec.busy += busy
        if ok:
            await saver(port, c, random.Random(c.user_id), until, rec, rng.uniform(0, 5))

    await asyncio.gather(*(candidate(c, rng.uniform(0, start_window)) for c in people))
    return rec, began, time.monotonic()


async def steady_saves(port: int, people: list[kit.Candidate], seconds: float,
                       seed: int = 2) -> tuple[Recorder, float]:
    rng = random.Random(seed)
    rec = Recorder()
    began = time.monotonic()
    until = began + seconds
    await asyncio.gather(*(saver(port, c, random.Random(rng.random()), until, rec, rng.uniform(0, 7.5))
                           for c in people))
    return rec, time.monotonic() - began


def write_wrk_candidates(path: Path, people: list[kit.Candidate]) -> None:
    with path.open("w") as fh:
        for c in people:
            fh.write(f"{c.attempt_id} {c.cookie} {c.csrf} {c.token}\n")


# --- a run on one database --------------------------------------------------------------------------

def run(kind: str, args, folder: Path) -> dict:
    workers = args.workers or (2 if kind == "sqlite" else 4)
    result: dict = {"database": kind, "workers": workers, "load_before": os.getloadavg()}
    db = kit.sqlite_database(folder) if kind == "sqlite" else \
        kit.postgres_database(POSTGRES, f"skillcert_bench_{os.getpid()}")
    server = None
    try:
        app = kit.make_app(db, folder / "instance")
        t = time.monotonic()
        people, room_id, _ = kit.seed_exam(app, args.candidates, items=100)
        kit.sign_sessions(app, people, marked=False)
        log(f"[{kind}] seeded {len(people)} candidates with 100-item papers in {time.monotonic() - t:.1f} s")
        server = kit.Gunicorn(db, folder / "instance", workers=workers)
        server.start()
        port = server.port

        # 1. page weight, with one candidate started through the pages
        first = people[0]
        assert asyncio.run(kit.start_through_the_pages(port, first))[0]
        result["page_weight"] = page_weight(port, first)
        log(f"[{kind}] page weight: {result['page_weight']['total_raw']} B raw, "
            f"{result['page_weight']['total_gzip']} B gzip")

        # 2. the trivial endpoint at saturation
        if not args.session_only:
            cpu = server.cpu_seconds()
            result["healthz"] = wrk(server.url + "/healthz", args.wrk_seconds, 32)
            result["healthz"]["server_cpu_ms_per_request"] = round(
                (server.cpu_seconds() - cpu) * 1000 / max(result["healthz"]["requests"], 1), 3)
            log(f"[{kind}] /healthz at saturation: {result['healthz']}")

        # 3. the session: everyone starts within a minute, then saves every 5–10 s
        rest = people[1:]
        rec, began, ended = asyncio.run(session_storm(port, rest, args.start_window, args.steady))
        elapsed = ended - began
        result["session"] = {"candidates": len(rest), "start_window_s": args.start_window,
                             "elapsed_s": round(elapsed, 1),
                             "starts": rec.summary("start", args.start_window),
                             "start_busy_retries": rec.busy,
                             "saves": rec.summary("save", elapsed)}
        log(f"[{kind}] session: {json.dumps(result['session'], ensure_ascii=False)}")
        if args.session_only:
            return result

        # 4. the save endpoint at saturation
        started = [c for c in people if c.token]
        candidates_file = folder / "wrk-candidates.txt"
        write_wrk_candidates(candidates_file, started)
        script = folder / "save.lua"
        script.write_text(WRK_SAVE)
        cpu = server.cpu_seconds()
        result["save_saturation"] = wrk(server.url, args.wrk_seconds, 32, script,
                                        (candidates_file, 1))
        result["save_saturation"]["server_cpu_ms_per_request"] = round(
            (server.cpu_seconds() - cpu) * 1000 / max(result["save_saturation"]["requests"], 1), 3)
        log(f"[{kind}] save at saturation: {result['save_saturation']}")
        result["save_vs_trivial"] = round(result["save_saturation"]["rps"] / result["healthz"]["rps"], 3)
        result["save_vs_trivial_cpu"] = round(result["healthz"]["server_cpu_ms_per_request"] /
                                              result["save_saturation"]["server_cpu_ms_per_request"], 3)

        # 5. the ramp
        ramp = []
        active = started
        for target in args.ramp:
            if target > len(active):
                more = kit.add_candidates(app, target - len(active))
                kit.start_in_bulk(app, more)
                kit.sign_sessions(app, more, marked=True)
                active = active + more
            rec, seconds = asyncio.run(steady_saves(port, active, args.ramp_seconds))
            step = {"candidates": len(active), **rec.summary("save", seconds)}
            ramp.append(step)
            log(f"[{kind}] ramp: {step}")
            if step["p99_ms"] > 100 or step["errors"]:
                break
        result["ramp"] = ramp
        passing = [s["candidates"] for s in ramp if s["p99_ms"] <= 100 and not s["errors"]]
        result["largest_sustained"] = max(passing) if passing else None
        result["load_after"] = os.getloadavg()
        return result
    finally:
        if server is not None:
            server.stop()
        db.drop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn sync workers (default: 2 on SQLite, whose writers queue for "
                             "one lock anyway, 4 on PostgreSQL)")
    parser.add_argument("--start-window", type=float, default=60)
    parser.add_argument("--steady", type=float, default=60, help="seconds of saving after the starts")
    parser.add_argument("--wrk-seconds", type=int, default=15)
    parser.add_argument("--ramp", default="1500,2000,2500,3000,4000,5000,6000,8000")
    parser.add_argument("--ramp-seconds", type=float, default=40)
    parser.add_argument("--quick", action="store_true", help="small numbers, to try the benchmark")
    parser.add_argument("--session-only", action="store_true",
                        help="only the page weight and the session (starts, then saves)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    args.ramp = [int(n) for n in args.ramp.split(",") if n]
    if args.quick:
        args.candidates, args.start_window, args.steady, args.wrk_seconds = 200, 10, 10, 5
        args.ramp, args.ramp_seconds = [400], 15
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install -y wrk", file=sys.stderr)
        return 2
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = []
    with tempfile.TemporaryDirectory(prefix="exam-bench-") as tmp:
        for kind in kinds:
            folder = Path(tmp) / kind
            folder.mkdir()
            results.append(run(kind, args, folder))
    print(json.dumps(results, indent=2, ensure_ascii=False))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
