"""Cases: lifecycle actions, conflict-free routing, assignment notices with 签收, staff views."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.cases.chat import make_router
from handlers.cases.routing import route
from handlers.cases.service import team_member_ids
from handlers.events import Reply
from handlers.i18n import Gettext
from handlers.lifecycle import listen
from storage.models import Case, Tip, TipQuestion

__all__ = ["make_router"]


@listen("tip.submitted")
async def _route_new_tip(session: AsyncSession, tip: Tip, case: Case) -> None:
    await route(session, case)


@listen("tip.answered")
async def _tell_team(session: AsyncSession, tip: Tip, question: TipQuestion, message: object) -> None:
    # The notice names the case only; the answer itself is read in /case.
    from sqlalchemy import select

    from handlers.notify import notify_staff

    case = await session.scalar(select(Case).where(Case.tip_id == tip.id))
    if case is None:
        return
    cfg = session.info.get("config")
    now = question.answered_at
    ref = case.reference

    def render(_: Gettext) -> Reply:
        return Reply(text=_("The reporter answered a question on case {ref}. Open it with /case {ref}.").format(ref=ref))

    for sid in await team_member_ids(session, case.id):
        await notify_staff(session, sid, render, kind="reporter_answer", now=now, config=cfg,  # type: ignore[arg-type]
                           dedupe_key=f"answer:{question.id}")
