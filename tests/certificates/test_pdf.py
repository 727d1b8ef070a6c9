"""The certificate PDF: one A4 page, everything printed, a QR code that decodes to a link that
verifies, rare characters that really print, a batch that keeps every page."""
from __future__ import annotations

import re
import subprocess
import zlib

from exam.certificates import pdf, services
from exam.certificates.qr import make_qr

from .conftest import decode_qr_codes, pdf_page_png, pdf_text, require_tool

A4_POINTS = (595.28, 841.89)


def _page_sizes(pdf_bytes: bytes) -> list[tuple[float, float]]:
    return [(float(w), float(h)) for w, h in
            re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf_bytes)]


def test_the_printed_qr_code_decodes_to_a_link_that_verifies(issued, tmp_path):
    org, actor, session, cert = issued
    document = services.certificate_pdf(cert)
    assert _page_sizes(document) == [A4_POINTS] or all(
        abs(w - A4_POINTS[0]) < .1 and abs(h - A4_POINTS[1]) < .1 for w, h in _page_sizes(document))
    assert len(_page_sizes(document)) == 1
    [decoded] = decode_qr_codes(pdf_page_png(document, tmp_path, resolution=150))
    assert decoded == services.link(cert)
    assert decoded.startswith("https://verify.example.test/c/" + cert.number + "?k=")
    number = decoded.split("/c/")[1].split("?")[0]
    kid, signature = (part.split("=", 1)[1] for part in decoded.split("?")[1].split("&"))
    outcome = services.verify(number, kid, signature)
    assert (outcome.result, outcome.signature) == ("valid", "valid")


def test_every_field_is_printed(issued, tmp_path):
    org, actor, session, cert = issued
    text = re.sub(r"\s+", "", pdf_text(services.certificate_pdf(cert), tmp_path))
    for expected in ("职业技能等级证书", cert.issuer_name, "2026年", "王小明", "居民身份证",
                     cert.holder_id_number, "电工", "工种/职业方向", "--", "四级/中级工", cert.number,
                     "技能人才评价证书全国联网查询系统", "verify.example.test/verify", "发证日期"):
        assert expected in text, expected


def test_the_link_fits_qr_version_9_at_level_m(issued):
    org, actor, session, cert = issued
    link = services.link(cert)
    assert len(link) == len("https://verify.example.test") + 125
    code = make_qr(link)
    assert code.version <= 9
    # A base address of 55 characters still fits version 9 (180 bytes at level M).
    assert make_qr("https://" + "x" * 47 + link[len("https://verify.example.test"):]).version == 9


def _content_streams(pdf_bytes: bytes) -> list[bytes]:
    streams = []
    for match in re.finditer(rb"<<([^>]*?/Filter /FlateDecode[^>]*?)>>\nstream\n", pdf_bytes):
        if b"/Subtype /OpenType" in match.group(1):
            continue
        length = int(re.search(rb"/Length (\d+)", match.group(1)).group(1))
        streams.append(zlib.decompress(pdf_bytes[match.end():match.end() + length]))
    return streams


def _glyph_ids(pdf_bytes: bytes) -> set[int]:
    """Glyph ids drawn by text operators (WeasyPrint writes them as 4-digit hex in TJ arrays)."""
    ids = set()
    for stream in _content_streams(pdf_bytes):
        for array in re.findall(rb"\[([^\]]*)\]\s*TJ", stream):
            for hexa in re.findall(rb"<([0-9a-fA-F]+)>", array):
                ids.update(int(hexa[i:i + 4], 16) for i in range(0, len(hexa), 4))
    return ids


def test_rare_characters_in_names_print_from_the_fallback_font(world, tmp_path):
    org = world.org("RARE")
    actor = world.actor(org)
    session = world.session(org)
    enrolment = world.enrol(session, world.candidate(org, "王堃喆昇"))
    [cert] = services.issue_for_session(actor, session.id, [enrolment.id])
    document = services.certificate_pdf(cert)
    text = pdf_text(document, tmp_path)
    assert "王堃喆昇" in re.sub(r"\s+", "", text)
    assert "\ufffd" not in text
    fonts = subprocess.run([require_tool("pdffonts"), str(tmp_path / "text.pdf")],
                           capture_output=True, text=True, check=True).stdout
    assert "CertSerif" in fonts  # the bundled subset
    assert "Noto-Serif-CJK-SC" in fonts  # the fallback, for 堃, 喆 and 昇 only
    assert all(line.split()[-5:-3] == ["yes", "yes"] for line in fonts.splitlines()[2:])  # embedded subsets
    glyphs = _glyph_ids(document)
    assert len(glyphs) > 80 and 0 not in glyphs  # text was found, and no .notdef (tofu) in it


def test_common_names_use_only_the_bundled_fonts(issued, tmp_path):
    org, actor, session, cert = issued
    pdf_text(services.certificate_pdf(cert), tmp_path)
    fonts = subprocess.run([require_tool("pdffonts"), str(tmp_path / "text.pdf")],
                           capture_output=True, text=True, check=True).stdout
    names = [line.split()[0] for line in fonts.splitlines()[2:]]
    assert len(names) == 2 and all("CertSerif" in n for n in names), names


def test_a_session_batch_is_one_pdf_with_a_page_per_certificate(world, tmp_path):
    org = world.org("BATCH")
    actor = world.actor(org)
    session = world.session(org)
    names = [f"学员{chr(0x4e00 + i)}" for i in range(pdf.MIN_PARALLEL_BATCH + 1)]
    enrolments = world.enrolled(session, names)
    issued = services.issue_for_session(actor, session.id, [e.id for e in enrolments])
    services.revoke_certificate(actor, issued[0].id, "作废")
    _, document = services.session_pdf(actor, session.id, processes=2)
    assert len(_page_sizes(document)) == len(names) - 1  # the revoked one is left out
    text = re.sub(r"\s+", "", pdf_text(document, tmp_path))
    assert all(c.number in text for c in issued[1:]) and issued[0].number not in text
    assert text.index(issued[1].number) < text.index(issued[-1].number)
    last_page = pdf_page_png(document, tmp_path, resolution=150, page=len(names) - 1)
    assert decode_qr_codes(last_page) == [services.link(issued[-1])]


def test_not_valid_certificates_print_with_a_watermark(issued, tmp_path):
    org, actor, session, cert = issued
    services.revoke_certificate(actor, cert.id, "作废")
    text = pdf_text(services.certificate_pdf(cert), tmp_path)
    assert set("已撤销") <= set(text)  # rotated across the page: extracted a character at a time


def test_specimen_shows_the_seal_and_says_specimen(issued, tmp_path):
    org, actor, session, cert = issued
    from exam.certificates.branding import specimen_seal

    services.update_branding(actor, org.id, seal=specimen_seal(org.name))
    document = services.specimen_pdf(actor, org.id)
    assert set("样本") <= set(pdf_text(document, tmp_path))
    assert b"/Subtype /Image" in document
