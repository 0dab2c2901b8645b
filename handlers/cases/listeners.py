"""What the cases feature does when something happens elsewhere (registered in handlers.app)."""

from __future__ import annotations

from sqlalchemy import select

from handlers.access import match_named, without_conflicts
from handlers.cases.routing import route
from handlers.cases.service import team_member_ids
from handlers.events import Reply
from handlers.i18n import Gettext
from handlers.uow import UnitOfWork
from storage.models import Attachment, Case, Tip, TipMessage, TipQuestion


async def route_new_tip(uow: UnitOfWork, tip: Tip, case: Case) -> None:
    # Who the report names is worked out once, before anyone is proposed or told of the case.
    await match_named(uow.session, uow.sealer, case)
    await route(uow, case)


async def tell_team_of_answer(uow: UnitOfWork, tip: Tip, question: TipQuestion, message: TipMessage) -> None:
    # The notice names the case only; the answer itself is read in /case.
    case = await uow.session.scalar(select(Case).where(Case.tip_id == tip.id))
    if case is None:
        return
    ref = case.reference

    def render(_: Gettext) -> Reply:
        return Reply(text=_("The reporter answered a question on case {ref}. Open it with /case {ref}.").format(ref=ref))

    for sid in await without_conflicts(uow.session, uow.sealer, case, await team_member_ids(uow.session, case.id)):
        await uow.outbox.to_staff(sid, render, about=case, kind="reporter_answer", dedupe_key=f"answer:{question.id}")


async def tell_team_of_material(uow: UnitOfWork, tip: Tip) -> None:
    """The reporter added information or a file: the team (not liaisons) is told which case; the
    material itself is read in /case."""
    case = await uow.session.scalar(select(Case).where(Case.tip_id == tip.id))
    if case is None:
        return
    ref = case.reference
    # One notice per addition: the count of what the reporter has added so far tells them apart.
    n = len((await uow.session.scalars(select(TipMessage.id).where(TipMessage.tip_id == tip.id))).all()) + \
        len((await uow.session.scalars(select(Attachment.id).where(Attachment.tip_id == tip.id))).all())

    def render(_: Gettext) -> Reply:
        return Reply(text=_("The reporter added material to case {ref}. Open it with /case {ref}.").format(ref=ref))

    for sid in await team_member_ids(uow.session, case.id):
        await uow.outbox.to_staff(sid, render, about=case, kind="reporter_material", dedupe_key=f"material:{tip.id}:{n}")
