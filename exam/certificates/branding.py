"""The issuing body's logo and seal on certificates: checking uploads, and a specimen seal.

Uploads are re-encoded (which drops metadata and anything hidden after the image) and
scaled to what print needs; the seal must keep its transparency, so that the name and
date under it show through as under a real stamp.
"""
from __future__ import annotations

import io
import math

from flask_babel import gettext
from PIL import Image, ImageDraw, ImageFont, ImageStat, UnidentifiedImageError

from .pdf import FONTS_DIR

MAX_BYTES = 4 * 1024 * 1024
MAX_PIXELS = 30_000_000
#: Longest side after scaling: a 38 mm seal at 300 dpi, a 14 mm high logo at 500 dpi.
SEAL_SIDE = 450
LOGO_SIDE = 300
#: Levels of transparency a seal keeps (its edges stay smooth; the PDF stays small).
SEAL_ALPHA_LEVELS = 16
SEAL_RED = (200, 22, 29)


class ImageRejected(ValueError):
    """Not a usable image; ``str()`` is the reason shown to the admin."""


def _open(data: bytes) -> Image.Image:
    if not data:
        raise ImageRejected(gettext("Choose an image file."))
    if len(data) > MAX_BYTES:
        raise ImageRejected(gettext("The image is larger than %(mb)s MB.", mb=MAX_BYTES // (1024 * 1024)))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ("PNG", "JPEG", "WEBP"):
                raise ImageRejected(gettext("Use a PNG image."))
            if probe.width * probe.height > MAX_PIXELS:
                raise ImageRejected(gettext("The image has too many pixels."))
            probe.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
        return image
    except ImageRejected:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ImageRejected(gettext("This file is not a readable image.")) from None


def _png(image: Image.Image, side: int) -> bytes:
    image.thumbnail((side, side), Image.LANCZOS)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def normalise_seal(data: bytes) -> bytes:
    """The seal as an RGBA PNG of at most 600 px a side.

    :raise ImageRejected: not an image, or without transparency (a seal on a white square
        would hide the text under it).
    """
    image = _open(data)
    if image.format != "PNG" or "A" not in image.getbands() and "transparency" not in image.info:
        raise ImageRejected(gettext("The seal must be a PNG with a transparent background."))
    image = image.convert("RGBA")
    alpha_min, _ = image.getchannel("A").getextrema()
    if alpha_min == 255:
        raise ImageRejected(gettext("The seal must be a PNG with a transparent background."))
    return _one_ink(image)


def _one_ink(image: Image.Image) -> bytes:
    """The seal in one ink colour (its average, weighted by opacity) with 16 levels of opacity:
    a stamp is one ink, and so it costs the PDF about 20 KB instead of 100."""
    image.thumbnail((SEAL_SIDE, SEAL_SIDE), Image.LANCZOS)
    alpha = image.getchannel("A")
    inked = alpha.point(lambda v: 255 if v > 128 else 0)
    if inked.getbbox() is None:
        raise ImageRejected(gettext("The seal image is empty."))
    ink = tuple(round(v) for v in ImageStat.Stat(image.convert("RGB"), inked).mean)
    step = 256 // SEAL_ALPHA_LEVELS
    stamped = Image.new("RGBA", image.size, ink + (0,))
    stamped.putalpha(alpha.point(lambda v: min(255, (v // step) * (255 // (SEAL_ALPHA_LEVELS - 1)))))
    out = io.BytesIO()
    stamped.save(out, "PNG", optimize=True)
    return out.getvalue()


def normalise_logo(data: bytes) -> bytes:
    """The logo as a PNG (transparency kept when present) of at most 600 px a side."""
    image = _open(data)
    image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    return _png(image, LOGO_SIDE)


def specimen_seal(name: str, bottom: str = "样章") -> bytes:
    """A drawn seal (red ring, star, ``name`` round the top, ``bottom`` below the star) for
    demonstrations and tests; clearly marked 样章 (specimen) by default."""
    big = SEAL_SIDE * 2
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    red = SEAL_RED + (235,)
    ring = big * 0.035
    draw.ellipse((ring, ring, big - ring, big - ring), outline=red, width=int(ring * 1.3))
    centre = big / 2
    star_outer, star_inner = big * 0.13, big * 0.052
    points = []
    for k in range(10):
        radius = star_outer if k % 2 == 0 else star_inner
        angle = -math.pi / 2 + k * math.pi / 5
        points.append((centre + radius * math.cos(angle), centre + radius * math.sin(angle)))
    draw.polygon(points, fill=red)
    font_path = str(FONTS_DIR / "CertSerifSC-Regular.otf")
    text = name[:16] or "?"
    char_size = int(big * (0.115 if len(text) <= 10 else 0.09))
    font = ImageFont.truetype(font_path, char_size)
    radius = big / 2 - ring * 2.6 - char_size / 2
    spread = min(math.radians(240), math.radians(24) * len(text))
    for i, ch in enumerate(text):
        angle = -math.pi / 2 - spread / 2 + (spread * (i + 0.5) / len(text))
        tile = Image.new("RGBA", (char_size * 2, char_size * 2), (0, 0, 0, 0))
        ImageDraw.Draw(tile).text((char_size, char_size), ch, font=font, fill=red, anchor="mm",
                                  stroke_width=max(1, char_size // 40), stroke_fill=red)
        tile = tile.rotate(-math.degrees(angle + math.pi / 2), resample=Image.BICUBIC)
        x = centre + radius * math.cos(angle) - char_size
        y = centre + radius * math.sin(angle) - char_size
        image.alpha_composite(tile, (int(x), int(y)))
    if bottom:
        bottom_font = ImageFont.truetype(font_path, int(big * 0.085))
        draw.text((centre, centre + big * 0.25), bottom, font=bottom_font, fill=red, anchor="mm",
                  stroke_width=2, stroke_fill=red)
    return _one_ink(image)
