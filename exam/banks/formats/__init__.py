"""Import and export formats of question banks, as a registry.

Each format module defines a ``Format`` and registers it. ``parse(data, filename)``
returns an ``interchange.BankDocument`` with every problem located, and never raises
on bad content; ``export(document)`` returns the file's bytes.

Hostile files are safe: XML is parsed with defusedxml (no entity expansion, no
external entities), uploads and zip members have size limits, and zip member names
never reach the file system.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from ..interchange import BankDocument

#: Largest file accepted for import (also enforced by the web server's MAX_CONTENT_LENGTH).
MAX_FILE_BYTES = 20 * 1024 * 1024
#: Zip packages (QTI, xlsx): total uncompressed size, one member's size, number of members.
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
MAX_MEMBER_BYTES = 20 * 1024 * 1024
MAX_MEMBERS = 10_000


@dataclass(frozen=True)
class Format:
    name: str  # "yaml", "xlsx", "csv", "gift", "aiken", "moodle-xml", "qti"
    label: str  # shown in the upload form, e.g. "Moodle XML"
    extensions: tuple[str, ...]  # lower-case, with the dot: (".xml",)
    parse: Callable[[bytes, str], BankDocument]
    export: Callable[[BankDocument], bytes] | None = None
    #: Whether the file carries occupation and level (otherwise the user gives them).
    carries_occupation: bool = False
    #: Sniff the content when the extension is ambiguous (.xml, .txt): True if it is this format.
    sniff: Callable[[bytes], bool] | None = None
    media_type: str = "application/octet-stream"


FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    FORMATS[fmt.name] = fmt
    return fmt


def detect_format(data: bytes, filename: str) -> str | None:
    """The format of a file from its extension, sniffing the content when several formats share it."""
    name = (filename or "").lower()
    candidates = [f for f in FORMATS.values() if any(name.endswith(ext) for ext in f.extensions)]
    if len(candidates) == 1:
        return candidates[0].name
    for fmt in candidates or FORMATS.values():
        if fmt.sniff is not None and fmt.sniff(data):
            return fmt.name
    return None


_MODULES = ("yaml_format", "spreadsheet", "gift", "aiken", "moodle_xml", "qti")


def load_all() -> dict[str, Format]:
    """Import every format module (each registers itself) and return the registry."""
    for module in _MODULES:
        importlib.import_module(f"{__name__}.{module}")
    return FORMATS
