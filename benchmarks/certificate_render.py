"""Certificate PDF rendering: time and size per certificate, subset font against full font,
and batch throughput with one and two processes.

    .venv/bin/python benchmarks/certificate_render.py [--count 40] [--repeat 15]

Runs without a database: the certificates are built in memory with a realistic photo
(300 × 420 JPEG, as issuing stores it) and a seal. Times are medians of warm renders
(the first render of a process loads the fonts and is reported separately).
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageDraw, ImageFilter  # noqa: E402

from exam.certificates import pdf, pdfmerge  # noqa: E402
from exam.certificates.qr import make_qr  # noqa: E402

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志文玉梅红"


def photo(seed: int) -> bytes:
    """A face-and-shoulders photo with texture and noise, JPEG as issuing stores it."""
    image = Image.effect_noise((300, 420), 40).convert("RGB")
    image = Image.blend(Image.new("RGB", (300, 420), (250, 250, 250)), image, 0.12)
    draw = ImageDraw.Draw(image)
    draw.ellipse((90, 60, 210, 210), fill=(225 - seed % 20, 188, 160))
    draw.rectangle((50, 250, 250, 420), fill=(35, 55 + seed % 40, 105))
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def certificates(count: int) -> list[pdf.PrintedCertificate]:
    result = []
    for i in range(count):
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)] + GIVEN[(i * 3 + 1) % len(GIVEN)]
        number = f"Y000111010001264{i + 1:06d}"
        result.append(pdf.PrintedCertificate(
            number=number, holder_name=name, id_type_name="居民身份证",
            id_number=f"1101051990{i % 12 + 1:02d}01{i % 1000:03d}X", occupation_name="电工",
            work_type="--", level_name="四级/中级工", issued_on=date(2026, 3, 2),
            issuer_name="示范技能人才评价中心",
            link=f"https://verify.example.cn/c/{number}?k=k5q3zt7a&s=" + "Q" * 85 + "A",
            photo=photo(i)))
    return result


def branding() -> pdf.Branding:
    from flask import Flask

    from exam.certificates.branding import specimen_seal

    with Flask(__name__).app_context():  # translated error messages need an app
        seal = specimen_seal("示范技能人才评价中心")
    return pdf.Branding(lookup_address="verify.example.cn/verify", seal=seal)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def per_certificate(certs, brand, full_font: bool, repeat: int) -> dict:
    first_started = time.perf_counter()
    pdf.render_pdf([certs[0]], brand, full_font=full_font)
    first = time.perf_counter() - first_started
    times, cpu, sizes = [], [], []
    for i in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        document = pdf.render_pdf([certs[i % len(certs)]], brand, full_font=full_font)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        sizes.append(len(document))
    return {"first_ms": first * 1000, "median_ms": median_ms(times), "cpu_ms": median_ms(cpu),
            "kb": statistics.median(sizes) / 1024, "max_kb": max(sizes) / 1024}


def _one(args):
    cert, brand = args
    return pdf.render_pdf([cert], brand)


def batch_separate_pages(certs, brand, processes: int) -> bytes:
    """The other way: a document per certificate (in workers), then merged."""
    if processes == 1:
        return pdfmerge.merge([pdf.render_pdf([c], brand) for c in certs])
    with ProcessPoolExecutor(processes, mp_context=pdf._pool_context()) as pool:
        return pdfmerge.merge(list(pool.map(_one, [(c, brand) for c in certs], chunksize=4)))


def timed(label: str, func, count: int, runs: int) -> dict:
    """Best of ``runs`` (the least disturbed by other work on the machine)."""
    elapsed = []
    for _ in range(runs):
        started = time.perf_counter()
        document = func()
        elapsed.append(time.perf_counter() - started)
        assert document.count(b"/Type /Page/") == count, label
    best = min(elapsed)
    print(f"  {label:<58} {best:6.2f} s  {count / best:6.1f} certificates/s  "
          f"{len(document) / 1024:7.0f} KB   (runs: {', '.join(f'{e:.2f}' for e in elapsed)} s)")
    return {"label": label, "seconds": best, "per_second": count / best, "kb": len(document) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="certificates in the batch")
    parser.add_argument("--repeat", type=int, default=15, help="warm renders per font")
    parser.add_argument("--runs", type=int, default=3, help="runs of each batch variant (best is shown)")
    args = parser.parse_args()
    certs, brand = certificates(max(args.count, 2)), branding()
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the start "
          f"(other work on the machine slows the wall times; CPU times are less affected)")

    qr_times = []
    for cert in certs[:20]:
        started = time.perf_counter()
        make_qr(cert.link)
        qr_times.append(time.perf_counter() - started)
    print(f"QR code (SVG, version {make_qr(certs[0].link).version}, {len(certs[0].link)}-character link, "
          f"fixed mask): {median_ms(qr_times):.1f} ms")

    print("One certificate, warm (median of", args.repeat, "renders):")
    for label, full in (("subset font (bundled CertSerif SC)", False),
                        ("full font (system Noto Serif CJK SC)", True)):
        r = per_certificate(certs, brand, full, args.repeat)
        print(f"  {label:<40} {r['median_ms']:5.0f} ms wall, {r['cpu_ms']:4.0f} ms CPU "
              f"(first {r['first_ms']:.0f} ms)  {r['kb']:4.0f} KB (max {r['max_kb']:.0f})")

    count = args.count
    started = time.perf_counter()
    pdf.render_batch(certs[:pdf.MIN_PARALLEL_BATCH], brand, processes=2)
    print(f"Starting the fork server (once per application process; it preloads a warm renderer): "
          f"{time.perf_counter() - started:.2f} s")
    print(f"Batch of {count} certificates as one PDF (worker start-up included), best of {args.runs}:")
    runs = args.runs
    timed("1 process, one document", lambda: pdf.render_pdf(certs[:count], brand), count, runs)
    timed("2 processes, a document per process, merged (render_batch)",
          lambda: pdf.render_batch(certs[:count], brand, processes=2), count, runs)
    timed("1 process, a document per certificate, merged",
          lambda: batch_separate_pages(certs[:count], brand, 1), count, runs)
    timed("2 processes, a document per certificate, merged",
          lambda: batch_separate_pages(certs[:count], brand, 2), count, runs)
    print(f"Load average {os.getloadavg()[0]:.1f} at the end.")


if __name__ == "__main__":
    main()
