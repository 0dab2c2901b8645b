"""回避 declared by the person concerned: with a unit, with a named person (/conflict), or on one
case they work ("我需要回避", handlers.cases.team). One service records every declaration:
it counts at once (pending: the safe side of 回避), the administrators are asked to confirm or
refuse it from the notice, and a refused declaration stops counting. Each step is audited and the
person is told the decision."""

from __future__ import annotations

import enum

from sqlalchemy import select

from handlers.access import without_conflicts
from handlers.cases import service
from handlers.cases.replies import INPUT_TTL, unit_buttons
from handlers.context import Context
from handlers.events import Button, Reply
from handlers.i18n import N_, Gettext, labelled
from handlers.inputs import NO_REASON, typed
from handlers.router import Conversation, Step
from handlers.uow import Render, UnitOfWork
from storage.models import Case, ConflictDeclaration, Role, Staff, StaffRole, Unit

KIND_WORDS = {
    "self": N_("myself (本人)"),
    "relative": N_("a close relative (近亲属)"),
    "interest": N_("another interest (其他利害关系)"),
}
STATUS_WORDS = {
    "pending": N_("waiting for an administrator (counts already)"),
    "confirmed": N_("confirmed"),
    "refused": N_("refused"),
}
MAX_NAME = 200


async def declare(uow: UnitOfWork, staff: Staff, *, kind: str, reason: str, unit: Unit | None = None,
                  person: str | None = None, case: Case | None = None) -> ConflictDeclaration:
    """Record a declaration (exactly one of unit, person, case) and ask the administrators."""
    if kind not in KIND_WORDS or sum(x is not None for x in (unit, person, case)) != 1:
        raise service.Problem("bad_declaration")
    now = uow.now()
    decl = ConflictDeclaration(staff_id=staff.id, unit_id=unit.id if unit else None,
                               person_name=person[:MAX_NAME] if person else None, case_id=case.id if case else None,
                               kind=kind, reason=reason[:1000], status="pending", declared_at=now)
    uow.session.add(decl)
    await uow.session.flush()
    await service.log(uow, staff, case, "conflict:declared", now, declaration=decl.id, kind=kind,
                      unit=unit.id if unit else None, person=bool(person))
    admins = list((await uow.session.scalars(
        select(Staff.id).join(StaffRole, StaffRole.staff_id == Staff.id)
        .where(StaffRole.role == Role.admin.value, Staff.active.is_(True), Staff.id != staff.id)
        .order_by(Staff.id))).all())
    # A declaration on a case names the case: only administrators who may hear of it are asked.
    admins = await without_conflicts(uow.session, uow.sealer, case, admins)
    render = _ask_admins(decl, staff.name, unit.name if unit else None, case.reference if case else None)
    for sid in admins:
        await uow.outbox.to_staff(sid, render, about=case, kind="conflict_declared", dedupe_key=f"conflict:{decl.id}:{sid}")
    return decl


def _what(_: Gettext, unit: str | None, person: str | None, ref: str | None) -> str:
    if unit is not None:
        return _("the unit {unit}").format(unit=unit)
    if person is not None:
        return _("the person {name}").format(name=person)
    return _("case {ref}").format(ref=ref)


def _ask_admins(decl: ConflictDeclaration, name: str, unit: str | None, ref: str | None) -> Render:
    did, kind, person, reason = decl.id, decl.kind, decl.person_name, decl.reason

    def render(_: Gettext) -> Reply:
        text = "\n".join([
            _("{name} declares a conflict of interest (回避) with {what}.").format(
                name=name, what=_what(_, unit, person, ref)),
            labelled(_, _("Relationship"), _(KIND_WORDS[kind])),
            labelled(_, _("Reason"), reason),
            _("It counts already. Confirm it, or refuse it if it does not stand."),
        ])
        return Reply(text=text, buttons=[[Button(label=_("✔ Confirm"), data=f"a:conflict:{did}.ok"),
                                          Button(label=_("✖ Refuse"), data=f"a:conflict:{did}.no")]])

    return render


async def decidable(uow: UnitOfWork, admin: Staff, decl_id: int) -> tuple[str, ConflictDeclaration | None]:
    """Whether this administrator may decide the declaration now: ok | decided | own | not_admin."""
    if Role.admin not in admin.roles or not admin.active:
        return "not_admin", None
    decl = await uow.session.get(ConflictDeclaration, decl_id)
    if decl is None:
        return "not_admin", None  # a forged id is answered like a button that is not theirs
    if decl.staff_id == admin.id:
        return "own", decl
    case = await uow.session.get(Case, decl.case_id) if decl.case_id else None
    if case is not None and not await without_conflicts(uow.session, uow.sealer, case, [admin.id]):
        return "not_admin", None  # a case this administrator may not hear of: as if there were none
    if decl.status != "pending":
        return "decided", decl
    return "ok", decl


async def decide(uow: UnitOfWork, admin: Staff, decl_id: int, *, confirm: bool,
                 reason: str = "") -> tuple[str, ConflictDeclaration | None]:
    """An administrator confirms, or refuses with a reason the declarant is told. Returns (result,
    declaration) as :func:`decidable`; nothing changes unless the result is ok."""
    result, decl = await decidable(uow, admin, decl_id)
    if result != "ok" or decl is None:
        return result, decl
    now = uow.now()
    decl.status = "confirmed" if confirm else "refused"
    decl.decided_by_staff_id = admin.id
    case = await uow.session.get(Case, decl.case_id) if decl.case_id else None
    await service.log(uow, admin, case, f"conflict:{decl.status}", now, declaration=decl.id, declared_by=decl.staff_id,
                      reason=reason[:1000])
    unit = await uow.session.get(Unit, decl.unit_id) if decl.unit_id else None
    unit_name, person, ref, ok = unit.name if unit else None, decl.person_name, case.reference if case else None, confirm
    why = reason[:1000]

    def render(_: Gettext) -> Reply:
        what = _what(_, unit_name, person, ref)
        if ok:
            return Reply(text=_("Your declared conflict with {what} was confirmed.").format(what=what))
        return Reply(text=_("Your declared conflict with {what} was refused by an administrator; it no longer "
                            "counts.").format(what=what) + "\n" + labelled(_, _("Reason"), why))

    # To the declarant about their own declaration: they named the case themselves.
    await uow.outbox.to_staff(decl.staff_id, render, about=None, kind="conflict_decided", dedupe_key=f"conflict-done:{decl.id}")
    return "ok", decl


DECIDE_WORDS = {
    "not_admin": N_("This button is not for you. Nothing was changed."),
    "own": N_("You cannot decide on your own declaration. Nothing was changed."),
    "decided": N_("This declaration was already decided ({status}). Nothing was changed."),
}


async def decide_action(ctx: Context, arg: str) -> None:
    """The Confirm / Refuse buttons of the notice: ``a:conflict:<id>.ok`` / ``.no``."""
    _ = ctx._
    did, _sep, verb = arg.partition(".")
    staff = ctx.actor.staff
    if staff is None or not did.isdigit() or len(did) > 12 or verb not in ("ok", "no"):
        words = DECIDE_WORDS["not_admin"]
        ctx.reply(_(words))
        return
    if verb == "no":
        result, decl = await decidable(ctx.uow, staff, int(did))
        if result == "ok" and decl is not None:
            await REFUSE.start(ctx, decl.id)
            return
    else:
        result, decl = await decide(ctx.uow, staff, int(did), confirm=True)
    if result != "ok" or decl is None:
        status = _(STATUS_WORDS[decl.status]) if decl is not None else ""
        ctx.reply(_(DECIDE_WORDS[result]).format(status=status))
        return
    ctx.reply(_("Declaration confirmed; it counts in routing and access."), edit=True)


class RF(enum.Enum):
    reason = "reason"


class Refuse(Conversation):
    """An administrator's reason for refusing a declared conflict (Refuse on its notice)."""

    name = "conflict_refuse"
    Steps = RF
    first = RF.reason
    begin_label = "Refuse (on a declaration notice or /conflicts)"
    notes = ("An administrator refuses a declared conflict, with the reason the declarant is told. /cancel ends it.",)

    async def start(self, ctx: Context, decl_id: int) -> None:
        await self.open(ctx, ttl=INPUT_TTL, data={"declaration": decl_id})

    async def ask_reason(self, ctx: Context) -> None:
        ctx.reply(ctx._("Why does the declaration not stand? (one sentence; the person is told)"))

    async def on_reason(self, ctx: Context) -> None:
        _ = ctx._
        if (reason := typed(ctx, NO_REASON)) is None:
            return
        staff = ctx.require_staff()
        decl_id = int(ctx.state.data["declaration"])
        ctx.state.end()
        result, decl = await decide(ctx.uow, staff, decl_id, confirm=False, reason=reason)
        if result != "ok" or decl is None:
            ctx.reply(_(DECIDE_WORDS[result]).format(status=_(STATUS_WORDS[decl.status]) if decl is not None else ""))
            return
        ctx.reply(_("Declaration refused; it no longer counts. The person has been told, with your reason."))

    steps = {RF.reason: Step(on_reason, ask_reason, ends="reason typed (refused, the person told)")}


REFUSE = Refuse()


# -- /conflict ---------------------------------------------------------------------------------


class CF(enum.Enum):
    target = "target"
    unit = "unit"
    person = "person"
    relation = "relation"
    reason = "reason"


class Declare(Conversation):
    """/conflict: a unit or a person, the relationship, the reason."""

    name = "conflict"
    Steps = CF
    first = CF.target
    begin_label = "/conflict"
    notes = ("A staff member declares a conflict of interest (回避). /cancel ends it from any state.",)

    async def start(self, ctx: Context) -> None:
        staff = ctx.require_staff()
        mine = (await ctx.session.execute(
            select(ConflictDeclaration, Unit.name).outerjoin(Unit, Unit.id == ConflictDeclaration.unit_id)
            .where(ConflictDeclaration.staff_id == staff.id, ConflictDeclaration.case_id.is_(None))
            .order_by(ConflictDeclaration.id))).all()
        if mine:
            _ = ctx._
            ctx.reply("\n".join([_("Your declared conflicts:")] + [
                "  • " + labelled(_, _what(_, unit_name, d.person_name, None), _(STATUS_WORDS.get(d.status, d.status)))
                for d, unit_name in mine]))
        await self.open(ctx, ttl=INPUT_TTL)

    async def ask_target(self, ctx: Context) -> None:
        _ = ctx._
        ctx.reply(_("What is the conflict about?"),
                  buttons=[[ctx.button(_("A unit"), "unit"), ctx.button(_("A person"), "person")]])

    async def ask_unit(self, ctx: Context) -> None:
        ctx.reply(ctx._("Which unit? Type part of its name."))

    async def ask_person(self, ctx: Context) -> None:
        ctx.reply(ctx._("Type the person's full name, as it would appear in a report."))

    async def ask_relation(self, ctx: Context) -> None:
        ctx.reply(ctx._("What is your relationship?"),
                  buttons=[[ctx.button(ctx._(w), k)] for k, w in KIND_WORDS.items()])

    async def ask_reason(self, ctx: Context) -> None:
        ctx.reply(ctx._("In one sentence, why? (recorded; an administrator reads it to confirm the declaration)"))

    async def on_target(self, ctx: Context) -> None:
        v = ctx.button_value or ""
        if v not in ("unit", "person"):
            ctx.reply(ctx._("Please choose one of the buttons."))
            return
        await self.go(ctx, CF.unit if v == "unit" else CF.person)

    async def on_unit(self, ctx: Context) -> None:
        v = ctx.button_value or ""
        if v.startswith("u:") and v[2:].isdigit() and len(v) < 14:
            unit = await ctx.session.get(Unit, int(v[2:]))
            if unit is not None:
                ctx.state.data["unit_id"] = unit.id
                await self.go(ctx, CF.relation)
                return
        rows = await unit_buttons(ctx, (ctx.text or "").strip(), "u:")
        if not rows:
            ctx.reply(ctx._("No unit matches. Please type another part of its name."))
            return
        ctx.reply(ctx._("Which one?"), buttons=rows)

    async def on_person(self, ctx: Context) -> None:
        name = " ".join((ctx.text or "").split())
        if not name or len(name) > MAX_NAME or name.startswith("/"):
            ctx.reply(ctx._("Please type the person's name (at most {n} characters).").format(n=MAX_NAME))
            return
        ctx.state.secret["person"] = name  # typed: sealed while the conversation lasts
        await self.go(ctx, CF.relation)

    async def on_relation(self, ctx: Context) -> None:
        v = ctx.button_value or ""
        if v not in KIND_WORDS:
            ctx.reply(ctx._("Please choose one of the buttons."))
            return
        ctx.state.data["kind"] = v
        await self.go(ctx, CF.reason)

    async def on_reason(self, ctx: Context) -> None:
        _ = ctx._
        if (reason := typed(ctx, NO_REASON)) is None:
            return
        staff = ctx.require_staff()
        d = ctx.state.data
        unit = await ctx.session.get(Unit, int(d["unit_id"])) if d.get("unit_id") else None
        person = ctx.state.secret.get("person") if unit is None else None
        ctx.state.end()
        if unit is None and not person:
            ctx.reply(_("Sorry, this conversation can no longer be continued. Please start again."))
            return
        decl = await declare(ctx.uow, staff, kind=str(d["kind"]), reason=reason, unit=unit, person=person)
        ctx.reply(_("Recorded: your conflict with {what}. It counts from now on: you will not be proposed for, or "
                    "shown, cases it concerns. An administrator has been asked to confirm it.").format(
            what=_what(_, unit.name if unit else None, decl.person_name, None)))

    steps = {
        CF.target: Step(on_target, ask_target, goes={CF.unit: "A unit", CF.person: "A person"}),
        CF.unit: Step(on_unit, ask_unit, back=CF.target, goes={CF.unit: "text (units offered)",
                                                               CF.relation: "unit chosen"}),
        CF.person: Step(on_person, ask_person, back=CF.target, goes={CF.relation: "name typed"}),
        CF.relation: Step(on_relation, ask_relation, back=CF.target, goes={CF.reason: "relationship chosen"}),
        CF.reason: Step(on_reason, ask_reason, back=CF.relation,
                        ends="reason typed (declared, pending; administrators asked)"),
    }


DECLARE = Declare()


async def conflict_cmd(ctx: Context, args: str) -> None:
    ctx.require_staff()
    await DECLARE.start(ctx)


async def pending_cmd(ctx: Context, args: str) -> None:
    """/conflicts (administrators): the declarations still waiting, each with Confirm / Refuse."""
    _ = ctx._
    admin = ctx.require_staff()
    rows = (await ctx.session.execute(
        select(ConflictDeclaration, Staff.name, Unit.name).join(Staff, Staff.id == ConflictDeclaration.staff_id)
        .outerjoin(Unit, Unit.id == ConflictDeclaration.unit_id)
        .where(ConflictDeclaration.status == "pending", ConflictDeclaration.staff_id != admin.id)
        .order_by(ConflictDeclaration.id).limit(20))).all()
    lines: list[str] = []
    buttons: list[list[Button]] = []
    for decl, name, unit_name in rows:
        case = await ctx.session.get(Case, decl.case_id) if decl.case_id else None
        if case is not None and not await without_conflicts(ctx.session, ctx.sealer, case, [admin.id]):
            continue  # need-to-know: a case this administrator may not hear of
        n = len(buttons) + 1
        lines += [f"{n}. " + _("{name} declares a conflict of interest (回避) with {what}.").format(
                      name=name, what=_what(_, unit_name, decl.person_name, case.reference if case else None)),
                  "   " + labelled(_, _("Relationship"), _(KIND_WORDS.get(decl.kind, decl.kind))),
                  "   " + labelled(_, _("Reason"), decl.reason)]
        buttons.append([ctx.action(f"{n}. " + _("✔ Confirm"), "conflict", f"{decl.id}.ok"),
                        ctx.action(f"{n}. " + _("✖ Refuse"), "conflict", f"{decl.id}.no")])
    ctx.reply("\n".join([_("Declared conflicts waiting for a decision:"), *lines]) if lines
              else _("No declared conflict is waiting for a decision."), buttons=buttons)
