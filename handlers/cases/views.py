"""How a case reads on a phone, for one person, as the access policy allows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import Action, Facts, allowed
from handlers.context import Context
from handlers.events import Button
from handlers.i18n import N_, labelled
from storage.models import (
    Assignment,
    AssignmentMember,
    Case,
    CaseState,
    Deadline,
    Disposal,
    JointGroup,
    Staff,
    Tip,
    TipMessage,
    Unit,
)

SOURCE_WORDS = {
    "public_report": N_("public report (信访举报)"),
    "inspection_handover": N_("inspection handover (巡视巡察移交)"),
    "audit_handover": N_("audit handover (审计移交)"),
    "superior_referral": N_("referral from above (上级交办)"),
    "self_found": N_("found by ourselves (自主发现)"),
}
STATE_WORDS = {
    "received": N_("received, awaiting acceptance"),
    "accepted": N_("accepted, awaiting a team"),
    "forwarded": N_("forwarded to another body"),
    "assigned": N_("assigned, awaiting acknowledgement"),
    "acknowledged": N_("acknowledged, in hand"),
    "disposed": N_("disposal recorded"),
    "filed": N_("filed for investigation (立案)"),
    "concluded": N_("concluded (办结)"),
    "feedback_given": N_("concluded, reporter informed"),
}
DISPOSAL_WORDS = {
    Disposal.talk_inquiry.value: N_("talk or letter inquiry (谈话函询)"),
    Disposal.preliminary_verification.value: N_("preliminary verification (初步核实)"),
    Disposal.shelved.value: N_("shelved for later (暂存待查)"),
    Disposal.closed_no_action.value: N_("closed, no action (予以了结)"),
}


def fmt_time(ctx: Context, dt: datetime | None) -> str:
    return dt.astimezone(ctx.config.tz).strftime("%Y-%m-%d %H:%M") if dt else "-"


async def next_deadline(session: AsyncSession, case: Case) -> datetime | None:
    due: datetime | None = await session.scalar(select(Deadline.due_at).where(
        Deadline.case_id == case.id, Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None))
        .order_by(Deadline.due_at).limit(1))
    return due


def act(ctx: Context, label: str, case: Case, verb: str) -> Button:
    return ctx.action(label, "case", f"{case.id}.{verb}")


async def render_case(ctx: Context, case: Case, f: Facts) -> None:
    _ = ctx._
    s = ctx.session
    unit = await s.get(Unit, case.unit_id) if case.unit_id else None
    group = await s.get(JointGroup, case.joint_group_id) if case.joint_group_id else None
    lines = [
        _("Case {ref}").format(ref=case.reference),
        _("Source: {v}").format(v=_(SOURCE_WORDS.get(case.source, case.source))),
        _("State: {v}").format(v=_(STATE_WORDS.get(case.state, case.state))),
        _("Unit concerned: {v}").format(v=unit.name_for(ctx.lang) if unit else _("not yet known (intake)")),
        _("Joint group: {v}").format(v=group.name_for(ctx.lang) if group else "-"),
        _("Next deadline: {v}").format(v=fmt_time(ctx, await next_deadline(s, case))),
    ]
    from handlers.cases.joint_units import card_lines

    lines += await card_lines(ctx, case)
    if case.disposal:
        lines.append(_("Disposal: {v}").format(v=_(DISPOSAL_WORDS[case.disposal])))
    if case.forwarded_to:
        lines.append(_("Forwarded to: {v}").format(v=case.forwarded_to))
    if case.people_disciplined is not None:
        lines.append(_("People disciplined: {n}").format(n=case.people_disciplined))
    from handlers.cases.casework import extra_rows, status_lines

    lines += await status_lines(ctx, case)
    if allowed(f, Action.view_content):
        lines += await _content(ctx, case)
    team = (await s.execute(select(AssignmentMember, Staff).join(Staff, Staff.id == AssignmentMember.staff_id)
                            .join(Assignment, Assignment.id == AssignmentMember.assignment_id)
                            .where(Assignment.case_id == case.id, Assignment.status == "confirmed",
                                   AssignmentMember.left_at.is_(None))
                            .order_by(AssignmentMember.id))).all()
    if team and allowed(f, Action.view_content):
        from handlers.cases.service import ROLE_WORDS

        lines.append(_("Team:"))
        for m, st in team:
            ack = _("acknowledged") if m.acknowledged_at else _("not yet acknowledged")
            lines.append(f"  • {st.name} ({_(ROLE_WORDS[m.role])}, {ack})")
    from handlers.cases import feedback
    from handlers.cases.signoff import offer

    ctx.reply("\n".join(lines), buttons=await offer(ctx, case) + _buttons(ctx, case, f) +
              await feedback.buttons(ctx, case, f) + await extra_rows(ctx, case, f))


async def _content(ctx: Context, case: Case) -> list[str]:
    _ = ctx._
    s, sealer = ctx.session, ctx.sealer
    out = []
    if case.summary_enc and case.key_id:
        out.append(_("Summary: {v}").format(v=sealer.open_text(case.key_id, case.summary_enc)))
    if case.tip_id:
        tip = await s.get(Tip, case.tip_id)
        if tip:
            if tip.subject_enc:
                out.append(_("Reported about: {v}").format(v=sealer.open_text(tip.key_id, tip.subject_enc)))
            if tip.people_enc:
                out.append(_("People named: {v}").format(v=sealer.open_text(tip.key_id, tip.people_enc)))
            out.append(_("What was reported: {v}").format(v=sealer.open_text(tip.key_id, tip.body_enc)))
            out.append(_("Reporter: {v}").format(v=_("anonymous") if tip.anonymous else _("named (contact on file)")))
            for m in (await s.scalars(select(TipMessage).where(TipMessage.tip_id == tip.id).order_by(TipMessage.id))).all():
                label = _("Reporter's answer") if m.question_id else _("Reporter added")
                out.append(labelled(_, label, sealer.open_text(m.key_id, m.body_enc)))
    from handlers.cases.evidence import case_files, note_lines
    from handlers.cases.feedback import content_lines

    out.append(_("Files: {n}").format(n=len(await case_files(s, case))))
    out += await note_lines(ctx, case)
    return out + await content_lines(ctx, case)


def _buttons(ctx: Context, case: Case, f: Facts) -> list[list[Button]]:
    _ = ctx._
    rows: list[list[Button]] = []
    st = case.state
    if allowed(f, Action.accept) and st == CaseState.received.value and (case.joint_group_id or case.level == "supervisors"):
        rows.append([act(ctx, _("Accept (受理)"), case, "accept"), act(ctx, _("Forward (转办)"), case, "forward")])
    if allowed(f, Action.propose_team) and st in (CaseState.accepted.value, CaseState.assigned.value,
                                                  CaseState.acknowledged.value):
        rows.append([act(ctx, _("Propose a team"), case, "team")])
    if allowed(f, Action.dispose):
        if st == CaseState.acknowledged.value:
            rows += [[act(ctx, _(DISPOSAL_WORDS[d.value]), case, f"disp_{d.value}")] for d in Disposal]
        if st == CaseState.disposed.value:
            rows.append([act(ctx, _("File (立案)"), case, "file"), act(ctx, _("Conclude (办结)"), case, "conclude")])
        if st == CaseState.filed.value:
            rows.append([act(ctx, _("Conclude (办结)"), case, "conclude")])
        if st == CaseState.concluded.value:
            rows.append([act(ctx, _("Feedback given to the reporter"), case, "feedback")])
    extra = []
    if allowed(f, Action.ask_reporter) and case.tip_id and st not in ("concluded", "feedback_given", "forwarded"):
        extra.append(act(ctx, _("Ask the reporter"), case, "ask"))
    if allowed(f, Action.note):
        extra.append(act(ctx, _("Add a note"), case, "note"))
    if allowed(f, Action.view_content):
        extra.append(act(ctx, _("Files"), case, "files"))
    if extra:
        rows.append(extra)
    if allowed(f, Action.change_unit) and case.unit_id is not None and st not in ("concluded", "feedback_given", "forwarded"):
        rows.append([act(ctx, _("Change the unit"), case, "unit")])
    return rows
