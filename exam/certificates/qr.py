"""QR codes of certificate links, as SVG (pure).

Error correction M, byte mode, the smallest version that holds the link (a link to a
base URL of up to about 55 characters fits version 9: 53 modules, printed 25 mm wide
that is 0.47 mm a module). The mask is fixed instead of chosen by trying all eight,
which makes a code in about 1 ms instead of 9; any mask is valid for decoders.
"""
from __future__ import annotations

from dataclasses import dataclass

import qrcode
from qrcode import constants, util

ERROR_CORRECTION = constants.ERROR_CORRECT_M
MASK_PATTERN = 2
QUIET_ZONE = 4  #: modules of white border the standard asks for
MAX_VERSION = 40


@dataclass(frozen=True)
class QrCode:
    version: int
    #: Modules per side, without the quiet zone.
    size: int
    svg: str


def smallest_version(data: bytes) -> int:
    """The smallest version whose byte-mode capacity at level M holds ``data``."""
    for version in range(1, MAX_VERSION + 1):
        bits = 4 + util.length_in_bits(util.MODE_8BIT_BYTE, version) + 8 * len(data)
        if bits <= util.BIT_LIMIT_TABLE[ERROR_CORRECTION][version]:
            return version
    raise ValueError("too long for a QR code")


def make_qr(text: str, *, dark: str = "#000") -> QrCode:
    """The QR code of ``text`` as an SVG drawing one path, quiet zone included."""
    data = text.encode("utf-8")
    version = smallest_version(data)
    code = qrcode.QRCode(version=version, error_correction=ERROR_CORRECTION, border=QUIET_ZONE,
                         mask_pattern=MASK_PATTERN)
    code.add_data(util.QRData(data, mode=util.MODE_8BIT_BYTE), optimize=0)
    code.make(fit=False)
    matrix = code.get_matrix()
    side = len(matrix)
    runs = []  # each horizontal run of dark modules is one stroke, one module thick
    for y, row in enumerate(matrix):
        x = 0
        while x < side:
            if row[x]:
                start = x
                while x < side and row[x]:
                    x += 1
                runs.append(f"M{start} {y}.5h{x - start}")
            else:
                x += 1
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}">'
           f'<rect width="{side}" height="{side}" fill="#fff"/>'
           f'<path stroke="{dark}" stroke-width="1" d="{"".join(runs)}"/></svg>')
    return QrCode(version=version, size=side - 2 * QUIET_ZONE, svg=svg)
