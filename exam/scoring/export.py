"""The results list as an Excel workbook (成绩表), for the body's records and the provincial report."""
from __future__ import annotations

import io
from datetime import timedelta

from flask_babel import gettext
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from ..accounts.idnumbers import mask_id_number
from ..core.web import localtime
from .forms import COMPONENT_LABELS, STATE_LABELS
from .results import SessionResults

HEADER_FILL = PatternFill("solid", fgColor="DCE6F2")


def results_workbook(data: SessionResults, *, full_ids: bool) -> bytes:
    """One row per candidate: ticket, name, ID (masked unless ``full_ids``), each component's
    score and state, the result and any appeal."""
    session = data.session
    components = [c for c in ("theory", "practical", "review") if session.has(c)]
    wb = Workbook()
    ws = wb.active
    ws.title = gettext("Results")[:31]
    ws.append([f"{session.name}（{session.code}）"])
    ws["A1"].font = Font(bold=True, size=13)
    if data.publication:
        ws.append([gettext("Published %(start)s; publication ends %(end)s; appeals until %(appeal)s.",
                           start=localtime(data.publication.published_at),
                           end=localtime(data.publication.ends_at - timedelta(seconds=1), "yyyy-MM-dd"),
                           appeal=localtime(data.publication.appeal_ends_at - timedelta(seconds=1), "yyyy-MM-dd"))])
    else:
        ws.append([gettext("Not published yet.")])
    header = [gettext("Ticket number"), gettext("Candidate"), gettext("ID number")]
    for c in components:
        header += [f"{COMPONENT_LABELS[c]}", f"{COMPONENT_LABELS[c]} · {gettext('State')}"]
    header += [gettext("Overall result"), gettext("Notes"), gettext("Appeal")]
    ws.append(header)
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for row in data.rows:
        result = row.result
        id_number = row.user.id_number or ""
        line = [row.enrolment.ticket_no or "", row.user.real_name,
                id_number if full_ids else mask_id_number(id_number)]
        for c in components:
            in_result = result is not None and c in result.components
            score = result.score_of(c) if in_result else None
            line += [float(score) if score is not None else None,
                     str(STATE_LABELS.get(result.states.get(c), "")) if in_result else gettext("not sat")]
        if result is None or result.passed is None:
            outcome = gettext("Pending")
        else:
            outcome = gettext("Passed") if result.passed else gettext("Failed")
        notes = []
        if result is not None:
            if result.practical_veto:
                notes.append(gettext("Veto item (★): practical failed"))
            if result.notes.get("theory_scaled_from"):
                notes.append(gettext("Theory scaled to 100 from %(total)s points",
                                     total=result.notes["theory_scaled_from"]))
            if result.corrections:
                notes.append(gettext("Corrected on appeal"))
        appeal = ""
        if row.appeal is not None:
            appeal = gettext("awaiting reply") if row.appeal.status == "open" else gettext("replied")
        line += [outcome, "；".join(notes), appeal]
        ws.append(line)
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, float):
                cell.number_format = "0.00"
    widths = [14, 12, 22] + [12, 10] * len(components) + [10, 36, 10]
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = ws.cell(row=header_row + 1, column=3)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
