"""Build the certificate fonts: Noto Serif CJK SC cut down to what certificates print.

    python scripts/build_certificate_font.py [--source-dir DIR] [--out-dir DIR]

WeasyPrint embeds a subset of each font a PDF uses, but that subset keeps an (empty)
entry for every glyph up to the highest one used, so both the size of the font file and
the position of the characters in it count. Built from the system's Noto Serif CJK
collections (Debian: fonts-noto-cjk), Simplified Chinese face (font number 2):

* ``CertSerifSC-Regular.otf``: GB2312 (all 6,763 hanzi and its symbols), ASCII and a few
  symbols, one glyph per character (no layout alternates), ordered so that what every
  certificate prints comes first, then the 3,755 common hanzi, then the 3,008 rarer ones.
* ``CertSerifSC-Bold.otf``: only the characters the template sets in bold (the title,
  the labels, the level names and the watermarks) and ASCII. Run this script again after
  changing that text; until then missing bold characters come from the system font.

Names with characters outside GB2312 (生僻字 such as 堃 or 喆) still print: the
certificate's CSS falls back to the full system font for them. Both fonts are renamed
("CertSerif SC"), being Modified Versions under the SIL Open Font License 1.1, whose
text and the original copyright notice go to ``OFL.txt`` beside them.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exam.certificates.levels import LEVEL_NAMES  # noqa: E402
from exam.certificates.pdf import WATERMARKS  # noqa: E402
from exam.accounts.idnumbers import ID_TYPE_NAMES_ZH  # noqa: E402

TEMPLATE = ROOT / "templates" / "certificates" / "pdf" / "certificate.html"
DEFAULT_SOURCE_DIR = Path("/usr/share/fonts/opentype/noto")
DEFAULT_OUT_DIR = ROOT / "exam" / "certificates" / "fonts"
#: Inside NotoSerifCJK-*.ttc the faces are JP, KR, SC, TC, HK: SC is font number 2.
SC_FONT_NUMBER = 2
SC_FAMILY = "Noto Serif CJK SC"
FAMILY = "CertSerif SC"
SOURCES = {"Regular": "NotoSerifCJK-Regular.ttc", "Bold": "NotoSerifCJK-Bold.ttc"}
ASCII = "".join(chr(c) for c in range(0x20, 0x7F))
#: Punctuation and symbols beyond GB2312 and ASCII, and variants of GB2312's in other code points.
EXTRA = "·‧•–—―‘’“”…‰′″※№℃€©®™°±×÷／－～　、。〃〈〉《》「」『』【】〔〕〖〗"


def gb2312_rows(first: int, last: int) -> str:
    """The characters of GB2312 rows ``first``–``last`` in table order (unassigned cells skipped).

    Rows A1–A9 are symbols, B0–D7 the 3,755 level-1 (common) hanzi in pinyin order, D8–F7
    the 3,008 level-2 hanzi by radical.
    """
    chars = []
    for row in range(first, last + 1):
        for cell in range(0xA1, 0xFF):
            try:
                chars.append(bytes((row, cell)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return "".join(chars)


def template_text() -> str:
    """The fixed text of the certificate template (markup and template code removed)."""
    source = TEMPLATE.read_text(encoding="utf-8")
    source = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", source, flags=re.S)
    return re.sub(r"<[^>]*>", " ", source)


def printed_everywhere() -> str:
    """What every certificate prints, whoever holds it."""
    return (ASCII + template_text() + "".join(LEVEL_NAMES.values()) + "".join(WATERMARKS.values())
            + "".join(ID_TYPE_NAMES_ZH.values()) + "年月日")


def ordered(*groups: str) -> list[str]:
    """The characters of ``groups`` in order, each once, without control characters."""
    seen, result = set(), []
    for ch in "".join(groups):
        if ch not in seen and ch.isprintable():
            seen.add(ch)
            result.append(ch)
    return result


def characters(weight: str) -> list[str]:
    if weight == "Bold":
        return ordered(ASCII, template_text(), "".join(LEVEL_NAMES.values()), "".join(WATERMARKS.values()))
    return ordered(printed_everywhere(), EXTRA, gb2312_rows(0xA1, 0xA9), gb2312_rows(0xB0, 0xD7),
                   gb2312_rows(0xD8, 0xF7))


def _reorder(font, chars: list[str]) -> None:
    """Put the glyphs in the order of ``chars`` (.notdef first): CFF writes its charstrings in
    charset order, and hmtx and cmap follow the glyph names."""
    cmap = font.getBestCmap()
    order, seen = [".notdef"], {".notdef"}
    for ch in chars:
        name = cmap.get(ord(ch))
        if name and name not in seen:
            seen.add(name)
            order.append(name)
    order += [g for g in font.getGlyphOrder() if g not in seen]
    top = font["CFF "].cff.topDictIndex[0]
    if hasattr(top, "FDSelect"):  # CID-keyed: each glyph's font dict follows it
        fd_of = dict(zip(top.charset, top.FDSelect.gidArray))
        top.FDSelect.gidArray = [fd_of[name] for name in order]
    top.charset = order
    font.setGlyphOrder(order)


def _rename(font, weight: str) -> None:
    """Give the subset its own family name, so it is never mistaken for the full font."""
    ps_name = f"{FAMILY.replace(' ', '')}-{weight}"
    names = {1: FAMILY, 2: weight, 3: f"{ps_name};certificate subset", 4: f"{FAMILY} {weight}",
             6: ps_name, 16: FAMILY, 17: weight}
    table = font["name"]
    for name_id in names:
        table.removeNames(nameID=name_id)
    for name_id, value in names.items():
        table.setName(value, name_id, 3, 1, 0x409)
        table.setName(value, name_id, 1, 0, 0)
    cff = font["CFF "].cff
    cff.fontNames = [ps_name]
    top = cff.topDictIndex[0]
    top.FullName = f"{FAMILY} {weight}"
    top.FamilyName = FAMILY


def build(source_dir: Path, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written, copyright_line = [], ""
    for weight, filename in SOURCES.items():
        font = TTCollection(str(source_dir / filename)).fonts[SC_FONT_NUMBER]
        family = font["name"].getDebugName(1)
        if family != SC_FAMILY:
            raise SystemExit(f"{filename} font number {SC_FONT_NUMBER} is {family!r}, not {SC_FAMILY!r}")
        copyright_line = font["name"].getDebugName(0) or copyright_line
        chars = characters(weight)
        options = subset.Options()
        options.name_IDs = ["*"]  # keep the copyright, licence and licence URL records
        options.name_languages = ["*"]
        options.hinting = False  # printing does not need hints
        options.notdef_outline = True
        # Horizontal text needs no glyph alternates: without layout features each character
        # has one glyph (with them the closure doubles the count).
        options.layout_features = []
        options.drop_tables += ["vhea", "vmtx", "VORG"]
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=[ord(c) for c in chars])
        subsetter.subset(font)
        _reorder(font, chars)
        _rename(font, weight)
        path = out_dir / f"{FAMILY.replace(' ', '')}-{weight}.otf"
        font.save(str(path))
        written.append(path)
    licence = out_dir / "OFL.txt"
    licence.write_text(licence_text(copyright_line), encoding="utf-8")
    written.append(licence)
    return written


def licence_text(copyright_line: str) -> str:
    return (f"{FAMILY} Regular and Bold are subsets of Noto Serif CJK SC, renamed and with their\n"
            f"glyphs reordered; made with scripts/build_certificate_font.py.\n\n"
            f"Noto Serif CJK: {copyright_line}\n\n"
            f"This Font Software is licensed under the SIL Open Font License, Version 1.1.\n"
            f"This license is copied below, and is also available with a FAQ at:\n"
            f"https://openfontlicense.org\n\n{OFL_1_1}")


OFL_1_1 = """\
-----------------------------------------------------------
SIL OPEN FONT LICENSE Version 1.1 - 26 February 2007
-----------------------------------------------------------

PREAMBLE
The goals of the Open Font License (OFL) are to stimulate worldwide
development of collaborative font projects, to support the font creation
efforts of academic and linguistic communities, and to provide a free and
open framework in which fonts may be shared and improved in partnership
with others.

The OFL allows the licensed fonts to be used, studied, modified and
redistributed freely as long as they are not sold by themselves. The
fonts, including any derivative works, can be bundled, embedded,
redistributed and/or sold with any software provided that any reserved
names are not used by derivative works. The fonts and derivatives,
however, cannot be released under any other type of license. The
requirement for fonts to remain under this license does not apply
to any document created using the fonts or their derivatives.

DEFINITIONS
"Font Software" refers to the set of files released by the Copyright
Holder(s) under this license and clearly marked as such. This may
include source files, build scripts and documentation.

"Reserved Font Name" refers to any names specified as such after the
copyright statement(s).

"Original Version" refers to the collection of Font Software components as
distributed by the Copyright Holder(s).

"Modified Version" refers to any derivative made by adding to, deleting,
or substituting -- in part or in whole -- any of the components of the
Original Version, by changing formats or by porting the Font Software to a
new environment.

"Author" refers to any designer, engineer, programmer, technical
writer or other person who contributed to the Font Software.

PERMISSION & CONDITIONS
Permission is hereby granted, free of charge, to any person obtaining
a copy of the Font Software, to use, study, copy, merge, embed, modify,
redistribute, and sell modified and unmodified copies of the Font
Software, subject to the following conditions:

1) Neither the Font Software nor any of its individual components,
in Original or Modified Versions, may be sold by itself.

2) Original or Modified Versions of the Font Software may be bundled,
redistributed and/or sold with any software, provided that each copy
contains the above copyright notice and this license. These can be
included either as stand-alone text files, human-readable headers or
in the appropriate machine-readable metadata fields within text or
binary files as long as those fields can be easily viewed by the user.

3) No Modified Version of the Font Software may use the Reserved Font
Name(s) unless explicit written permission is granted by the corresponding
Copyright Holder. This restriction only applies to the primary font name as
presented to the users.

4) The name(s) of the Copyright Holder(s) or the Author(s) of the Font
Software shall not be used to promote, endorse or advertise any
Modified Version, except to acknowledge the contribution(s) of the
Copyright Holder(s) and the Author(s) or with their explicit written
permission.

5) The Font Software, modified or unmodified, in part or in whole,
must be distributed entirely under this license, and must not be
distributed under any other license. The requirement for fonts to
remain under this license does not apply to any document created
using the Font Software.

TERMINATION
This license becomes null and void if any of the above conditions are
not met.

DISCLAIMER
THE FONT SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO ANY WARRANTIES OF
MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT
OF COPYRIGHT, PATENT, TRADEMARK, OR OTHER RIGHT. IN NO EVENT SHALL THE
COPYRIGHT HOLDER BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY,
INCLUDING ANY GENERAL, SPECIAL, INDIRECT, INCIDENTAL, OR CONSEQUENTIAL
DAMAGES, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
FROM, OUT OF THE USE OR INABILITY TO USE THE FONT SOFTWARE OR FROM
OTHER DEALINGS IN THE FONT SOFTWARE.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", type=Path, default=DEFAULT_SOURCE_DIR)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args()
    for path in build(args.source_dir, args.out_dir):
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
              f"{path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
