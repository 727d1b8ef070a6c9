"""Fixtures for the format tests: other systems' real question files.

The conformance files live beside the repository (``<repo>/../shared/conformance``), never
inside it; tests that need them skip, with the reason, when they are absent.
"""
from __future__ import annotations

from pathlib import Path

import pytest

CONFORMANCE = Path(__file__).resolve().parents[4] / "shared" / "conformance"


@pytest.fixture
def conformance():
    """``conformance("gift/examples.gift.txt")`` → the file's bytes."""
    def read(name: str) -> bytes:
        path = CONFORMANCE / name
        if not path.is_file():
            pytest.skip(f"conformance file {name} not found in {CONFORMANCE}")
        return path.read_bytes()
    return read
