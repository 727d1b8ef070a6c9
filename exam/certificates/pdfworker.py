"""Imported by the fork server of batch rendering (``pdf.render_batch``), so that every worker
process starts with WeasyPrint imported, the fonts loaded and the stylesheet parsed: a cold
process spends about a second on its first certificate, a warm one a tenth of that."""
from . import pdf

pdf.warm_up()
