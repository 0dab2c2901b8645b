"""The campaign report: the figures the organisers publish (reports collected, people talked
to, problems found, clues handed over, cases opened) per subgroup and target, the two-way
evaluations for supervisors, as a table that becomes text, CSV or XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from handlers.campaigns import service
from handlers.i18n import N_, Gettext, lang_of
from handlers.uow import UnitOfWork
from storage.models import Campaign, CampaignTarget, TaskKind

COLUMNS = [N_("subgroup"), N_("target"), N_("reports collected"), N_("people talked to"), N_("problems found"),
           N_("clues handed over"), N_("cases opened"), N_("tasks done"), N_("tasks overdue")]
DIRECTION_WORDS = {"host_to_subgroup": N_("host rates subgroup"), "subgroup_to_host": N_("subgroup rates host")}


async def table(uow: UnitOfWork, _: Gettext, c: Campaign, targets: Sequence[CampaignTarget], *,
                with_evaluations: bool) -> list[list[object]]:
    """Rows of the report for the ``targets`` the reader may see."""
    lines = await service.progress(uow, c, targets, lang_of(_))
    rows: list[list[object]] = [[_(h) for h in COLUMNS]]
    totals = [0] * 7
    for ln in lines:
        opened = await service.cases_opened(uow.session, c, [ln.target_id])
        figs = [ln.figures[k.value] for k in TaskKind] + [opened, ln.done, ln.overdue]
        totals = [a + b for a, b in zip(totals, figs, strict=True)]
        rows.append([ln.subgroup, ln.target, *figs])
    rows.append([_("total"), "", *totals])
    if with_evaluations:
        rows.append([])
        rows.append([_("subgroup"), _("two-way evaluation"), *[_(service.AXIS_WORDS[a]) for a in service.AXES],
                     _("note")])
        for number, e in await service.evaluations(uow.session, c):
            note = uow.sealer.open_text(e.key_id, e.note_enc) if e.key_id and e.note_enc else ""
            rows.append([number, _(DIRECTION_WORDS[e.direction]), e.quality, e.ability, e.conduct, note])
    return rows


def as_text(rows: list[list[object]]) -> str:
    return "\n".join(" | ".join(str(v) for v in r) for r in rows if r)


def as_csv(rows: list[list[object]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens it as UTF-8


def as_xlsx(rows: list[list[object]], title: str) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    for r in rows:
        ws.append(r)
    ws.column_dimensions["B"].width = 30
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
