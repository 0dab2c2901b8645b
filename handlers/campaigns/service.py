"""Campaign use cases, in no channel's terms: create, propose and change subgroups, confirm
(tasks, deadlines, notices), 签收, progress, a clue becoming a case, end, two-way evaluation.
Each checks the campaign access rule, writes the audit trail and queues notices in the caller's
transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.campaigns import proposal as prop
from handlers.campaigns.access import CA, allowed, hears, membership, person_of
from handlers.cases import service as cases
from handlers.config import SUPPORTED_LANGUAGES
from handlers.events import Button, Reply
from handlers.i18n import N_, Gettext, lang_of
from handlers.uow import UnitOfWork
from storage import audit
from storage.models import (
    Campaign,
    CampaignKind,
    CampaignState,
    CampaignTarget,
    CampaignTask,
    CaseSource,
    Deadline,
    Evaluation,
    JointGroup,
    MemberRole,
    ProgressReport,
    Region,
    Role,
    Staff,
    Subgroup,
    SubgroupMember,
    TaskKind,
    Unit,
)

KIND_WORDS = {"special_inspection": N_("special inspection (专项检查)"),
              "cross_inspection": N_("cross inspection (交叉巡察)")}
ROLE_WORDS = {"lead": N_("subgroup lead"), "member": N_("subgroup member"), "liaison": N_("local liaison")}
TASK_WORDS = {"reports_collected": N_("self-inspection reports collected"),
              "talks_held": N_("individual talks held"),
              "problems_found": N_("problems found"),
              "clues_handed_over": N_("clues handed over")}
STATE_WORDS = {"proposed": N_("subgroups proposed, waiting for confirmation"), "running": N_("running"),
               "ended": N_("ended")}
# The campaign's own reasons, beside the cases' conflict words.
REASON_WORDS = {**cases.CONFLICT_WORDS,
                "home_region": N_("home region is the region inspected"),
                "stationed": N_("their office is stationed at the unit inspected"),
                "declared_unit": N_("declared relationship with the unit inspected"),
                "rotation": N_("inspected the same target recently (rotation)"),
                "liaison_share": N_("local, and the subgroup already has its share of liaisons"),
                "no_subgroup": N_("no subgroup without a conflict"),
                "not_local": N_("a liaison must be local to a target of the subgroup")}
AXES = ("quality", "ability", "conduct")
AXIS_WORDS = {"quality": N_("quality of problems found"), "ability": N_("working ability"),
              "conduct": N_("discipline and conduct")}
DIRECTIONS = ("host_to_subgroup", "subgroup_to_host")


class Denied(Exception):
    """Not allowed: answered exactly like a campaign that does not exist."""


class Problem(Exception):
    def __init__(self, code: str, **info: object) -> None:
        super().__init__(code)
        self.code, self.info = code, info


def reasons_text(_: Gettext, reasons: Sequence[str]) -> str:
    return "；".join(_(REASON_WORDS.get(r, r)) for r in reasons)


async def log(uow: UnitOfWork, staff: Staff | None, campaign: Campaign, action: str, now: datetime,
              **detail: object) -> None:
    await audit.append(uow.session, key=uow.config.audit_mac_key, at=now, action=f"campaign:{action}", actor_staff_id=staff.id if staff else None,
                       actor_label=staff.login if staff else "system", detail={"campaign": campaign.reference, **detail})


async def find(session: AsyncSession, reference: str) -> Campaign | None:
    ref = reference.strip().upper()
    return await session.scalar(select(Campaign).where(Campaign.reference == ref)) if ref else None


async def require(uow: UnitOfWork, staff: Staff | None, campaign: Campaign, action: CA, **kw: Any) -> Staff:
    if staff is None or not await allowed(uow.session, staff, campaign, action, **kw):
        raise Denied()
    return staff


# -- creating --------------------------------------------------------------------------------


@dataclass
class TargetSpec:
    kind: str  # region | unit | project
    name: str
    region_id: int | None = None
    unit_id: int | None = None


async def resolve_target(session: AsyncSession, text: str) -> TargetSpec | None:
    """A typed target: a region or unit by exact name or code, or ``project name @ region``."""
    text = text.strip()
    name, at, where = text.partition("@")
    if at:
        region = await _region(session, where.strip())
        return TargetSpec("project", name.strip(), region.id, None) if region and name.strip() else None
    region = await _region(session, text)
    if region is not None:
        return TargetSpec("region", region.name, region.id)
    unit = await session.scalar(select(Unit).where((Unit.name == text) | (Unit.code == text)))
    return TargetSpec("unit", unit.name, unit.region_id, unit.id) if unit else None


async def _region(session: AsyncSession, text: str) -> Region | None:
    r: Region | None = await session.scalar(select(Region).where((Region.name == text) | (Region.code == text)))
    return r


async def next_reference(session: AsyncSession, year: int) -> str:
    prefix = f"ZX{year}-"
    n = await session.scalar(select(func.count()).select_from(Campaign).where(Campaign.reference.like(f"{prefix}%")))
    return f"{prefix}{(n or 0) + 1:03d}"


async def create(uow: UnitOfWork, staff: Staff | None, *, title: str, kind: CampaignKind, joint_group_id: int | None,
                 organiser: str, starts_on: date, ends_on: date, subgroups: int, liaison_share: float,
                 targets: Sequence[TargetSpec]) -> Campaign:
    """A supervisor's new campaign, with its subgroups proposed at once. ``staff`` None: the CLI."""
    if staff is not None and not staff.roles & {Role.supervisor, Role.admin}:
        raise Denied()
    if not title.strip() or not targets:
        raise Problem("incomplete")
    if ends_on < starts_on:
        raise Problem("dates")
    if subgroups < 1 or not 0 <= liaison_share < 1:
        raise Problem("numbers")
    now, session = uow.now(), uow.session
    c = Campaign(reference=await next_reference(session, starts_on.year), title=title.strip()[:200], kind=kind.value,
                 joint_group_id=joint_group_id, organiser=organiser[:200], starts_on=starts_on, ends_on=ends_on,
                 subgroup_count=subgroups, liaison_share=liaison_share, state=CampaignState.proposed.value,
                 created_by_staff_id=staff.id if staff else None, created_at=now, subgroups=[])
    c.targets = [CampaignTarget(kind=t.kind, name=t.name[:200], region_id=t.region_id, unit_id=t.unit_id)
                 for t in targets]
    session.add(c)
    await session.flush()
    await log(uow, staff, c, "create", now, targets=len(targets), subgroups=subgroups)
    await propose(uow, c)
    return c


async def propose(uow: UnitOfWork, c: Campaign) -> prop.CampaignProposal:
    """(Re)propose the subgroups of a campaign not yet confirmed."""
    session = uow.session
    people = await prop.load_people(session, c.joint_group_id)
    recent = await prop.recent_by_target(session, c, uow.config.rotation_months)
    plan = prop.propose(people, [prop.place_of(t) for t in c.targets], c.subgroup_count, c.liaison_share,
                        recent=recent)
    for t in c.targets:
        t.subgroup_id = None
    for old in list(c.subgroups):
        await session.delete(old)
    await session.flush()
    by_key = {t.id: t for t in c.targets}
    for g in plan.groups:
        sg = Subgroup(campaign_id=c.id, number=g.number)
        sg.members = ([SubgroupMember(staff_id=g.lead, role=MemberRole.lead.value)] if g.lead is not None else []) + [
            SubgroupMember(staff_id=m, role=MemberRole.member.value) for m in g.members] + [
            SubgroupMember(staff_id=m, role=MemberRole.liaison.value) for m in g.liaisons]
        session.add(sg)
        await session.flush()
        for k in g.target_keys:
            by_key[k].subgroup_id = sg.id
    c.proposal = plan.to_json()
    await session.flush()
    await session.refresh(c, ["subgroups"])
    await log(uow, None, c, "propose", uow.now(), people=sum(len(g.everyone()) for g in plan.groups),
              excluded=len(plan.exclusions))
    return plan


async def subgroup(session: AsyncSession, c: Campaign, number: int) -> Subgroup | None:
    sg: Subgroup | None = await session.scalar(select(Subgroup).where(Subgroup.campaign_id == c.id,
                                                                      Subgroup.number == number))
    return sg


async def subgroup_targets(session: AsyncSession, sg: Subgroup) -> list[CampaignTarget]:
    return list((await session.scalars(select(CampaignTarget).where(CampaignTarget.subgroup_id == sg.id)
                                       .order_by(CampaignTarget.id))).all())


async def change(uow: UnitOfWork, staff: Staff, c: Campaign, number: int, op: str, login: str) -> Staff:
    """+LOGIN, -LOGIN, lead LOGIN, liaison LOGIN on subgroup ``number``; a conflict is refused, named."""
    await require(uow, staff, c, CA.manage)
    if c.state != CampaignState.proposed.value:
        raise Problem("not_proposed")
    session = uow.session
    sg = await subgroup(session, c, number)
    person = await session.scalar(select(Staff).where(Staff.login == login))
    if sg is None or person is None or not person.active:
        raise Problem("unknown")
    if op in ("+", "lead", "liaison"):
        role = MemberRole.liaison if op == "liaison" else MemberRole.lead if op == "lead" else MemberRole.member
        p = await person_of(session, person)
        recent = await prop.recent_by_target(session, c, uow.config.rotation_months)
        targets = await subgroup_targets(session, sg)
        reasons = prop.group_reasons(p, [prop.place_of(t) for t in targets], recent)
        if role is MemberRole.liaison:
            if not reasons:
                raise Problem("conflict", login=login, reasons=["not_local"])
            if not set(reasons) <= prop.LOCAL:
                raise Problem("conflict", login=login, reasons=[r for r in reasons if r not in prop.LOCAL])
            others = [m for m in sg.members if m.staff_id != person.id]
            if not prop.liaison_room(sum(m.role != "liaison" for m in others), sum(m.role == "liaison" for m in others),
                                     c.liaison_share):
                raise Problem("conflict", login=login, reasons=["liaison_share"])
        elif reasons:
            raise Problem("conflict", login=login, reasons=reasons)
        for other in c.subgroups:  # one subgroup per person
            for m in list(other.members):
                if m.staff_id == person.id:
                    other.members.remove(m)
        await session.flush()
        if role is MemberRole.lead:
            for m in sg.members:
                if m.role == MemberRole.lead.value:
                    m.role = MemberRole.member.value
        sg.members.append(SubgroupMember(staff_id=person.id, role=role.value))
    else:
        sg.members = [m for m in sg.members if m.staff_id != person.id]
    await session.flush()
    await log(uow, staff, c, "change", uow.now(), subgroup=number, op=op, login=login)
    return person


async def confirm(uow: UnitOfWork, staff: Staff, c: Campaign) -> int:
    """Subgroups confirmed: tasks with their deadlines, a notice to every member. Returns notices queued."""
    await require(uow, staff, c, CA.manage)
    if c.state != CampaignState.proposed.value:
        raise Problem("not_proposed")
    session, now = uow.session, uow.now()
    empty = [sg.number for sg in c.subgroups if not any(m.role == MemberRole.lead.value for m in sg.members)]
    if empty:
        raise Problem("no_lead", groups=empty)
    c.state, c.confirmed_at, c.confirmed_by_staff_id = CampaignState.running.value, now, staff.id
    tz = uow.policy.tz
    start = max(now, datetime.combine(c.starts_on, time(9, 0), tzinfo=tz).astimezone(UTC))
    kinds = [(k, rule) for k, rule in uow.policy.started_by("campaign:running") if rule.subject == "task"]
    for sg in c.subgroups:
        for t in await subgroup_targets(session, sg):
            for tk in TaskKind:
                task = CampaignTask(subgroup_id=sg.id, target_id=t.id, kind=tk.value)
                for kind, _rule in kinds[:1]:  # a task has one time limit
                    d = Deadline(subject="task", kind=kind, due_at=uow.policy.due(kind, start), created_at=now)
                    session.add(d)
                    await session.flush()
                    task.deadline_id = d.id
                session.add(task)
    await session.flush()
    await log(uow, staff, c, "confirm", now, subgroups=len(c.subgroups))
    n = 0
    for sg in c.subgroups:
        for m in sg.members:
            # The notice starts the member's 签收 time limit, if the policy has one for their role.
            owed = [k for k, r in uow.policy.started_by("campaign:running", member_role=m.role)
                    if r.subject == "campaign_member"]
            for kind in owed[:1]:  # one 签收 per notice
                d = Deadline(subject="campaign_member", kind=kind, due_at=uow.policy.due(kind, now), created_at=now)
                session.add(d)
                await session.flush()
                m.deadline_id = d.id
            await uow.outbox.to_staff(m.staff_id, await notice(uow, c, sg, m), about=hears(c, sg),
                                      kind="campaign",
                                      dedupe_key=f"campaign:{c.id}:{m.id}")
            n += 1
    return n


async def notice(uow: UnitOfWork, c: Campaign, sg: Subgroup, m: SubgroupMember) -> Callable[[Gettext], Reply]:
    """What a member is told: campaign, subgroup, targets, dates, role; acknowledge in one tap."""
    targets = await subgroup_targets(uow.session, sg)
    names = {lang: list((await target_names(uow.session, targets, lang)).values()) for lang in SUPPORTED_LANGUAGES}
    ref, title, kind, number, role, mid = c.reference, c.title, c.kind, sg.number, m.role, m.id
    dates = f"{c.starts_on.isoformat()} – {c.ends_on.isoformat()}"
    d = await uow.session.get(Deadline, m.deadline_id) if m.deadline_id is not None else None
    ack_by = d.due_at.astimezone(uow.policy.tz).strftime("%Y-%m-%d %H:%M") if d is not None else None

    def render(_: Gettext) -> Reply:
        lines = [_("Campaign {ref}: {title} ({kind})").format(ref=ref, title=title, kind=_(KIND_WORDS[kind])),
                 _("You are in subgroup {n} as {role}.").format(n=number, role=_(ROLE_WORDS[role])),
                 _("Targets: {targets}").format(targets="、".join(names[lang_of(_)])),
                 _("Dates: {dates}").format(dates=dates)]
        if ack_by is not None:
            lines.append(_("Acknowledge by: {ack}").format(ack=ack_by))
        lines.append(_("Report progress with /campaign {ref}.").format(ref=ref))
        return Reply(text="\n".join(lines), buttons=[[Button(label=_("✔ Acknowledge (签收)"), data=f"a:cack:{mid}")],
                                                     [Button(label=_("Report progress"), data=f"a:cprog:{mid}")]])

    return render


async def acknowledge(uow: UnitOfWork, staff: Staff, member_id: int) -> tuple[str, Campaign | None]:
    """Returns ("ok" | "again" | "not_yours", campaign)."""
    session, now = uow.session, uow.now()
    m = await session.get(SubgroupMember, member_id)
    sg = await session.get(Subgroup, m.subgroup_id) if m else None
    c = await session.get(Campaign, sg.campaign_id) if sg else None
    if m is None or sg is None or c is None or m.staff_id != staff.id:
        return "not_yours", None
    if m.acknowledged_at is not None:
        return "again", c
    m.acknowledged_at = now
    await settle_member(uow, m, "campaign_member:acknowledged", now)
    await log(uow, staff, c, "acknowledge", now, subgroup=sg.number)
    lead = next((x for x in sg.members if x.role == MemberRole.lead.value), None)
    if lead is not None and lead.staff_id != staff.id:
        name, ref, n = staff.name, c.reference, sg.number

        def render(_: Gettext) -> Reply:
            return Reply(text=_("{name} acknowledged campaign {ref} (subgroup {n}).").format(name=name, ref=ref, n=n))

        await uow.outbox.to_staff(lead.staff_id, render, about=hears(c, sg), kind="acknowledged",
                                  dedupe_key=f"cacked:{m.id}")
    return "ok", c


async def settle_member(uow: UnitOfWork, m: SubgroupMember, signal: str, now: datetime) -> None:
    """A member's 签收 deadline met or cancelled by ``signal``, as the policy says."""
    d = await uow.session.get(Deadline, m.deadline_id) if m.deadline_id is not None else None
    if d is None or d.met_at is not None or d.cancelled_at is not None:
        return
    if d.kind in uow.policy.met_by(signal):
        d.met_at = now
    elif d.kind in uow.policy.cancelled_by(signal):
        d.cancelled_at = now


# -- progress --------------------------------------------------------------------------------


async def member_tasks(uow: UnitOfWork, staff: Staff, member_id: int) -> tuple[Campaign, Subgroup, list[
        tuple[CampaignTask, CampaignTarget]]]:
    session = uow.session
    m = await session.get(SubgroupMember, member_id)
    sg = await session.get(Subgroup, m.subgroup_id) if m else None
    c = await session.get(Campaign, sg.campaign_id) if sg else None
    if m is None or sg is None or c is None or m.staff_id != staff.id:
        raise Denied()
    await require(uow, staff, c, CA.report, subgroup_id=sg.id)
    rows = (await session.execute(select(CampaignTask, CampaignTarget).join(
        CampaignTarget, CampaignTarget.id == CampaignTask.target_id).where(CampaignTask.subgroup_id == sg.id)
        .order_by(CampaignTarget.id, CampaignTask.id))).tuples().all()
    return c, sg, [(t, tg) for t, tg in rows]


async def report(uow: UnitOfWork, staff: Staff, task_id: int, *, number: int, note: str = "",
                 file: tuple[str, str, bytes] | None = None, done: bool = False) -> ProgressReport:
    """A member's progress on a task; a clue handed over becomes a case (inspection_handover)."""
    session, now = uow.session, uow.now()
    task = await session.get(CampaignTask, task_id)
    sg = await session.get(Subgroup, task.subgroup_id) if task else None
    c = await session.get(Campaign, sg.campaign_id) if sg else None
    if task is None or sg is None or c is None:
        raise Denied()
    await require(uow, staff, c, CA.report, subgroup_id=sg.id)
    if c.state != CampaignState.running.value:
        raise Problem("not_running")
    if number < 0:
        raise Problem("negative")
    r = ProgressReport(task_id=task.id, staff_id=staff.id, number=number, at=now)
    if note:
        r.key_id, r.note_enc = uow.sealer.seal_text(note)
    if file is not None:  # sealed with the note's key, so one key id opens both
        name, ctype, data = file
        if r.key_id is None:
            r.key_id, r.file_enc = uow.sealer.seal(data)
        else:
            r.file_enc = uow.sealer.seal_with(r.key_id, data)
        r.file_name, r.file_type = name[:200], ctype[:100]
    session.add(r)
    if task.kind == TaskKind.clues_handed_over.value and number > 0 and note:
        target = await session.get(CampaignTarget, task.target_id)
        case = await cases.open_other_case(uow, staff, source=CaseSource.inspection_handover,
                                           unit_id=target.unit_id if target else None,
                                           summary=f"{c.reference} / {target.name if target else ''}: {note}")
        r.case_id = case.id
    await session.flush()
    await log(uow, staff, c, "progress", now, task=task.id, kind=task.kind, number=number, case=r.case_id)
    if done:
        await mark_done(uow, staff, task)
    return r


async def mark_done(uow: UnitOfWork, staff: Staff, task: CampaignTask) -> None:
    now = uow.now()
    if task.done_at is not None:
        return
    task.done_at = now
    if task.deadline_id is not None:
        d = await uow.session.get(Deadline, task.deadline_id)
        if d is not None and d.met_at is None and d.cancelled_at is None:
            if d.kind in uow.policy.met_by("task:done"):
                d.met_at = now
            elif d.kind in uow.policy.cancelled_by("task:done"):
                d.cancelled_at = now


async def end(uow: UnitOfWork, staff: Staff, c: Campaign) -> None:
    await require(uow, staff, c, CA.manage)
    if c.state != CampaignState.running.value:
        raise Problem("not_running")
    now = uow.now()
    c.state, c.ended_at = CampaignState.ended.value, now
    met, cancelled = uow.policy.met_by("campaign:ended"), uow.policy.cancelled_by("campaign:ended")
    ids = select(CampaignTask.deadline_id).join(Subgroup, Subgroup.id == CampaignTask.subgroup_id).where(
        Subgroup.campaign_id == c.id)
    for d in (await uow.session.scalars(select(Deadline).where(Deadline.id.in_(ids), Deadline.met_at.is_(None),
                                                                Deadline.cancelled_at.is_(None)))).all():
        if d.kind in met:
            d.met_at = now
        elif d.kind in cancelled:
            d.cancelled_at = now
    for sg in c.subgroups:
        for m in sg.members:
            await settle_member(uow, m, "campaign:ended", now)
    await log(uow, staff, c, "end", now)
    for sg in c.subgroups:  # the subgroup leads are asked to rate the host
        lead = next((m for m in sg.members if m.role == MemberRole.lead.value), None)
        if lead is None:
            continue
        ref, number = c.reference, sg.number

        def render(_: Gettext, ref: str = ref, number: int = number) -> Reply:
            return Reply(text=_("Campaign {ref} has ended. As lead of subgroup {n}, please rate the host: "
                                "/campaign_rate {ref} {n}").format(ref=ref, n=number))

        await uow.outbox.to_staff(lead.staff_id, render, about=hears(c, sg), kind="campaign",
                                  dedupe_key=f"cend:{c.id}:{sg.id}")


async def evaluate(uow: UnitOfWork, staff: Staff, c: Campaign, number: int, direction: str, scores: Sequence[int],
                   note: str = "") -> Evaluation:
    session = uow.session
    sg = await subgroup(session, c, number)
    if sg is None or direction not in DIRECTIONS:
        raise Problem("unknown")
    await require(uow, staff, c, CA.manage if direction == "host_to_subgroup" else CA.rate_host,
                  **({} if direction == "host_to_subgroup" else {"subgroup_id": sg.id}))
    if direction == "host_to_subgroup" and await membership(session, staff, c) is not None:
        raise Denied()  # someone inspecting in the campaign does not rate its subgroups as the host
    if c.state != CampaignState.ended.value:
        raise Problem("not_ended")
    if len(scores) != 3 or any(not 1 <= s <= 5 for s in scores):
        raise Problem("scores")
    old = await session.scalar(select(Evaluation).where(Evaluation.subgroup_id == sg.id,
                                                        Evaluation.direction == direction))
    e = old or Evaluation(campaign_id=c.id, subgroup_id=sg.id, direction=direction, rater_staff_id=staff.id,
                          quality=0, ability=0, conduct=0, at=uow.now())
    e.rater_staff_id, e.at = staff.id, uow.now()
    e.quality, e.ability, e.conduct = scores
    e.key_id, e.note_enc = uow.sealer.seal_text(note) if note else (None, None)
    session.add(e)
    await session.flush()
    await log(uow, staff, c, "evaluate", uow.now(), subgroup=number, direction=direction)
    return e


# -- figures ---------------------------------------------------------------------------------


@dataclass
class Line:
    """Progress of one subgroup at one target."""

    subgroup: int
    target_id: int
    target: str
    done: int
    due: int
    overdue: int
    figures: dict[str, int]


async def progress(uow: UnitOfWork, c: Campaign, targets: Sequence[CampaignTarget], lang: str) -> list[Line]:
    """Per subgroup and target (only ``targets``, the ones the reader may see): tasks done, open
    and not yet due, overdue, and the sum reported per task kind."""
    session, now = uow.session, uow.now()
    ids = [t.id for t in targets]
    sgs = {sg.id: sg.number for sg in c.subgroups}
    rows = (await session.execute(select(CampaignTask, Deadline.due_at).outerjoin(
        Deadline, Deadline.id == CampaignTask.deadline_id).where(CampaignTask.target_id.in_(ids)))).tuples().all()
    sums = dict(((tid, kind), n) for tid, kind, n in (await session.execute(
        select(CampaignTask.target_id, CampaignTask.kind, func.coalesce(func.sum(ProgressReport.number), 0))
        .join(ProgressReport, ProgressReport.task_id == CampaignTask.id)
        .where(CampaignTask.target_id.in_(ids)).group_by(CampaignTask.target_id, CampaignTask.kind))).tuples())
    out = []
    names = await target_names(session, targets, lang)
    for t in sorted(targets, key=lambda t: (sgs.get(t.subgroup_id or 0, 0), t.id)):
        mine = [(task, due) for task, due in rows if task.target_id == t.id]
        done = sum(1 for task, _d in mine if task.done_at is not None)
        overdue = sum(1 for task, due in mine if task.done_at is None and due is not None and due <= now)
        out.append(Line(sgs.get(t.subgroup_id or 0, 0), t.id, names[t.id], done, len(mine) - done - overdue, overdue,
                        {k.value: int(sums.get((t.id, k.value), 0)) for k in TaskKind}))
    return out


async def cases_opened(session: AsyncSession, c: Campaign, target_ids: Sequence[int]) -> int:
    return int(await session.scalar(select(func.count(func.distinct(ProgressReport.case_id))).join(
        CampaignTask, CampaignTask.id == ProgressReport.task_id).where(
        CampaignTask.target_id.in_(list(target_ids)), ProgressReport.case_id.is_not(None))) or 0)


async def evaluations(session: AsyncSession, c: Campaign) -> list[tuple[int, Evaluation]]:
    rows = (await session.execute(select(Subgroup.number, Evaluation).join(Subgroup, Subgroup.id == Evaluation.subgroup_id)
                                  .where(Evaluation.campaign_id == c.id).order_by(Subgroup.number, Evaluation.direction)))
    return [(n, e) for n, e in rows.tuples()]


async def organiser_name(session: AsyncSession, c: Campaign, lang: str) -> str:
    g = await session.get(JointGroup, c.joint_group_id) if c.joint_group_id else None
    return g.name_for(lang) if g else c.organiser


async def target_names(session: AsyncSession, targets: Sequence[CampaignTarget], lang: str) -> dict[int, str]:
    """Target id → its name for a reader of ``lang``: a unit's own name picked by language, as on a
    case (``Named.name_for``); regions and projects have only the name they were given."""
    unit_ids = [t.unit_id for t in targets if t.kind == "unit" and t.unit_id is not None]
    units = {u.id: u for u in (await session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))).all()} if unit_ids else {}
    return {t.id: units[t.unit_id].name_for(lang) if t.kind == "unit" and t.unit_id in units else t.name
            for t in targets}
