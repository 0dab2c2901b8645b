"""Feedback to reporters (反馈) and named reporters' contacts.

At conclusion the lead records a result meant for the reporter, sealed with the case: an
anonymous reporter reads it at /check, a named reporter who left a chat is sent it, and the
feedback step then records that the reporter was informed. The team lead alone may reveal a named
reporter's name and contact, with a reason; the reveal is audited and listed on the case."""

from __future__ import annotations

from sqlalchemy import select

from handlers.access import Action, Facts, allowed
from handlers.cases import service
from handlers.context import Context
from handlers.events import Button, Reply
from handlers.i18n import Gettext
from handlers.uow import UnitOfWork
from storage.crypto import Sealer
from storage.models import AuditEntry, Case, Staff, Tip


def seal_result(uow: UnitOfWork, case: Case, text: str) -> None:
    # The case's key seals both its summary and its result (key rotation re-seals both).
    if case.key_id is None:
        case.key_id = uow.sealer.current_key_id
    case.result_enc = uow.sealer.seal_with(case.key_id, text.encode())


def result_text(sealer: Sealer, case: Case) -> str | None:
    if case.result_enc is None or case.key_id is None:
        return None
    return sealer.open_text(case.key_id, case.result_enc)


async def tell_named_reporter(uow: UnitOfWork, case: Case) -> bool:
    """Send the result to a named reporter who left a chat; False when there is no one to send to."""
    tip = await uow.session.get(Tip, case.tip_id) if case.tip_id else None
    result = result_text(uow.sealer, case)
    if tip is None or result is None:
        return False

    def render(_: Gettext) -> Reply:
        return Reply(text=_("The handling of your report has been concluded. The result: {result}").format(
            result=result))

    return await uow.outbox.to_reporter(tip, render, kind="reporter_result", dedupe_key=f"result:{case.id}") is not None


async def reveal_reporter(uow: UnitOfWork, staff: Staff, case: Case, reason: str) -> tuple[str, str]:
    """The named reporter's name and contact, for the team lead, with the reason recorded."""
    await service.require(uow, staff, case, Action.reveal_reporter)
    tip = await uow.session.get(Tip, case.tip_id) if case.tip_id else None
    if tip is None or tip.anonymous:
        raise service.Denied()
    name = uow.sealer.open_text(tip.key_id, tip.reporter_name_enc) if tip.reporter_name_enc else ""
    contact = uow.sealer.open_text(tip.key_id, tip.reporter_contact_enc) if tip.reporter_contact_enc else ""
    await service.log(uow, staff, case, "reveal_reporter", uow.now(), reason=reason[:500])
    return name, contact


async def reveal_lines(ctx: Context, case: Case) -> list[str]:
    """The case history of reveals: who, when, why (never what was revealed)."""
    rows = (await ctx.session.execute(select(AuditEntry, Staff).join(Staff, Staff.id == AuditEntry.actor_staff_id)
                                      .where(AuditEntry.case_id == case.id, AuditEntry.action == "reveal_reporter")
                                      .order_by(AuditEntry.id))).all()
    return [ctx._("Reporter's contact revealed to {name} on {at}, because: {reason}").format(
        name=st.name, at=e.at.astimezone(ctx.config.tz).strftime("%Y-%m-%d %H:%M"), reason=e.detail.get("reason", ""))
        for e, st in rows]


async def conclude(uow: UnitOfWork, staff: Staff, case: Case, people_disciplined: int, result: str) -> bool:
    """办结 with the result meant for the reporter; True when a named reporter was sent it."""
    await service.conclude(uow, staff, case, people_disciplined)
    seal_result(uow, case, result)
    return await tell_named_reporter(uow, case)


async def buttons(ctx: Context, case: Case, f: Facts) -> list[list[Button]]:
    """"Reveal the reporter's contact", for the team lead of a case from a named report."""
    if not allowed(f, Action.reveal_reporter) or case.tip_id is None:
        return []
    tip = await ctx.session.get(Tip, case.tip_id)
    if tip is None or tip.anonymous:
        return []
    return [[ctx.action(ctx._("Reveal the reporter's contact"), "case", f"{case.id}.reveal")]]


async def content_lines(ctx: Context, case: Case) -> list[str]:
    result = result_text(ctx.sealer, case)
    lines = [ctx._("Result for the reporter: {v}").format(v=result)] if result else []
    return lines + await reveal_lines(ctx, case)
