"""Follow-up with a receipt (/check): status, team questions, more material.

The tip found by the receipt is kept only in the sealed part of the conversation state,
which ends (row deleted) when the reporter is done or after ``CHECK_SESSION_MINUTES``.
See ``docs/conversations/check.mmd``.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers.context import Context
from handlers.lifecycle import emit
from handlers.reporter import media
from handlers.reporter.receipts import ReceiptFormat, Throttle, find_tip, normalize
from handlers.reporter.status import check_back_hint, status_text
from handlers.reporter.wizard import attachment_row, rejection_text
from handlers.identity import sender_key
from handlers.router import Conversation
from storage.models import Case, Tip, TipMessage, TipQuestion

NAME = "check"
CHECK_SESSION_MINUTES = 30
QUESTION_PREVIEW_CHARS = 200


class CheckConversation(Conversation):
    name = NAME

    async def start(self, ctx: Context, args: str) -> None:
        if ctx.state.conversation and ctx.state.conversation != NAME:
            ctx.reply(ctx._("You have an unfinished conversation (for example a report draft). Please finish it "
                            "or send /cancel first; what you typed is kept."))
            return
        ctx.state.begin(NAME, "receipt", ttl=timedelta(minutes=CHECK_SESSION_MINUTES))
        if args.strip():
            await self.on_receipt(ctx, args)
            return
        ctx.reply(ctx._("Please type your 16-digit receipt number (spaces or dashes are fine)."),
                  buttons=[[ctx.button(ctx._("✖ Cancel"), "cancel")]])

    async def handle(self, ctx: Context) -> None:
        if ctx.button_value == "cancel" or ctx.button_value == "close":
            await self.cancel(ctx)
            return
        await super().handle(ctx)

    async def cancel(self, ctx: Context) -> None:
        ctx.state.end()
        ctx.reply(ctx._("Closed. To look again, send /check and your receipt number."))

    # -- the receipt -------------------------------------------------------------------

    async def on_receipt(self, ctx: Context, typed: str | None = None) -> None:
        _ = ctx._
        typed = typed if typed is not None else (ctx.text or "")
        if ctx.event.attachment is not None or not typed.strip():
            ctx.reply(_("Please type your receipt number as text (16 digits)."))
            return
        fmt, receipt = normalize(typed)
        # Format mistakes are not guesses: answered plainly, never counted as failed attempts.
        if fmt is ReceiptFormat.not_digits:
            ctx.reply(_("A receipt number has only digits (16 of them); spaces and dashes are fine. Please try again."))
            return
        if fmt is ReceiptFormat.wrong_length:
            ctx.reply(_("A receipt number has exactly 16 digits; that was a different length. Please try again."))
            return
        cfg = ctx.config
        throttle = Throttle(ctx.session, ctx.clock.now(), timedelta(minutes=cfg.receipt_window_minutes),
                            cfg.receipt_failures_per_sender, cfg.receipt_failures_global)
        skey = sender_key(cfg.salt, ctx.event.channel, ctx.event.sender.external_id, purpose="receipt-throttle")
        if await throttle.blocked(skey):
            ctx.state.end()
            ctx.reply(_("Too many attempts. For your protection, please wait {minutes} minutes and try again.")
                      .format(minutes=cfg.receipt_window_minutes))
            return
        tip = await find_tip(ctx.session, receipt, cfg.salt)
        if tip is None:
            await throttle.failed(skey)
            ctx.reply(_("No report matches that receipt number. Please check the digits and try again."),
                      buttons=[[ctx.button(_("✖ Cancel"), "cancel")]])
            return
        ctx.state.secret["tip"] = tip.id
        # Day-granular, so the time of a check cannot be matched to a chat log.
        tip.last_checked_on = ctx.clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
        await self.show(ctx, tip)

    # -- the overview ------------------------------------------------------------------

    async def _tip(self, ctx: Context) -> Tip | None:
        tip_id = ctx.state.secret.get("tip")
        tip = await ctx.session.get(Tip, tip_id) if tip_id else None
        if tip is None:
            ctx.state.end()
            ctx.reply(ctx._("Please start again with /check and your receipt number."))
        return tip

    async def _open_questions(self, ctx: Context, tip: Tip) -> list[TipQuestion]:
        return list((await ctx.session.scalars(
            select(TipQuestion).where(TipQuestion.tip_id == tip.id, TipQuestion.answered_at.is_(None))
            .order_by(TipQuestion.id)
        )).all())

    async def show(self, ctx: Context, tip: Tip) -> None:
        _ = ctx._
        ctx.state.goto("menu")
        case = await ctx.session.scalar(select(Case).where(Case.tip_id == tip.id))
        lines = [_("Report {ref}").format(ref=case.reference if case else "—"),
                 _("Status: {status}").format(status=status_text(ctx, case) if case else _("Received."))]
        questions = await self._open_questions(ctx, tip)
        buttons = []
        if questions:
            lines.append(_("The handling team has asked you:"))
            for i, q in enumerate(questions, 1):
                text = ctx.sealer.open_text(q.key_id, q.text_enc)
                if len(text) > QUESTION_PREVIEW_CHARS:
                    text = text[:QUESTION_PREVIEW_CHARS] + "…"
                lines.append(f"{i}. {text}")
                buttons.append([ctx.button(_("Answer question {n}").format(n=i), f"q{q.id}")])
        else:
            lines.append(_("There are no questions for you at the moment."))
        if tip.anonymous and case is not None:
            lines.append(await check_back_hint(ctx, case))
        buttons.append([ctx.button(_("Add information or files"), "add")])
        buttons.append([ctx.button(_("Close"), "close")])
        ctx.reply("\n".join(lines), buttons=buttons)

    async def on_menu(self, ctx: Context) -> None:
        tip = await self._tip(ctx)
        if tip is None:
            return
        v = ctx.button_value
        if v == "add":
            ctx.state.goto("add")
            ctx.reply(ctx._("Send more information as text, or photos and documents. Press “Done” when finished."),
                      buttons=[[ctx.button(ctx._("Done"), "done")]])
            return
        if v and v.startswith("q") and v[1:].isdigit():
            q = await ctx.session.get(TipQuestion, int(v[1:]))
            if q is not None and q.tip_id == tip.id and q.answered_at is None:
                ctx.state.data["question"] = q.id
                ctx.state.goto("answer")
                ctx.reply(ctx._("Please type your answer."), buttons=[[ctx.button(ctx._("⬅ Back"), "back")]])
                return
        ctx.reply(ctx._("Please choose one of the buttons."))
        await self.show(ctx, tip)

    async def on_answer(self, ctx: Context) -> None:
        tip = await self._tip(ctx)
        if tip is None:
            return
        if ctx.button_value is not None:
            ctx.state.data.pop("question", None)
            await self.show(ctx, tip)
            return
        text = (ctx.text or "").strip()
        if not text:
            ctx.reply(ctx._("I received an empty message. Nothing was changed; please type your answer."))
            return
        q = await ctx.session.get(TipQuestion, ctx.state.data.get("question") or 0)
        if q is None or q.tip_id != tip.id or q.answered_at is not None:
            ctx.reply(ctx._("That question has already been answered. Your text was not stored; you can add it as "
                            "more information instead."))
            await self.show(ctx, tip)
            return
        key_id = ctx.sealer.current_key_id
        now = ctx.clock.now()
        msg = TipMessage(tip_id=tip.id, question_id=q.id, key_id=key_id,
                         body_enc=ctx.sealer.seal_with(key_id, text.encode("utf-8")), created_at=now)
        ctx.session.add(msg)
        q.answered_at = now
        await ctx.session.flush()
        await emit(ctx.session, "tip.answered", tip=tip, question=q, message=msg)
        ctx.state.data.pop("question", None)
        ctx.reply(ctx._("Thank you, your answer was passed to the handling team."))
        await self.show(ctx, tip)

    async def on_add(self, ctx: Context) -> None:
        tip = await self._tip(ctx)
        if tip is None:
            return
        if ctx.button_value is not None:
            await self.show(ctx, tip)
            return
        f = ctx.event.attachment
        if f is not None:
            try:
                clean = media.clean(f, ctx.config.max_attachment_bytes)
            except media.Rejected as r:
                ctx.reply(rejection_text(ctx, r.reason), buttons=[[ctx.button(ctx._("Done"), "done")]])
                return
            ctx.session.add(attachment_row(ctx, tip.id, clean.filename, clean.content_type, clean.data))
        else:
            text = (ctx.text or "").strip()
            if not text:
                ctx.reply(ctx._("I received an empty message. Nothing was changed; please type your answer."))
                return
            key_id = ctx.sealer.current_key_id
            ctx.session.add(TipMessage(tip_id=tip.id, key_id=key_id,
                                       body_enc=ctx.sealer.seal_with(key_id, text.encode("utf-8")),
                                       created_at=ctx.clock.now()))
        await ctx.session.flush()
        await emit(ctx.session, "tip.material_added", tip=tip)
        ctx.reply(ctx._("Added to your report. Send more, or press “Done”."),
                  buttons=[[ctx.button(ctx._("Done"), "done")]])


