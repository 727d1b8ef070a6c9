"""Join PDF documents written by WeasyPrint (pydyf, PDF 1.4) into one (pure).

Batch rendering makes one document per worker process; this concatenates their pages.
It reads only what pydyf writes with ``pdf_version="1.4"`` (a classic cross-reference
table, no object streams, one flat page tree) and refuses anything else, rather than
being a general PDF library. Each page keeps the objects it reaches (contents, fonts,
images); catalogues, outlines and document information are dropped, and the pages get a
new page tree.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_HEADER = b"%PDF-1.4\n%\xf0\x9f\x96\xa4\n"
_OBJECT = re.compile(rb"(\d+) 0 obj\n")
#: A literal string (pydyf escapes every parenthesis inside one) or an indirect reference.
_STRING_OR_REF = re.compile(rb"\((?:\\.|[^\\()])*\)|(\d+) 0 R\b", re.S)
_PARENT = re.compile(rb"/Parent \d+ 0 R")
_LENGTH = re.compile(rb"/Length (\d+)\b")


class MergeError(ValueError):
    """Not a document this module can join."""


@dataclass
class _Object:
    head: bytes
    stream: bytes | None = None


def _read(pdf: bytes) -> tuple[dict[int, _Object], int]:
    """The objects of ``pdf`` by number, and the number of its catalogue."""
    if not pdf.startswith(b"%PDF-"):
        raise MergeError("not a PDF")
    try:
        xref_at = int(pdf[pdf.rindex(b"startxref") + 9:].split()[0])
    except ValueError:
        raise MergeError("no cross-reference position") from None
    if pdf[xref_at:xref_at + 5] != b"xref\n":
        raise MergeError("not a classic cross-reference table (write with pdf_version='1.4')")
    lines = pdf[xref_at:].split(b"\n")
    first, count = (int(v) for v in lines[1].split())
    offsets = {}
    for i in range(count):
        offset, _, kind = lines[2 + i].split()[:3]
        if kind == b"n":
            offsets[first + i] = int(offset)
    trailer = pdf[pdf.index(b"trailer", xref_at):]
    root = re.search(rb"/Root (\d+) 0 R", trailer)
    if root is None:
        raise MergeError("no catalogue")
    objects = {}
    for number, offset in offsets.items():
        match = _OBJECT.match(pdf, offset)
        if match is None or int(match.group(1)) != number:
            raise MergeError(f"object {number} is not where the table says")
        start = match.end()
        end = pdf.find(b"\nendobj", start)
        stream_at = pdf.find(b"\nstream\n", start)
        if stream_at != -1 and (end == -1 or stream_at < end):
            head = pdf[start:stream_at]
            length = _LENGTH.search(head)
            if length is None:
                raise MergeError(f"stream {number} has no direct length")
            data_at = stream_at + len(b"\nstream\n")
            data = pdf[data_at:data_at + int(length.group(1))]
            if not pdf.startswith(b"\nendstream", data_at + len(data)):
                raise MergeError(f"stream {number} does not end where its length says")
            objects[number] = _Object(head, data)
        else:
            if end == -1:
                raise MergeError(f"object {number} does not end")
            objects[number] = _Object(pdf[start:end])
    return objects, int(root.group(1))


def _references(head: bytes) -> list[int]:
    return [int(m.group(1)) for m in _STRING_OR_REF.finditer(head) if m.group(1)]


def _renumber(head: bytes, numbers: dict[int, int]) -> bytes:
    def replace(match: re.Match) -> bytes:
        if match.group(1) is None:
            return match.group(0)
        return b"%d 0 R" % numbers[int(match.group(1))]
    return _STRING_OR_REF.sub(replace, head)


def _pages(objects: dict[int, _Object], root: int) -> list[int]:
    pages_ref = re.search(rb"/Pages (\d+) 0 R", objects[root].head)
    if pages_ref is None:
        raise MergeError("the catalogue has no page tree")
    tree = objects[int(pages_ref.group(1))].head
    kids = re.search(rb"/Kids \[([^\]]*)\]", tree)
    if kids is None:
        raise MergeError("the page tree has no kids")
    pages = _references(kids.group(1))
    for number in pages:
        if b"/Type /Page/" not in objects[number].head + b"/":
            raise MergeError("nested page trees are not supported")
    return pages


def merge(documents: list[bytes]) -> bytes:
    """One PDF with the pages of ``documents``, in order."""
    if len(documents) == 1:
        return documents[0]
    if not documents:
        raise MergeError("nothing to merge")
    out_objects: list[_Object] = []  # object n is out_objects[n - 3]; 1 is the page tree, 2 the catalogue
    kids: list[int] = []
    language = None
    for pdf in documents:
        objects, root = _read(pdf)
        if language is None:
            found = re.search(rb"/Lang (\([^)]*\))", objects[root].head)
            language = found.group(1) if found else b""
        pages = _pages(objects, root)
        keep, todo = set(), list(pages)
        while todo:  # everything the pages reach, except back up the tree through /Parent
            number = todo.pop()
            if number in keep:
                continue
            keep.add(number)
            todo.extend(_references(_PARENT.sub(b"", objects[number].head)))
        numbers = {}
        for number in sorted(keep):
            numbers[number] = len(out_objects) + 3
            out_objects.append(objects[number])
        for number in sorted(keep):
            obj = objects[number]
            head = _renumber(_PARENT.sub(b"/Parent \0", obj.head), numbers)
            out_objects[numbers[number] - 3] = _Object(head.replace(b"/Parent \0", b"/Parent 1 0 R"),
                                                       obj.stream)
        kids.extend(numbers[p] for p in pages)

    chunks, offsets, position = [_HEADER], [], len(_HEADER)
    tree = _Object(b"<</Type /Pages/Kids [" + b" ".join(b"%d 0 R" % k for k in kids)
                   + b"]/Count %d>>" % len(kids))
    catalogue = _Object(b"<</Type /Catalog/Pages 1 0 R" + (b"/Lang " + language if language else b"")
                        + b">>")
    for number, obj in enumerate([tree, catalogue] + out_objects, start=1):
        body = b"%d 0 obj\n" % number + obj.head
        if obj.stream is not None:
            body += b"\nstream\n" + obj.stream + b"\nendstream"
        body += b"\nendobj\n"
        offsets.append(position)
        chunks.append(body)
        position += len(body)
    size = len(offsets) + 1
    xref = [b"xref\n0 %d\n0000000000 65535 f \n" % size]
    xref += [b"%010d 00000 n \n" % offset for offset in offsets]
    chunks += xref
    chunks.append(b"trailer\n<</Size %d/Root 2 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (size, position))
    return b"".join(chunks)
