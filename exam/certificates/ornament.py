"""The certificate's border and watermark, drawn as SVG (pure; built once per process).

A4 portrait in millimetres: a red double rule, a band of 回纹 (fret) squares between
gold rules, corner rosettes, and a faint rosette of fine circles behind the text, the kind of
fine line work that makes a photocopy look like one.
"""
from __future__ import annotations

import math
from functools import lru_cache

WIDTH, HEIGHT = 210.0, 297.0
RED = "#9e1b1b"
GOLD = "#b48a3c"
GUILLOCHE = "#efe5cf"


def _fmt(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text if text != "-0" else "0"


def _fret(x: float, y: float, size: float) -> str:
    """One 回 square spiral: outer square open at the bottom-left, turning inwards twice."""
    s = size
    points = [(0, s), (0, 0), (s, 0), (s, s), (s * .25, s), (s * .25, s * .25), (s * .75, s * .25),
              (s * .75, s * .75), (s * .5, s * .75)]
    return "M" + " ".join(f"{_fmt(x + px)} {_fmt(y + py)}" for px, py in points)


def _circle(cx: float, cy: float, r: float) -> str:
    """A circle as two arcs of a path (many circles in one path draw much faster than as nodes)."""
    return (f"M{_fmt(cx + r)} {_fmt(cy)}a{_fmt(r)} {_fmt(r)} 0 1 0 {_fmt(-2 * r)} 0"
            f"a{_fmt(r)} {_fmt(r)} 0 1 0 {_fmt(2 * r)} 0z")


def _rect(inset: float) -> str:
    return (f"M{_fmt(inset)} {_fmt(inset)}H{_fmt(WIDTH - inset)}V{_fmt(HEIGHT - inset)}"
            f"H{_fmt(inset)}Z")


def _band(inset: float, width: float) -> tuple[str, str]:
    """(pattern definition, rectangles it fills): fret squares along the four sides of the band
    between ``inset`` and ``inset + width``, tiled by the PDF itself.

    A pattern tile starts at the top left of the shape it fills, so each strip is shortened to
    a whole number of tiles and centred between the corners.
    """
    size, pitch = width * 0.62, width
    offset = (pitch - size) / 2
    defs = (f'<pattern id="fret" patternUnits="userSpaceOnUse" width="{_fmt(pitch)}" '
            f'height="{_fmt(pitch)}"><path d="{_fret(offset, offset, size)}" fill="none" '
            f'stroke="{GOLD}" stroke-width=".45"/></pattern>')
    fills = []
    for x, y, w, h in (  # each strip between the corner squares
            (inset + width, inset, WIDTH - 2 * (inset + width), width),
            (inset + width, HEIGHT - inset - width, WIDTH - 2 * (inset + width), width),
            (inset, inset + width, width, HEIGHT - 2 * (inset + width)),
            (WIDTH - inset - width, inset + width, width, HEIGHT - 2 * (inset + width))):
        if w > h:
            whole = (w // pitch) * pitch
            x, w = x + (w - whole) / 2, whole
        else:
            whole = (h // pitch) * pitch
            y, h = y + (h - whole) / 2, whole
        fills.append(f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(w)}" height="{_fmt(h)}" '
                     f'fill="url(#fret)"/>')
    return defs, "".join(fills)


def _rosette_rings(cx: float, cy: float) -> str:
    """Rings of overlapping circles, the rolling-circle look of banknote rosettes."""
    parts = []
    for count, distance, radius in ((48, 30, 26), (36, 14, 15), (24, 44, 9)):
        for k in range(count):
            angle = 2 * math.pi * k / count
            parts.append(_circle(cx + distance * math.cos(angle), cy + distance * math.sin(angle), radius))
    return "".join(parts) + _circle(cx, cy, 56) + _circle(cx, cy, 57.2)


@lru_cache(maxsize=1)
def frame_svg() -> str:
    """The whole page's border and watermark, 210 × 297 mm, in a handful of SVG elements."""
    outer, band_width = 9.0, 6.0
    band_in = outer + 2.2
    inner = band_in + band_width + 1.6
    corner = band_in + band_width / 2
    centres = [(x, y) for x in (corner, WIDTH - corner) for y in (corner, HEIGHT - corner)]
    defs, band = _band(band_in, band_width)
    squares = "".join(f"M{_fmt(x - 5)} {_fmt(y - 5)}h10v10h-10z" for x, y in centres)
    lozenges = "".join(f"M{_fmt(x)} {_fmt(y - 4.5)}L{_fmt(x + 4.5)} {_fmt(y)}L{_fmt(x)} {_fmt(y + 4.5)}"
                       f"L{_fmt(x - 4.5)} {_fmt(y)}Z" for x, y in centres)
    petals = "".join(_circle(x + 1.3 * math.cos(k * math.pi / 3), y + 1.3 * math.sin(k * math.pi / 3), 1.3)
                     for x, y in centres for k in range(6))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_fmt(WIDTH)}mm" height="{_fmt(HEIGHT)}mm" '
        f'viewBox="0 0 {_fmt(WIDTH)} {_fmt(HEIGHT)}"><defs>{defs}</defs>'
        f'<path d="{_rosette_rings(WIDTH / 2, 150)}" fill="none" stroke="{GUILLOCHE}" stroke-width=".22"/>'
        f'{band}'
        f'<path d="{_rect(outer)}" fill="none" stroke="{RED}" stroke-width="1.1"/>'
        f'<path d="{_rect(outer + 1.3)}{_rect(inner)}" fill="none" stroke="{RED}" stroke-width=".4"/>'
        f'<path d="{_rect(band_in)}{_rect(band_in + band_width)}" fill="none" stroke="{GOLD}" '
        f'stroke-width=".35"/>'
        f'<path d="{squares}" fill="#fff" stroke="{RED}" stroke-width=".5"/>'
        f'<path d="{lozenges}" fill="none" stroke="{GOLD}" stroke-width=".35"/>'
        f'<path d="{petals}" fill="none" stroke="{RED}" stroke-width=".25"/></svg>')


def divider_svg(width: float = 120.0) -> str:
    """A rule with a lozenge in the middle, under the title."""
    mid = width / 2
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_fmt(width)} 6">'
            f'<path d="M0 3H{_fmt(mid - 6)}M{_fmt(mid + 6)} 3H{_fmt(width)}" stroke="{GOLD}" stroke-width=".5"/>'
            f'<path d="M{_fmt(mid - 5)} 3L{_fmt(mid)} .5L{_fmt(mid + 5)} 3L{_fmt(mid)} 5.5Z" fill="{RED}"/>'
            f'<path d="M{_fmt(mid - 2.5)} 3L{_fmt(mid)} 1.75L{_fmt(mid + 2.5)} 3L{_fmt(mid)} 4.25Z" fill="#fff"/>'
            f'</svg>')
