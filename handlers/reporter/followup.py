"""Follow-up with a receipt (/check): status, questions from the team, more material.

The steps are declared once, in ``CheckConversation.steps`` (diagram:
docs/conversations/check.mmd). The open session remembers which tip it is for (sealed) for a
short while, then forgets.
"""

from __future__ import annotations

import enum
import math
from datetime import datetime, timedelta

from handlers import inputs
from handlers.context import Context
from handlers.i18n import N_
from handlers.reporter import receipts
from handlers.reporter.media import RejectedFile, clean_file
from handlers.reporter.tips import STATUS_WORDS, add_message, case_for, day_of, open_questions, store_attachment
from handlers.reporter.wizard import REJECT_WORDS
from handlers.router import Conversation, Step
from storage.models import CaseState, Tip, TipQuestion

NAME = "check"
SESSION_MINUTES = 30
PROBLEM_WORDS = {
    receipts.ReceiptProblem.letters: N_("A receipt has digits only. Please type the 16 digits (spaces are fine). This did not count as a wrong attempt."),
    receipts.ReceiptProblem.length: N_("A receipt has exactly 16 digits. Please check and type it again (spaces are fine). This did not count as a wrong attempt."),
}


class S(enum.Enum):
    receipt = "receipt"
    menu = "menu"
    answer = "answer"
    add_text = "add_text"
    add_file = "add_file"


class CheckConversation(Conversation):
    name = NAME
    Steps = S
    first = S.receipt
    begin_label = "/check"
    notes = ("Follow-up with a receipt (/check). Finish or Cancel ends it from any state; it expires",
             "after 30 minutes without a message. Wrong receipts are throttled per chat and overall.")

    async def begin(self, ctx: Context, args: str = "") -> None:
        ctx.state.begin(NAME, S.receipt.value, ttl=timedelta(minutes=SESSION_MINUTES))
        if args.strip():
            ctx.event = ctx.event.model_copy(update={"text": args})
            await self.on_receipt(ctx)
            return
        ctx.reply(ctx._("Please type your 16-digit receipt."), buttons=[[ctx.button(ctx._("✖ Cancel"), "cancel")]])

    async def handle(self, ctx: Context) -> None:
        if ctx.button_value in ("cancel", "bye"):
            ctx.state.end()
            ctx.reply(ctx._("Done. Keep your receipt safe; you can check again at any time with /check."))
            return
        ctx.state.expires_at = ctx.clock.now() + timedelta(minutes=SESSION_MINUTES)
        await super().handle(ctx)

    async def cancel(self, ctx: Context) -> None:
        ctx.state.end()
        ctx.reply(ctx._("Done. Keep your receipt safe; you can check again at any time with /check."))

    # -- receipt ----------------------------------------------------------------------------

    async def on_receipt(self, ctx: Context) -> None:
        _ = ctx._
        cfg = ctx.config
        now = ctx.clock.now()
        if not ctx.text or not ctx.text.strip():
            ctx.reply(_("Please type your 16-digit receipt."), buttons=[[ctx.button(_("✖ Cancel"), "cancel")]])
            return
        norm = receipts.normalize_receipt(ctx.text)
        if isinstance(norm, receipts.ReceiptProblem):
            ctx.reply(_(PROBLEM_WORDS[norm]), buttons=[[ctx.button(_("✖ Cancel"), "cancel")]])
            return
        key = receipts.throttle_key(cfg.salt, ctx.event.channel, ctx.event.sender.external_id)
        window = timedelta(minutes=cfg.receipt_window_minutes)
        # Reserved before hashing: simultaneous attempts from one chat cannot exceed the limit.
        until = await receipts.reserve_attempt(ctx.session, key, now=now, window=window,
                                               per_sender=cfg.receipt_failures_per_sender)
        if until is not None:
            minutes = max(1, math.ceil((until - now).total_seconds() / 60))
            ctx.reply(_("Too many attempts. For your protection, please wait {m} minutes and try again.").format(m=minutes))
            ctx.state.end()
            return
        tip = await receipts.find_tip(ctx.session, norm, cfg.salt)
        if tip is None:
            await receipts.record_failure(ctx.session, key, now=now, window=window,
                                          global_limit=cfg.receipt_failures_global)
            ctx.reply(_("No report matches this receipt. Please check the digits and try again."),
                      buttons=[[ctx.button(_("✖ Cancel"), "cancel")]])
            return
        await receipts.refund_attempt(ctx.session, key)
        ctx.state.secret["tip_id"] = tip.id
        if tip.anonymous:
            tip.last_checked_on = now.replace(hour=0, minute=0, second=0, microsecond=0)
        ctx.state.goto(S.menu.value)
        await self.show(ctx, tip)

    # -- menu -------------------------------------------------------------------------------

    async def _tip(self, ctx: Context) -> Tip | None:
        tip_id = ctx.state.secret.get("tip_id")
        tip = await ctx.session.get(Tip, tip_id) if tip_id else None
        if tip is None:
            ctx.state.end()
            ctx.reply(ctx._("This check has ended. Please start again with /check."))
        return tip

    async def _step_tip(self, ctx: Context) -> Tip | None:
        """The tip of this session for an input step; None when the step is over (ended, or Back)."""
        tip = await self._tip(ctx)
        if tip is not None and ctx.button_value == "menu":
            ctx.state.goto(S.menu.value)
            await self.show(ctx, tip)
            return None
        return tip

    async def show(self, ctx: Context, tip: Tip) -> None:
        _ = ctx._
        case = await case_for(ctx.session, tip)
        state = case.state if case else CaseState.received.value
        lines = [_("Status of your report: {status}").format(status=_(STATUS_WORDS[state]))]
        if case is not None and case.result_enc is not None and case.key_id and \
                state in (CaseState.concluded.value, CaseState.feedback_given.value):
            lines.append(_("Result: {text}").format(text=ctx.sealer.open_text(case.key_id, case.result_enc)))
        questions = await open_questions(ctx.session, tip)
        rows = []
        for i, q in enumerate(questions, start=1):
            text = ctx.sealer.open_text(q.key_id, q.text_enc)
            lines.append(_("Question {n} from the team: {text}").format(n=i, text=text))
            rows.append([ctx.button(_("Answer question {n}").format(n=i), f"answer:{q.id}")])
        if tip.anonymous and state not in (CaseState.concluded.value, CaseState.feedback_given.value, CaseState.forwarded.value):
            lines.append(self._check_back(ctx, case.created_at if case else tip.created_at, state))
        rows += [[ctx.button(_("Add information"), "add_text"), ctx.button(_("Add a file"), "add_file")],
                 [ctx.button(_("Finish"), "bye")]]
        ctx.reply("\n\n".join(lines), buttons=rows)

    def _check_back(self, ctx: Context, since: datetime, state: str) -> str:
        when = ctx.policy.check_back_date(since, ctx.clock.now(), waiting_for_acceptance=state == CaseState.received.value)
        return ctx._("We cannot contact you, so please check back after {date}; questions from the team will "
                     "appear here.").format(date=when.astimezone(ctx.config.tz).strftime("%Y-%m-%d"))

    async def on_menu(self, ctx: Context) -> None:
        tip = await self._tip(ctx)
        if tip is None:
            return
        v = ctx.button_value or ""
        if v.startswith("answer:"):
            qid = inputs.pressed_id(ctx, "answer:")
            q = await ctx.session.get(TipQuestion, qid) if qid is not None else None
            if q is None or q.tip_id != tip.id or q.answered_at is not None:
                ctx.reply(ctx._("That question has already been answered."))
                await self.show(ctx, tip)
                return
            ctx.state.data["question_id"] = q.id
            ctx.state.goto(S.answer.value)
            ctx.reply(ctx._("Please type your answer."), buttons=[[ctx.button(ctx._("◀ Back"), "menu")]])
        elif v == "add_text":
            ctx.state.goto(S.add_text.value)
            ctx.reply(ctx._("Please type the information you want to add."), buttons=[[ctx.button(ctx._("◀ Back"), "menu")]])
        elif v == "add_file":
            ctx.state.goto(S.add_file.value)
            ctx.reply(ctx._("Please send the photo or document."), buttons=[[ctx.button(ctx._("◀ Back"), "menu")]])
        elif ctx.attachment is not None:
            await self.on_add_file(ctx)
        else:
            await self.show(ctx, tip)

    async def on_answer(self, ctx: Context) -> None:
        tip = await self._step_tip(ctx)
        if tip is None:
            return
        if not ctx.text or not ctx.text.strip():
            ctx.reply(ctx._("I did not receive any text. Please type your answer."))
            return
        q = await ctx.session.get(TipQuestion, ctx.state.data.get("question_id"))
        if q is None or q.tip_id != tip.id or q.answered_at is not None:
            ctx.reply(ctx._("That question has already been answered."))
        else:
            await add_message(ctx.uow, tip, ctx.text.strip(), question=q)
            ctx.reply(ctx._("Thank you, your answer has been passed to the team."))
        ctx.state.data.pop("question_id", None)
        ctx.state.goto(S.menu.value)
        await self.show(ctx, tip)

    async def on_add_text(self, ctx: Context) -> None:
        tip = await self._step_tip(ctx)
        if tip is None:
            return
        if ctx.attachment is not None:
            await self.on_add_file(ctx)
            return
        if not ctx.text or not ctx.text.strip():
            ctx.reply(ctx._("I did not receive any text. Please type the information you want to add."))
            return
        await add_message(ctx.uow, tip, ctx.text.strip())
        ctx.reply(ctx._("Thank you, the information has been added to your report."))
        ctx.state.goto(S.menu.value)
        await self.show(ctx, tip)

    async def on_add_file(self, ctx: Context) -> None:
        tip = await self._step_tip(ctx)
        if tip is None:
            return
        f = ctx.attachment
        if f is None:
            ctx.reply(ctx._("Please send a photo or document."), buttons=[[ctx.button(ctx._("◀ Back"), "menu")]])
            return
        try:
            cf = await clean_file(f.filename, f.content_type, f.data, f.size, ctx.config.max_attachment_bytes)
        except RejectedFile as exc:
            mb = ctx.config.max_attachment_bytes // (1024 * 1024)
            ctx.reply(ctx._(REJECT_WORDS[exc.reason]).format(mb=mb), buttons=[[ctx.button(ctx._("◀ Back"), "menu")]])
            return
        now = ctx.clock.now()
        att = await store_attachment(ctx.uow, filename=cf.filename, content_type=cf.content_type,
                                     data=cf.data, now=day_of(now) if tip.anonymous else now,
                                     tip_id=tip.id)
        case = await case_for(ctx.session, tip)
        if case is not None:
            att.case_id = case.id
        await ctx.uow.emit("tip.material_added", tip=tip)
        ctx.reply(ctx._("Thank you, the file has been added to your report."))
        ctx.state.goto(S.menu.value)
        await self.show(ctx, tip)

    steps = {
        S.receipt: Step(on_receipt, goes={S.menu: "right receipt (status, questions)", S.receipt: "wrong receipt / not digits"},
                        ends="throttled"),
        S.menu: Step(on_menu, goes={S.answer: "Answer question N", S.add_text: "Add information",
                                    S.add_file: "Add a file"}, ends="Finish"),
        S.answer: Step(on_answer, back=S.menu, goes={S.menu: "answer typed (team notified)"}),
        S.add_text: Step(on_add_text, back=S.menu, goes={S.menu: "text typed / file sent"}),
        S.add_file: Step(on_add_file, back=S.menu, goes={S.menu: "file (cleaned, encrypted) / refused file"}),
    }
