"""Reporters: /report (the tip wizard) and /check (follow-up with a receipt)."""

from __future__ import annotations

from datetime import timedelta

from handlers.context import Context
from handlers.i18n import N_
from handlers.reporter import forget
from handlers.reporter.followup import CheckConversation
from handlers.reporter.tips import purge_orphan_attachments
from handlers.reporter.wizard import ReportConversation
from handlers.router import Audience, Router


def make_router() -> Router:
    router = Router("reporter")
    wizard = ReportConversation()
    check = CheckConversation()
    router.add_conversation(wizard)
    router.add_conversation(check)

    @router.command("report", help=N_("Report a problem (anonymously if you wish)"), audience=Audience.anyone,
                    menu=True, order=10)
    async def report(ctx: Context, args: str) -> None:
        if ctx.state.conversation == wizard.name and ctx.state.step:
            # Starting again must never throw away what was typed: continue the draft.
            ctx.reply(ctx._("You have an unfinished report; let's continue where you were. "
                            "(To start afresh, cancel it first.)"))
            await wizard.ask(ctx, wizard.step_of(ctx) or wizard.first)
            return
        # Files of abandoned drafts are deleted once their draft could no longer be continued.
        await purge_orphan_attachments(ctx.session, ctx.clock.now() - timedelta(hours=ctx.config.draft_ttl_hours))
        await wizard.begin(ctx)

    @router.command("check", help=N_("Check a report with your receipt"), audience=Audience.anyone, menu=True, order=11)
    async def check_(ctx: Context, args: str) -> None:
        if ctx.state.conversation == wizard.name:
            # A check would replace the conversation and lose the draft typed so far.
            ctx.reply(ctx._("You have an unfinished report. Please submit or cancel it first; what you typed "
                            "is kept. Send /report to continue it."))
            return
        await check.begin(ctx, args)

    # Listed for outside people; staff may use it too. The wizard offers it under the receipt.
    router.command("forget", help=N_("Remove this conversation from the chat"), audience=Audience.public,
                   order=12)(forget.ask)
    router.action(forget.ACTION)(forget.on_press)
    return router
