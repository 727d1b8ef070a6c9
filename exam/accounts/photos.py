"""Candidate photos: checked (real image, allowed type, size) and normalised to a clean JPEG."""
from __future__ import annotations

import io

from flask_babel import gettext
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}
MIN_WIDTH, MIN_HEIGHT = 120, 160
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding
OUTPUT_BOX = (600, 800)


class PhotoRejected(ValueError):
    pass


def normalise_photo(data: bytes, max_bytes: int) -> bytes:
    """Return the photo re-encoded as JPEG (at most 600×800, no metadata).

    Re-encoding drops EXIF data (location, device) and anything hidden after the image.

    :raise PhotoRejected: with the reason shown to the user.
    """
    if not data:
        raise PhotoRejected(gettext("Choose a photo file."))
    if len(data) > max_bytes:
        raise PhotoRejected(gettext("The photo is larger than %(mb)s MB.", mb=max_bytes // (1024 * 1024)))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            width, height = probe.size
            if fmt not in ALLOWED_FORMATS:
                raise PhotoRejected(gettext("Use a JPEG or PNG photo."))
            if width * height > MAX_PIXELS:
                raise PhotoRejected(gettext("The photo has too many pixels."))
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)
            if image.width < MIN_WIDTH or image.height < MIN_HEIGHT:
                raise PhotoRejected(gettext("The photo must be at least %(w)d×%(h)d pixels.",
                                            w=MIN_WIDTH, h=MIN_HEIGHT))
            image = image.convert("RGB")
            image.thumbnail(OUTPUT_BOX)
            out = io.BytesIO()
            image.save(out, "JPEG", quality=88, optimize=True)
            return out.getvalue()
    except PhotoRejected:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise PhotoRejected(gettext("This file is not a readable image.")) from None
