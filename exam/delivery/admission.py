"""Admission of starts: a whole session starting at the same minute must not starve the saves.

Starting (the start form, then the first load of the exam page with its whole paper) costs
ten to twenty times a save. When a room clicks "start" together, every worker of an app
server could be busy preparing pages while the candidates already writing wait for their
saves. So at most ``EXAM_START_SLOTS`` starts and exam pages are prepared at once per app
server, by default one fewer than its workers (gunicorn's ``WEB_CONCURRENCY``), at least
one: one worker always stays free for the saves. A candidate who finds every slot busy
gets a small page that tries again by itself a few seconds later.

Slots are lock files in the instance folder (``flock``): shared by the workers of one
server, released by the system when a worker dies. Each app server admits its own.
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from flask import current_app



def slot_count() -> int:
    """The setting ``EXAM_START_SLOTS`` (application config, else the environment), else one
    fewer than ``WEB_CONCURRENCY`` (the worker count gunicorn reads), at least one."""
    configured = current_app.config.get("EXAM_START_SLOTS", os.environ.get("EXAM_START_SLOTS"))
    if configured not in (None, ""):
        return int(configured)
    workers = os.environ.get("WEB_CONCURRENCY", "")
    return max(int(workers) - 1, 1) if workers.isdigit() else 1


@contextmanager
def start_slot() -> Iterator[bool]:
    """``True`` while holding a slot; ``False`` when every slot is busy (try again shortly).

    ``EXAM_START_SLOTS = 0`` admits everyone at once.
    """
    slots = slot_count()
    if not slots:
        yield True
        return
    folder = Path(current_app.instance_path) / "start-slots"
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(slots):
        fd = os.open(folder / f"{number}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return
    yield False
