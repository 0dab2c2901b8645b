"""Reporters: the tip wizard (/report) and follow-up with a receipt (/check)."""

from __future__ import annotations

from handlers.context import Context
from handlers.i18n import N_
from handlers.reporter.followup import CheckConversation
from handlers.reporter.wizard import ReportConversation
from handlers.router import Audience, Router


def make_router() -> Router:
    router = Router("reporter")
    wizard = router.add_conversation(ReportConversation())
    check = router.add_conversation(CheckConversation())
    assert isinstance(wizard, ReportConversation) and isinstance(check, CheckConversation)

    @router.command("report", help=N_("Report a problem (anonymously if you wish)"), audience=Audience.public,
                    menu=True, order=10)
    async def report(ctx: Context, args: str) -> None:
        await wizard.start(ctx)

    @router.command("check", help=N_("Check on a report with your receipt"), audience=Audience.public,
                    menu=True, order=11)
    async def check_(ctx: Context, args: str) -> None:
        await check.start(ctx, args)

    return router
