"""Certificate PDFs: A4, one page per certificate, drawn by WeasyPrint from an HTML template.

Pure with respect to the application: everything printed arrives in
``PrintedCertificate`` and ``Branding``, so worker processes render without Flask or
a database. Each thread keeps its WeasyPrint font configuration and parsed stylesheet,
which makes every certificate after the first several times faster.

Fonts: ``fonts/CertSerifSC-*.otf`` (Noto Serif CJK SC cut down to GB2312, see
``scripts/build_certificate_font.py``) is embedded as a subset, so a PDF prints the
same everywhere; characters it lacks (生僻字 in names) fall back to the full system
Noto Serif CJK through the CSS ``font-family`` list.

Batches: ``render_batch`` splits the certificates into one chunk per process, each
process renders its chunk as one document, and ``pdfmerge`` joins the documents.
"""
from __future__ import annotations

import atexit
import base64
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from pathlib import Path

import jinja2

from . import ornament, pdfmerge
from .qr import make_qr

PACKAGE_DIR = Path(__file__).resolve().parent
FONTS_DIR = PACKAGE_DIR / "fonts"
TEMPLATE_DIR = PACKAGE_DIR.parent.parent / "templates" / "certificates" / "pdf"
#: Diagonal text across pages that are not a valid certificate (the bold font holds these).
WATERMARKS = {"specimen": "样本", "revoked": "已撤销", "superseded": "已作废"}
#: The label column of the particulars: labels are spread over this width (11 pt characters).
LABEL_WIDTH_MM = 27.0
LABEL_SIZE_MM = 11 * 25.4 / 72
#: Below this many certificates a batch renders in this process (starting workers costs more).
MIN_PARALLEL_BATCH = 8


@dataclass(frozen=True)
class PrintedCertificate:
    """What one certificate page prints, as text (and the photo's bytes)."""

    number: str
    holder_name: str
    id_type_name: str
    id_number: str
    occupation_name: str
    work_type: str
    level_name: str
    issued_on: date
    issuer_name: str
    #: The signed verification link the QR code holds.
    link: str
    photo: bytes | None = None
    photo_type: str = "image/jpeg"
    #: Large diagonal text across the page: 样本 (specimen), 已撤销 (revoked)…
    watermark: str | None = None


@dataclass(frozen=True)
class Branding:
    """The issuing body's images and the lookup address printed under the certificate."""

    lookup_address: str
    logo: bytes | None = None
    seal: bytes | None = None
    logo_type: str = "image/png"
    seal_type: str = "image/png"


@dataclass
class _Renderer:
    """WeasyPrint state worth keeping between certificates (one per thread)."""

    full_font: bool
    font_config: object = field(init=False)
    stylesheet: object = field(init=False)
    template: jinja2.Template = field(init=False)

    def __post_init__(self):
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        self.font_config = FontConfiguration()
        css = (TEMPLATE_DIR / "certificate.css").read_text(encoding="utf-8")
        if not self.full_font:
            css = font_faces() + css
        self.stylesheet = CSS(string=css, font_config=self.font_config)
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True)
        self.template = env.get_template("certificate.html")

    def render(self, certificates: list[PrintedCertificate], branding: Branding) -> bytes:
        from weasyprint import HTML

        html = self.template.render(
            certificates=[_page_context(c) for c in certificates],
            branding=_branding_context(branding), label_width=LABEL_WIDTH_MM,
            label_size=LABEL_SIZE_MM, **_ornaments())
        return HTML(string=html).write_pdf(stylesheets=[self.stylesheet],
                                           font_config=self.font_config, pdf_version="1.4")


_local = threading.local()
# WeasyPrint's font configuration cleans up in __del__, which fails if it runs while the
# interpreter is tearing modules down: let go of this thread's renderers before that.
atexit.register(lambda: _local.__dict__.clear())


def _renderer(full_font: bool) -> _Renderer:
    key = "full" if full_font else "subset"
    renderer = getattr(_local, key, None)
    if renderer is None:
        renderer = _Renderer(full_font)
        setattr(_local, key, renderer)
    return renderer


def font_faces() -> str:
    """@font-face rules for the bundled fonts.

    The bold face has a family of its own: within one family fontconfig prefers the face that
    covers the page's language over the requested weight, and the bold subset is too small to
    count as covering Chinese, so it would never be chosen.
    """
    return "".join(
        f'@font-face {{ font-family: "{family}"; font-weight: {weight}; '
        f'src: url("{(FONTS_DIR / filename).as_uri()}"); }}\n'
        for family, weight, filename in (("CertSerif", "normal", "CertSerifSC-Regular.otf"),
                                         ("CertSerifBold", "bold", "CertSerifSC-Bold.otf")))


def _data_uri(data: bytes | None, content_type: str) -> str | None:
    if not data:
        return None
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


@lru_cache(maxsize=1)
def _ornaments() -> dict[str, str]:
    """The border and the divider as data URIs (drawn once per process)."""
    return {"frame_uri": _data_uri(ornament.frame_svg().encode("utf-8"), "image/svg+xml"),
            "divider_uri": _data_uri(ornament.divider_svg().encode("utf-8"), "image/svg+xml")}


def chinese_date(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def _page_context(c: PrintedCertificate) -> dict:
    return {
        "number": c.number, "holder_name": c.holder_name, "id_type_name": c.id_type_name,
        "id_number": c.id_number, "occupation_name": c.occupation_name, "work_type": c.work_type,
        "level_name": c.level_name, "issuer_name": c.issuer_name, "watermark": c.watermark,
        "issued_on_text": chinese_date(c.issued_on), "qr_svg": make_qr(c.link).svg,
        "photo_uri": _data_uri(c.photo, c.photo_type),
    }


def _branding_context(b: Branding) -> dict:
    return {"logo_uri": _data_uri(b.logo, b.logo_type), "seal_uri": _data_uri(b.seal, b.seal_type),
            "lookup_address": b.lookup_address}


def render_pdf(certificates: list[PrintedCertificate], branding: Branding, *,
               full_font: bool = False) -> bytes:
    """One PDF with a page per certificate, rendered in this process.

    ``full_font`` uses the full system font instead of the subset (for comparison only).
    """
    if not certificates:
        raise ValueError("no certificates to render")
    return _renderer(full_font).render(list(certificates), branding)


def _render_chunk(args: tuple[list[PrintedCertificate], Branding]) -> bytes:
    certificates, branding = args
    return render_pdf(certificates, branding)


def warm_up() -> None:
    """Render a specimen once, so this thread's fonts, stylesheet and template are loaded."""
    sample = PrintedCertificate(
        number="Y000000000000001000001", holder_name="样本", id_type_name="居民身份证",
        id_number="000000000000000000", occupation_name="样本", work_type="--", level_name="五级/初级工",
        issued_on=date(2000, 1, 1), issuer_name="样本", link="https://example.invalid/")
    render_pdf([sample], Branding(lookup_address="example.invalid/verify"))


def _pool_context():
    """Fork server: workers are forked from a clean, single-threaded process that has loaded the
    renderer (``pdfworker``), not from a copy of a web server (threads, database connections)."""
    try:
        context = multiprocessing.get_context("forkserver")
    except ValueError:  # platforms without fork
        return multiprocessing.get_context("spawn")
    context.set_forkserver_preload([f"{__package__}.pdfworker"])
    return context


def render_batch(certificates: list[PrintedCertificate], branding: Branding, *,
                 processes: int = 2) -> bytes:
    """One PDF of many certificates, rendered by ``processes`` worker processes in parallel."""
    certificates = list(certificates)
    if processes <= 1 or len(certificates) < MIN_PARALLEL_BATCH:
        return render_pdf(certificates, branding)
    size = -(-len(certificates) // processes)
    chunks = [(certificates[i:i + size], branding) for i in range(0, len(certificates), size)]
    with ProcessPoolExecutor(max_workers=len(chunks), mp_context=_pool_context()) as pool:
        documents = list(pool.map(_render_chunk, chunks))
    return pdfmerge.merge(documents)


def specimen(certificate: PrintedCertificate) -> PrintedCertificate:
    return replace(certificate, watermark=WATERMARKS["specimen"])
