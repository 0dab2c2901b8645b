"""The last step every campaign conversation shares (as ``handlers.cases.replies.act_on_case``
does for cases): the conversation ends, the service acts as the speaker, and a refusal or a
problem gets the shared answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers.campaigns.service import Denied, Problem
from handlers.campaigns.views import not_found
from handlers.context import Context
from storage.models import Campaign, Staff

Act = Callable[[Staff], Awaitable[None]]


async def finish(ctx: Context, act: Act, *, problem: str | Callable[[Context, Problem], None] | None = None) -> None:
    """End the conversation, then ``act`` as the speaker. Denied (or a campaign gone, see
    ``campaign_of``) is the one not-found answer, the same whether or not the campaign exists; a
    ``Problem`` gets ``problem`` (a translated text, or a function answering it). Read everything
    needed from the state before calling: it ends here."""
    staff = ctx.require_staff()
    ctx.state.end()
    try:
        await act(staff)
    except Denied:
        not_found(ctx, "")
    except Problem as p:
        if problem is None:
            raise
        if isinstance(problem, str):
            ctx.reply(problem)
        else:
            problem(ctx, p)


async def campaign_of(ctx: Context, campaign_id: int) -> Campaign:
    """The campaign a conversation is about; gone since it began: Denied, answered as not found."""
    c = await ctx.session.get(Campaign, campaign_id)
    if c is None:
        raise Denied()
    return c
