"""提级 and 下转 (rules §15): a case goes one level up, to the supervisors, or back down to a
joint group, with the reason recorded; the level that receives it must take it up within the
policy's ``transfer`` limit (5 working days).

A report about the leadership of the joint group that would handle it goes up by itself: when
the people it names include a lead of an office of that group (the head of the stationed office
is one of them) — by name, with titles, spaces or other words around it, or by surname and title —
or name the head of one of its offices by title, it is routed to the supervisors and never reaches
that group.
"""

from __future__ import annotations

import enum
import re
import unicodedata

from sqlalchemy import select

from handlers.access import Action, people_text
from handlers.cases import service
from handlers.cases.replies import INPUT_TTL, act_on_case, not_found
from handlers.context import Context
from handlers.events import Button, Reply
from handlers.i18n import Gettext
from handlers.lifecycle import IllegalTransition
from handlers.router import Conversation, Step
from handlers.schedule.deadlines import settle, start_case_deadlines
from handlers.uow import UnitOfWork
from storage.models import (
    Case,
    CaseState,
    CaseTransfer,
    JointGroup,
    Office,
    Role,
    Staff,
    StaffRole,
    Unit,
    office_units,
)

TRANSFERABLE = (CaseState.received.value, CaseState.accepted.value)
AUTO_REASON = "the report names a lead of the joint group that would handle it"


HEAD_TITLES = ("组长", "副组长")  # an inspection office's leadership, after a surname: "黄组长"
# The head of an inspection office named by title: "派驻纪检监察组组长", "纪检组长", "联组组长".
TITLE = re.compile(r"(?:派驻)?(?:纪检监察组|纪检组|监察组|派驻组|联组)副?组长|纪检副?组长")
SEGMENT = re.compile(r"[，。；;,、（）()：:！？!?]")


def plain(text: str) -> str:
    """For comparing names: full-width forms folded, spaces and name dots removed."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if not ch.isspace() and ch not in "·•・.")


def names_person(people: str, name: str) -> bool:
    """Whether the people text names this person: the full name anywhere (with titles, spaces or
    other words around it), or the surname with an inspection-office title ("黄组长")."""
    p, n = plain(people), plain(name)
    if len(n) < 2:
        return False
    if n in p:
        return True
    surnames = {n[:1]} | ({n[:2]} if len(n) >= 4 else set())  # 欧阳, 司马…: four-character names
    return any(s + t in p for s in surnames for t in HEAD_TITLES)


def office_tokens(office: str, units: list[str]) -> set[str]:
    """The words by which a report may point at an office: its post without "驻…纪检监察组" and
    its units' names, each also without the leading "省"."""
    words = {plain(office).removeprefix("驻").removesuffix("纪检监察组"), *map(plain, units)}
    return {w for word in words for w in (word, word.removeprefix("省")) if len(w) >= 2}


def names_office_head(people: str, group: list[set[str]], others: list[set[str]]) -> bool:
    """Whether the people text names, by title, the head of an office of the group (``group``:
    each office's :func:`office_tokens`; ``others``: those of the offices outside the group). A
    title with no office before it ("派驻纪检监察组组长") is the office stationed at the unit
    concerned, which is in the group; one after another office's words is that office's."""
    p = plain(people)
    for m in TITLE.finditer(p):
        before = SEGMENT.split(p[max(0, m.start() - 40):m.start()])[-1]
        if any(w in before for tokens in group for w in tokens):
            return True
        if not any(w in before for tokens in others for w in tokens):
            return True
    return False


async def _group_people(uow: UnitOfWork, case: Case) -> tuple[str | None, list[Staff], list[set[str]], list[set[str]]]:
    """The people text, the group's leads, and the office words of the group and of the others."""
    if case.joint_group_id is None:
        return None, [], [], []
    people = await people_text(uow.session, uow.sealer, case)
    if not people:
        return None, [], [], []
    leads = list((await uow.session.scalars(
        select(Staff).join(Office, Office.id == Staff.office_id).join(StaffRole, StaffRole.staff_id == Staff.id)
        .where(Office.joint_group_id == case.joint_group_id, StaffRole.role == Role.lead.value))).all())
    offices: dict[tuple[int | None, str], list[str]] = {}
    for group_id, office, unit in await uow.session.execute(
            select(Office.joint_group_id, Office.name, Unit.name)
            .outerjoin(office_units, office_units.c.office_id == Office.id)
            .outerjoin(Unit, Unit.id == office_units.c.unit_id)):
        offices.setdefault((group_id, office), []).extend([unit] if unit else [])
    group = [office_tokens(o, u) for (g, o), u in offices.items() if g == case.joint_group_id]
    others = [office_tokens(o, u) for (g, o), u in offices.items() if g != case.joint_group_id]
    return people, leads, group, others


async def names_group_leadership(uow: UnitOfWork, case: Case) -> bool:
    """A report about the leadership of the group that would handle it: a lead named, or the head
    of one of its offices named by title."""
    people, leads, group, others = await _group_people(uow, case)
    if not people:
        return False
    return any(s.name and names_person(people, s.name) for s in leads) or names_office_head(people, group, others)


async def _record(uow: UnitOfWork, staff: Staff | None, case: Case, direction: str, to_group: int | None,
                  reason: str) -> CaseTransfer:
    now = uow.now()
    tr = CaseTransfer(case_id=case.id, direction=direction, from_group_id=case.joint_group_id, to_group_id=to_group,
                      reason=reason[:1000], by_staff_id=staff.id if staff else None, at=now)
    uow.session.add(tr)
    case.level = "supervisors" if direction == "up" else "group"
    case.joint_group_id = to_group
    case.updated_at = now
    await uow.session.flush()
    # The receiving level's limit: one deadline kind from the policy, replacing an earlier one.
    await settle(uow, "transfer:made", now, case_id=case.id)
    await start_case_deadlines(uow, case, "transfer:made", now)
    await service.log(uow, staff, case, f"transfer:{direction}", now, to_group=to_group, reason=reason)
    return tr


async def _tell(uow: UnitOfWork, case: Case, staff_ids: list[int], tr: CaseTransfer) -> None:
    ref, cid, up = case.reference, case.id, tr.direction == "up"

    def render(_: Gettext) -> Reply:
        text = (_("Case {ref} was handed up to the supervisors (提级). Please take it up within the time limit.")
                if up else _("Case {ref} was handed down to your joint group (下转). Please take it up within the "
                             "time limit.")).format(ref=ref)
        return Reply(text=text, buttons=[[Button(label=_("Open the case"), data=f"a:case:{cid}.view")]])

    for sid in staff_ids:
        await uow.outbox.to_staff(sid, render, about=case, kind="transfer", dedupe_key=f"transfer:{tr.id}:{sid}")


async def _supervisors(uow: UnitOfWork, case: Case) -> list[int]:
    from handlers.cases.extensions import _supervisors_without_conflict

    return await _supervisors_without_conflict(uow, case)


async def _group_leads(uow: UnitOfWork, case: Case) -> list[int]:
    from handlers.schedule.ticker import group_leads

    people = await people_text(uow.session, uow.sealer, case)
    out = []
    for sid in await group_leads(uow.session, case):
        st = await uow.session.get(Staff, sid)
        if st is not None and not (st.name and people and names_person(people, st.name)):
            out.append(sid)
    return out


async def auto_up(uow: UnitOfWork, case: Case) -> bool:
    """Route a report about the group's own leadership to the supervisors (called by routing)."""
    if case.level != "group" or not await names_group_leadership(uow, case):
        return False
    tr = await _record(uow, None, case, "up", None, AUTO_REASON)
    await _tell(uow, case, await _supervisors(uow, case), tr)
    return True


async def hand_up(uow: UnitOfWork, staff: Staff, case: Case, reason: str) -> CaseTransfer:
    await service.require(uow, staff, case, Action.accept)
    if case.state not in TRANSFERABLE or case.level != "group":
        raise IllegalTransition(case.state, case.state)
    tr = await _record(uow, staff, case, "up", None, reason)
    await _tell(uow, case, await _supervisors(uow, case), tr)
    return tr


async def hand_down(uow: UnitOfWork, staff: Staff, case: Case, group_id: int, reason: str) -> CaseTransfer:
    await service.require(uow, staff, case, Action.approve)
    if case.state not in TRANSFERABLE or case.level != "supervisors":
        raise IllegalTransition(case.state, case.state)
    if await uow.session.get(JointGroup, group_id) is None:
        raise service.Problem("unknown_group")
    tr = await _record(uow, staff, case, "down", group_id, reason)
    await _tell(uow, case, await _group_leads(uow, case), tr)
    return tr


class TR(enum.Enum):
    up_reason = "up_reason"
    down_group = "down_group"
    down_reason = "down_reason"


class Transfer(Conversation):
    """Hand a case up (reason) or down (joint group, reason)."""

    name = "transfer"
    Steps = TR
    first = TR.up_reason
    begin_label = "Hand up (on /case)"
    other_entries = {TR.down_group: "Hand down (on /case, supervisors)"}
    notes = ("提级 / 下转 with the reason recorded. /cancel ends it from any state.",)

    async def start(self, ctx: Context, case: Case, step: TR) -> None:
        await self.open(ctx, ttl=INPUT_TTL, data={"case_id": case.id}, step=step)

    async def ask_up_reason(self, ctx: Context) -> None:
        ctx.reply(ctx._("Why should the supervisors handle it? (one sentence, recorded)"))

    async def ask_down_group(self, ctx: Context) -> None:
        groups = (await ctx.session.scalars(select(JointGroup).order_by(JointGroup.code))).all()
        ctx.reply(ctx._("Which joint group should handle it?"),
                  buttons=[[ctx.button(g.name_for(ctx.lang), f"g:{g.id}")] for g in groups])

    async def ask_down_reason(self, ctx: Context) -> None:
        ctx.reply(ctx._("Why is it handed down to this group? (one sentence, recorded)"))

    async def on_up_reason(self, ctx: Context) -> None:
        await self._do(ctx, TR.up_reason)

    async def on_down_group(self, ctx: Context) -> None:
        v = ctx.button_value or ""
        if not (v.startswith("g:") and (v[2:].isascii() and v[2:].isdigit()) and len(v) < 14):
            ctx.reply(ctx._("Please choose one of the buttons."))
            return
        ctx.state.data["group_id"] = int(v[2:])
        await self.go(ctx, TR.down_reason)

    async def on_down_reason(self, ctx: Context) -> None:
        await self._do(ctx, TR.down_reason)

    async def _do(self, ctx: Context, step: TR) -> None:
        _ = ctx._
        reason = (ctx.text or "").strip()
        group_id = int(ctx.state.data.get("group_id") or 0)

        async def act(staff: Staff, case: Case) -> None:
            if step is TR.up_reason:
                await hand_up(ctx.uow, staff, case, reason)
                ctx.reply(_("Case {ref} handed up to the supervisors (提级).").format(ref=case.reference))
                return
            await hand_down(ctx.uow, staff, case, group_id, reason)
            group = await ctx.session.get(JointGroup, group_id)
            ctx.reply(_("Case {ref} handed down to {group} (下转).").format(
                ref=case.reference, group=group.name_for(ctx.lang) if group else "-"))

        # An unknown group is answered like a case that is not there: the button was forged or stale.
        await act_on_case(ctx, reason, Action.accept if step is TR.up_reason else Action.approve, act,
                          on_problem=lambda c, _p: not_found(c, ""))

    steps = {
        TR.up_reason: Step(on_up_reason, ask_up_reason, ends="reason typed (supervisors told)"),
        TR.down_group: Step(on_down_group, ask_down_group, goes={TR.down_reason: "group chosen"}),
        TR.down_reason: Step(on_down_reason, ask_down_reason, back=TR.down_group,
                             ends="reason typed (group leads told)"),
    }


TRANSFER = Transfer()


async def verb_up(ctx: Context, staff: Staff, case: Case) -> None:
    await TRANSFER.start(ctx, case, TR.up_reason)


async def verb_down(ctx: Context, staff: Staff, case: Case) -> None:
    await TRANSFER.start(ctx, case, TR.down_group)
