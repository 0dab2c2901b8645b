"""延期 and 中止: a team lead asks for more time or a pause, with a reason; a supervisor approves
or refuses from the notice. Nothing moves until approval. An approved extension moves the case's
open deadlines by the days granted; an approved suspension stops the clock (no reminders, no
escalation) and resuming moves every open deadline by the working days it stood still. Each step
is audited and shown in the case history."""

from __future__ import annotations

import enum

from sqlalchemy import select

from handlers.access import Action, decide
from handlers.cases import routing, service
from handlers.cases.replies import INPUT_TTL, act_on_case
from handlers.context import Context
from handlers.events import Button, Reply
from handlers.i18n import Gettext
from handlers.lifecycle import IllegalTransition
from handlers.router import Conversation, Step
from handlers.uow import UnitOfWork
from handlers.workdays import working_days_between
from storage.models import Case, CaseRequest, Deadline, Role, Staff, StaffRole

MAX_EXTENSION_DAYS = 60  # working days one request may ask for; more needs a second request


async def pending(uow: UnitOfWork, case: Case) -> CaseRequest | None:
    req: CaseRequest | None = await uow.session.scalar(select(CaseRequest).where(
        CaseRequest.case_id == case.id, CaseRequest.status == "pending").order_by(CaseRequest.id).limit(1))
    return req


def _open(case: Case) -> None:
    if case.state in routing.CLOSED:
        raise IllegalTransition(case.state, case.state)


async def shift_open_deadlines(uow: UnitOfWork, case: Case, working_days: int, *, only_case: bool = False) -> int:
    """Move the open deadlines of the case (with ``only_case``: its own, not its members' 签收)
    by ``working_days``; reminders start again from the new date. Returns how many moved."""
    q = select(Deadline).where(Deadline.case_id == case.id, Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None))
    if only_case:
        q = q.where(Deadline.subject == "case")
    rows = (await uow.session.scalars(q)).all()
    for d in rows:
        d.due_at = uow.policy.shift(d.due_at, working_days)
        d.reminders_sent = 0
    return len(rows)


async def _supervisors_without_conflict(uow: UnitOfWork, case: Case) -> list[int]:
    ids = sorted(set((await uow.session.scalars(select(StaffRole.staff_id).where(
        StaffRole.role == Role.supervisor.value))).all()))
    out = []
    for sid in ids:
        st = await uow.session.get(Staff, sid)
        if st is not None and st.active and await decide(uow.session, uow.sealer, st, case, Action.approve):
            out.append(sid)
    return out


async def request(uow: UnitOfWork, staff: Staff, case: Case, *, kind: str, reason: str,
                  working_days: int = 0) -> CaseRequest:
    """A team lead (or supervisor) asks; every supervisor without a conflict gets a notice with
    Approve / Refuse buttons."""
    await service.require(uow, staff, case, Action.dispose)
    _open(case)
    if kind == "extension" and not 1 <= working_days <= MAX_EXTENSION_DAYS:
        raise service.Problem("days")
    if kind == "suspension" and case.suspended_at is not None:
        raise service.Problem("already_suspended")
    if await pending(uow, case) is not None:
        raise service.Problem("pending")
    now = uow.now()
    req = CaseRequest(case_id=case.id, kind=kind, working_days=working_days, reason=reason[:1000],
                      requested_by_staff_id=staff.id, requested_at=now, status="pending", decision_reason="")
    uow.session.add(req)
    await uow.session.flush()
    await service.log(uow, staff, case, f"request:{kind}", now, request=req.id, days=working_days)
    ref, cid, name, days = case.reference, case.id, staff.name, working_days

    def render(_: Gettext) -> Reply:
        what = (_("{name} asks for {n} more working days (延期) on case {ref}.").format(name=name, n=days, ref=ref)
                if kind == "extension" else _("{name} asks to suspend (中止) case {ref}.").format(name=name, ref=ref))
        # The reason stays out of the notice (notices carry no case content); it is on the case.
        return Reply(text=what + "\n" + _("Open the case to read the reason, then decide."),
                     buttons=[[Button(label=_("✔ Approve"), data=f"a:case:{cid}.req_ok"),
                               Button(label=_("✖ Refuse"), data=f"a:case:{cid}.req_no")],
                              [Button(label=_("Open the case"), data=f"a:case:{cid}.view")]])

    for sid in await _supervisors_without_conflict(uow, case):
        await uow.outbox.to_staff(sid, render, about=case, kind="case_request", dedupe_key=f"req:{req.id}:{sid}")
    return req


async def decide_request(uow: UnitOfWork, staff: Staff, case: Case, *, approve: bool, reason: str = "") -> CaseRequest:
    await service.require(uow, staff, case, Action.approve)
    req = await pending(uow, case)
    if req is None:
        raise service.Problem("no_request")
    now = uow.now()
    req.status = "approved" if approve else "refused"
    req.decided_by_staff_id, req.decided_at, req.decision_reason = staff.id, now, reason[:1000]
    moved = 0
    if approve and req.kind == "extension":
        # An extension is more time for the work, not for 签收.
        moved = await shift_open_deadlines(uow, case, req.working_days, only_case=True)
    elif approve and req.kind == "suspension":
        case.suspended_at = now
    await service.log(uow, staff, case, f"request:{req.status}", now, request=req.id, kind=req.kind,
                      moved=moved, reason=reason)
    if req.requested_by_staff_id is not None:
        ref, kind, ok, why = case.reference, req.kind, approve, reason

        def render(_: Gettext) -> Reply:
            what = _("extension (延期)") if kind == "extension" else _("suspension (中止)")
            text = (_("Your request for an {what} on case {ref} was approved.") if ok else
                    _("Your request for an {what} on case {ref} was refused: {why}")).format(what=what, ref=ref, why=why)
            return Reply(text=text)

        await uow.outbox.to_staff(req.requested_by_staff_id, render, about=case, kind="case_request_decided",
                                  dedupe_key=f"reqdone:{req.id}")
    return req


async def resume(uow: UnitOfWork, staff: Staff, case: Case) -> int:
    """End a suspension: every open deadline moves by the working days the case stood still."""
    await service.require(uow, staff, case, Action.dispose)
    if case.suspended_at is None:
        raise service.Problem("not_suspended")
    now = uow.now()
    days = max(0, working_days_between(case.suspended_at, now, uow.policy.tz, uow.policy.calendar))
    await shift_open_deadlines(uow, case, days)
    req = await uow.session.scalar(select(CaseRequest).where(
        CaseRequest.case_id == case.id, CaseRequest.kind == "suspension", CaseRequest.status == "approved",
        CaseRequest.resumed_at.is_(None)).order_by(CaseRequest.id.desc()).limit(1))
    if req is not None:
        req.resumed_at = now
    case.suspended_at = None
    await service.log(uow, staff, case, "resume", now, days=days)
    return days


def problem(ctx: Context, p: service.Problem) -> None:
    _ = ctx._
    words = {
        "days": _("Please type a number of working days from 1 to {n}."),
        "pending": _("A request on this case is already waiting for a supervisor's decision."),
        "already_suspended": _("This case is already suspended."),
        "no_request": _("There is no request waiting on this case."),
        "not_suspended": _("This case is not suspended."),
    }
    ctx.reply(words.get(p.code, p.code).format(n=MAX_EXTENSION_DAYS))


class RQ(enum.Enum):
    ext_days = "ext_days"
    ext_reason = "ext_reason"
    susp_reason = "susp_reason"
    refuse_reason = "refuse_reason"


class CaseRequestInput(Conversation):
    """Typed input for 延期 / 中止: how many days and why; and a supervisor's reason to refuse."""

    name = "casereq"
    Steps = RQ
    first = RQ.ext_days
    begin_label = "Ask for more time (on /case)"
    other_entries = {RQ.susp_reason: "Suspend (on /case)", RQ.refuse_reason: "Refuse (on a request notice)"}
    notes = ("Extension and suspension requests and their refusal. /cancel ends it from any state.",)

    async def start(self, ctx: Context, case: Case, step: RQ) -> None:
        await self.open(ctx, ttl=INPUT_TTL, data={"case_id": case.id}, step=step)

    async def ask_ext_days(self, ctx: Context) -> None:
        ctx.reply(ctx._("How many more working days are needed? (a number from 1 to {n})").format(n=MAX_EXTENSION_DAYS))

    async def ask_ext_reason(self, ctx: Context) -> None:
        ctx.reply(ctx._("Why is more time needed? (one sentence, recorded with the request)"))

    async def ask_susp_reason(self, ctx: Context) -> None:
        ctx.reply(ctx._("Why should the case be suspended? (one sentence, recorded with the request)"))

    async def ask_refuse_reason(self, ctx: Context) -> None:
        ctx.reply(ctx._("Why is the request refused? (one sentence, the lead is told)"))

    async def on_ext_days(self, ctx: Context) -> None:
        t = (ctx.text or "").strip()
        if not (t.isascii() and t.isdigit()) or not 1 <= int(t) <= MAX_EXTENSION_DAYS:
            ctx.reply(ctx._("Please type a number of working days from 1 to {n}.").format(n=MAX_EXTENSION_DAYS))
            return
        ctx.state.data["days"] = int(t)
        await self.go(ctx, RQ.ext_reason)

    async def on_ext_reason(self, ctx: Context) -> None:
        await self._do(ctx, RQ.ext_reason)

    async def on_susp_reason(self, ctx: Context) -> None:
        await self._do(ctx, RQ.susp_reason)

    async def on_refuse_reason(self, ctx: Context) -> None:
        await self._do(ctx, RQ.refuse_reason)

    async def _do(self, ctx: Context, step: RQ) -> None:
        _ = ctx._
        reason = (ctx.text or "").strip()
        days = int(ctx.state.data.get("days") or 0)

        async def act(staff: Staff, case: Case) -> None:
            if step is RQ.refuse_reason:
                await decide_request(ctx.uow, staff, case, approve=False, reason=reason)
                ctx.reply(_("Request refused for case {ref}; the lead has been told.").format(ref=case.reference))
                return
            kind = "extension" if step is RQ.ext_reason else "suspension"
            await request(ctx.uow, staff, case, kind=kind, reason=reason, working_days=days)
            ctx.reply(_("Request sent to the supervisors for case {ref}. Nothing changes until one of them "
                        "approves.").format(ref=case.reference))

        await act_on_case(ctx, reason, Action.approve if step is RQ.refuse_reason else Action.dispose, act,
                          on_problem=problem)

    steps = {
        RQ.ext_days: Step(on_ext_days, ask_ext_days, goes={RQ.ext_reason: "number typed"}),
        RQ.ext_reason: Step(on_ext_reason, ask_ext_reason, back=RQ.ext_days,
                            ends="reason typed (supervisors asked to decide)"),
        RQ.susp_reason: Step(on_susp_reason, ask_susp_reason, ends="reason typed (supervisors asked to decide)"),
        RQ.refuse_reason: Step(on_refuse_reason, ask_refuse_reason, ends="reason typed (request refused, lead told)"),
    }


CASE_REQUEST = CaseRequestInput()


# -- the verbs (rows in handlers.cases.verbs.VERBS) -----------------------------------------


async def verb_extend(ctx: Context, staff: Staff, case: Case) -> None:
    await CASE_REQUEST.start(ctx, case, RQ.ext_days)


async def verb_suspend(ctx: Context, staff: Staff, case: Case) -> None:
    await CASE_REQUEST.start(ctx, case, RQ.susp_reason)


async def verb_refuse(ctx: Context, staff: Staff, case: Case) -> None:
    if await pending(ctx.uow, case) is None:
        ctx.reply(ctx._("There is no request waiting on this case."))
        return
    await CASE_REQUEST.start(ctx, case, RQ.refuse_reason)


async def verb_approve(ctx: Context, staff: Staff, case: Case) -> None:
    try:
        req = await decide_request(ctx.uow, staff, case, approve=True)
    except service.Problem as p:
        problem(ctx, p)
        return
    if req.kind == "extension":
        ctx.reply(ctx._("Extension approved for case {ref}: its open deadlines moved by {n} working days.").format(
            ref=case.reference, n=req.working_days))
    else:
        ctx.reply(ctx._("Suspension approved for case {ref}: its clock stands still until it is resumed.").format(
            ref=case.reference))


async def verb_resume(ctx: Context, staff: Staff, case: Case) -> None:
    try:
        days = await resume(ctx.uow, staff, case)
    except service.Problem as p:
        problem(ctx, p)
        return
    ctx.reply(ctx._("Case {ref} resumed; its open deadlines moved by the {n} working days it was suspended.").format(
        ref=case.reference, n=days))
