"""/forget: a reporter's way to leave no trace in the chat.

It asks first (the receipt is shown only once), then deletes every row this service keeps
for the chat (the language choice, the wrong-receipt counter, an unfinished draft and its
files, the conversation state) and asks the channel to remove the messages it can
(``Reply.delete_recent``); the answer says plainly what is left and who can remove it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from handlers.context import Context
from handlers.events import Button
from handlers.i18n import N_
from handlers.reporter import receipts
from handlers.reporter.tips import drop_draft_attachments
from storage.models import ChatPreference, ReceiptThrottle

ACTION = "forget"
# What is left, where the channel does not say it in its own words (ChannelSpec.forget_note).
DEFAULT_FORGET_NOTE = N_("This chat platform does not let me delete messages: please delete this conversation "
                         "yourself.")


def forget_button(ctx: Context) -> Button:
    return ctx.action(ctx._("Remove this conversation"), ACTION, "ask")


async def ask(ctx: Context, args: str = "") -> None:
    _ = ctx._
    ctx.reply(
        _("This removes what this service keeps about this chat (your language choice, any unfinished report) "
          "and the messages I can remove from it. Your report itself, if you sent one, is kept and can still be "
          "checked with its receipt.\n\nHave you written your receipt down? It will not be shown again.")
        + "\n\n" + _(note(ctx)),
        buttons=[[ctx.action(_("I have written it down: remove"), ACTION, "yes")],
                 [ctx.action(_("Not yet"), ACTION, "no")]],
    )


def note(ctx: Context) -> str:
    return ctx.deps.forget_notes.get(ctx.event.channel, DEFAULT_FORGET_NOTE)


async def on_press(ctx: Context, arg: str) -> None:
    if arg == "yes":
        await forget(ctx)
    elif arg == "no":
        ctx.reply(ctx._("Nothing was removed. Write your receipt down, then send /forget again."))
    else:
        await ask(ctx)


async def forget(ctx: Context) -> None:
    cfg = ctx.config
    from handlers.reporter.wizard import NAME as REPORT  # the wizard offers this; import late

    if ctx.state.conversation == REPORT:
        # An unfinished draft's files go with it (a report that was sent is not touched).
        await drop_draft_attachments(ctx.session, list(ctx.state.data.get("files", [])))
    ctx.state.end()  # the conversation state row is deleted when the state is saved
    await ctx.session.execute(delete(ChatPreference).where(
        ChatPreference.key == ctx.dispatcher.preference_key(ctx.event)))
    # The wrong-receipt counter of this chat goes too, unless it still counts failures in its
    # window: then it stays until the window ends, so /forget cannot buy more guesses.
    key = receipts.throttle_key(cfg.salt, ctx.event.channel, ctx.event.sender.external_id)
    window = timedelta(minutes=cfg.receipt_window_minutes)
    await ctx.session.execute(delete(ReceiptThrottle).where(
        ReceiptThrottle.key == key,
        (ReceiptThrottle.failures == 0) | (ReceiptThrottle.window_start <= ctx.clock.now() - window)))
    _ = ctx._
    r = ctx.reply(_("Done. This service no longer keeps anything about this chat.") + "\n\n" + _(note(ctx)))
    r.delete_recent = True
