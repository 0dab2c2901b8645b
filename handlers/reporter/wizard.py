"""The tip wizard (/report): one question at a time, back and cancel at every step.

The steps are declared once, in ``ReportConversation.steps`` (diagram:
docs/conversations/report.mmd). Everything typed lives sealed in the conversation state;
nothing is a tip until the reporter confirms.
"""

from __future__ import annotations

import enum

from handlers import inputs
from handlers.context import Context
from handlers.dispatcher import draft_ttl
from handlers.events import Button
from handlers.i18n import N_
from handlers.reporter import receipts
from handlers.reporter.forget import forget_button
from handlers.reporter.media import RejectedFile, clean_file
from handlers.reporter.tips import Draft, day_of, drop_draft_attachments, store_attachment, submit
from handlers.router import Conversation, Step
from handlers.search import find_units
from handlers.uow import ChatAddress
from storage.models import Unit

NAME = "report"
MAX_UNIT_CHOICES = 8
MAX_FILES = 10


class S(enum.Enum):
    about = "about"
    pick_unit = "pick_unit"
    people = "people"
    details = "details"
    files = "files"
    identity = "identity"
    name = "name"
    contact = "contact"
    confirm = "confirm"


# What the platform itself can see, said plainly before the reporter chooses: each channel's
# own note (ctx.deps.platform_notes), or this one.
DEFAULT_PLATFORM_NOTE = N_("The chat platform itself can see that you wrote to this service, but not what we store.")
REJECT_WORDS = {
    "too_large": N_("That file is too large (the limit is {mb} MB). It was not added; the rest of your report is kept."),
    "type": N_("That kind of file cannot be accepted. Please send photos, PDF, Word, Excel or text files. The rest of "
               "your report is kept."),
    "broken": N_("That file could not be read (it may be damaged). It was not added; the rest of your report is kept."),
    "pixels": N_("That picture has too many pixels to process safely. Please send a smaller version (for example a "
                 "screenshot of it). The rest of your report is kept."),
    "uncleanable": N_("Hidden details in that file (such as its author) cannot be removed, so it was not added, for "
                      "your protection. Please save it as a PDF or as a .docx/.xlsx file, without a password, or send a "
                      "photo of it. Archives (.zip) cannot be accepted; send the files one by one. The rest of your "
                      "report is kept."),
    "recording": N_("Audio and video files cannot be accepted from reporters, for your protection: they carry when, "
                    "where and on which device they were recorded, which cannot be removed here, and a voice or a "
                    "face can identify you. Please send a photo or a screenshot instead (hidden details are removed "
                    "from those), or write down what is said or shown. The rest of your report is kept."),
}


def nav(ctx: Context, *extra: list[Button]) -> list[list[Button]]:
    """Extra rows, then Back and Cancel."""
    return [*extra, [ctx.button(ctx._("◀ Back"), "back"), ctx.button(ctx._("✖ Cancel"), "cancel")]]


class ReportConversation(Conversation):
    name = NAME
    Steps = S
    first = S.about
    begin_label = "/report"
    notes = ("The tip wizard (/report). Every state also has Cancel (deletes the draft and its files).",
             "The draft expires after LIANZU_DRAFT_TTL_HOURS. /report while a draft is open re-asks the",
             "current step (nothing is lost); /check while a draft is open is refused.")

    # -- entry ----------------------------------------------------------------------------

    async def begin(self, ctx: Context) -> None:
        ctx.state.begin(NAME, S.about.value, ttl=draft_ttl(ctx))
        ctx.state.secret = {"details": []}
        ctx.state.data = {"files": []}
        ctx.reply(
            ctx._("Thank you for coming forward. I will ask a few questions, one at a time. You can go back or "
                  "cancel at any step, and nothing is kept until you confirm at the end.") + "\n"
            + ctx._("To stay safe, use a phone and an account that are not tied to your work, and keep the receipt "
                    "you get at the end to yourself: it is the only key to your report.")
        )
        await self.ask(ctx, S.about)

    async def handle(self, ctx: Context) -> None:
        if ctx.button_value == "cancel":
            await self.cancel(ctx)
            return
        if ctx.button_value == "back":
            await self.back(ctx)
            return
        ctx.state.expires_at = ctx.clock.now() + draft_ttl(ctx)  # activity keeps the draft alive
        await super().handle(ctx)

    async def cancel(self, ctx: Context) -> None:
        await drop_draft_attachments(ctx.session, list(ctx.state.data.get("files", [])))
        ctx.state.end()
        ctx.reply(ctx._("Your report was cancelled and everything you entered has been deleted."))

    # -- questions --------------------------------------------------------------------------

    async def ask_about(self, ctx: Context) -> None:
        _ = ctx._
        ctx.reply(
            _("Step 1 of 6. Which department or unit is it about? Type part of its name to search, or "
              "describe it in your own words."),
            buttons=nav(ctx, [ctx.button(_("Not sure"), "unsure")]),
        )

    async def ask_pick_unit(self, ctx: Context) -> None:
        await self._unit_choices(ctx, ctx.state.secret.get("about_text", ""))

    async def ask_people(self, ctx: Context) -> None:
        _ = ctx._
        ctx.reply(_("Step 2 of 6. Who is involved? Names and positions, if you know them. You can skip this."),
                  buttons=nav(ctx, [ctx.button(_("Skip"), "skip")]))

    async def ask_details(self, ctx: Context) -> None:
        _ = ctx._
        n = len(ctx.state.secret.get("details", []))
        text = _("Step 3 of 6. What happened? When and where, and how you know. You can send several "
                 "messages; choose Done when you have finished.")
        if n:
            text += "\n" + ctx.ngettext("({n} message received so far.)", "({n} messages received so far.)", n).format(n=n)
        ctx.reply(text, buttons=nav(ctx, [ctx.button(_("Done"), "done")]))

    async def ask_files(self, ctx: Context) -> None:
        _ = ctx._
        n = len(ctx.state.data.get("files", []))
        text = _("Step 4 of 6. You can send photos or documents as evidence (optional). Location and camera "
                 "details are removed from photos.")
        if n:
            text += " " + _("Choose Done when finished.")
            text += "\n" + ctx.ngettext("({n} file received.)", "({n} files received.)", n).format(n=n)
        else:
            text += " " + _("If you have none, choose Skip.")
        ctx.reply(text, buttons=nav(ctx, [ctx.button(_("Done") if n else _("Skip"), "done")]))

    async def ask_identity(self, ctx: Context) -> None:
        _ = ctx._
        note = _(ctx.deps.platform_notes.get(ctx.event.channel, DEFAULT_PLATFORM_NOTE))
        ctx.reply(
            _("Step 5 of 6. Do you want to report anonymously or with your name?\n"
              "• Anonymous: we keep nothing that identifies you, and we cannot contact you; you check "
              "progress yourself with a receipt.\n"
              "• With your name: we keep your name and contact (encrypted) and tell you of acceptance and "
              "of the result, as the rules require.") + "\n" + note,
            buttons=nav(ctx, [ctx.button(_("Anonymous"), "anon")], [ctx.button(_("With my name"), "named")]),
        )

    async def ask_name(self, ctx: Context) -> None:
        ctx.reply(ctx._("Please type your full name."), buttons=nav(ctx))

    async def ask_contact(self, ctx: Context) -> None:
        ctx.reply(ctx._("How can we contact you? A phone number or an address."), buttons=nav(ctx))

    async def ask_confirm(self, ctx: Context) -> None:
        ctx.reply(await self._summary(ctx), buttons=nav(ctx, [ctx.button(ctx._("✔ Submit"), "submit")]))

    async def _unit_choices(self, ctx: Context, query: str) -> bool:
        _ = ctx._
        units = await self._search_units(ctx, query)
        if not units:
            return False
        rows = [[ctx.button(u.name_for(ctx.lang), f"unit:{u.id}")] for u in units]
        rows.append([ctx.button(_("None of these: use what I typed"), "own")])
        ctx.reply(_("Did you mean one of these units?"), buttons=nav(ctx, *rows))
        return True

    async def _search_units(self, ctx: Context, query: str) -> list[Unit]:
        return await find_units(ctx.session, query, MAX_UNIT_CHOICES)

    # -- steps ------------------------------------------------------------------------------

    async def on_about(self, ctx: Context) -> None:
        if ctx.button_value == "unsure":
            ctx.state.secret.update(unit_id=None, subject=None)
            await self.go(ctx, S.people)
            return
        text = (ctx.text or "").strip()
        if not text:
            await self._need_text(ctx)
            return
        ctx.state.secret["about_text"] = text
        if await self._unit_choices(ctx, text):
            ctx.state.goto(S.pick_unit.value)
            return
        ctx.state.secret.update(unit_id=None, subject=text)
        await self.go(ctx, S.people)

    async def on_pick_unit(self, ctx: Context) -> None:
        value = ctx.button_value or ""
        if value.startswith("unit:"):
            unit_id = inputs.pressed_id(ctx, "unit:")
            unit = await ctx.session.get(Unit, unit_id) if unit_id is not None else None
            if unit is None:
                await self.ask(ctx, S.pick_unit)
                return
            ctx.state.secret.update(unit_id=unit.id, subject=None)
        elif value == "own":
            ctx.state.secret.update(unit_id=None, subject=ctx.state.secret.get("about_text"))
        elif ctx.text and ctx.text.strip():  # a new search
            await self.on_about(ctx)
            return
        else:
            await self.ask(ctx, S.pick_unit)
            return
        await self.go(ctx, S.people)

    async def on_people(self, ctx: Context) -> None:
        if ctx.button_value == "skip":
            ctx.state.secret["people"] = None
        elif ctx.text and ctx.text.strip():
            ctx.state.secret["people"] = ctx.text.strip()
        else:
            await self._need_text(ctx)
            return
        await self.go(ctx, S.details)

    async def on_details(self, ctx: Context) -> None:
        details: list[str] = ctx.state.secret.setdefault("details", [])
        if ctx.button_value == "done":
            if not details:
                ctx.reply(ctx._("Please describe what happened before choosing Done."))
                await self.ask(ctx, S.details)
                return
            await self.go(ctx, S.files)
            return
        if ctx.attachment is not None:  # a file during the description: take it as evidence
            await self.on_files(ctx)
            return
        if not ctx.text or not ctx.text.strip():
            await self._need_text(ctx)
            return
        details.append(ctx.text.strip())
        ctx.reply(ctx._("Received. Send more, or choose Done."), buttons=nav(ctx, [ctx.button(ctx._("Done"), "done")]))

    async def on_files(self, ctx: Context) -> None:
        _ = ctx._
        if ctx.button_value == "done":
            await self.go(ctx, S.identity)
            return
        f = ctx.attachment
        if f is None:
            if ctx.state.data.get("files"):
                ctx.reply(_("Please send a photo or document, or choose Done."),
                          buttons=nav(ctx, [ctx.button(_("Done"), "done")]))
            else:
                ctx.reply(_("Please send a photo or document, or choose Skip."),
                          buttons=nav(ctx, [ctx.button(_("Skip"), "done")]))
            return
        files: list[int] = ctx.state.data.setdefault("files", [])
        if len(files) >= MAX_FILES:
            ctx.reply(_("You have already sent the maximum of {n} files.").format(n=MAX_FILES),
                      buttons=nav(ctx, [ctx.button(_("Done"), "done")]))
            return
        try:
            cf = await clean_file(f.filename, f.content_type, f.data, f.size, ctx.config.max_attachment_bytes)
        except RejectedFile as exc:
            mb = ctx.config.max_attachment_bytes // (1024 * 1024)
            ctx.reply(_(REJECT_WORDS[exc.reason]).format(mb=mb), buttons=nav(ctx, [ctx.button(_("Done"), "done")]))
            return
        # Dated to the day from the start: an exact time, even in a row version replaced at
        # Submit, could be joined to the tip.
        att = await store_attachment(ctx.uow, filename=cf.filename, content_type=cf.content_type,
                                     data=cf.data, now=day_of(ctx.clock.now()))
        files.append(att.id)
        ctx.reply(ctx.ngettext("File received ({n} in all). Send more, or choose Done.",
                               "Files received ({n} in all). Send more, or choose Done.", len(files)).format(n=len(files)),
                  buttons=nav(ctx, [ctx.button(_("Done"), "done")]))

    async def on_identity(self, ctx: Context) -> None:
        if ctx.button_value == "anon":
            ctx.state.secret.update(anonymous=True, name=None, contact=None)
            await self.go(ctx, S.confirm)
        elif ctx.button_value == "named":
            ctx.state.secret["anonymous"] = False
            await self.go(ctx, S.name)
        else:
            ctx.reply(ctx._("Please choose one of the buttons."))
            await self.ask(ctx, S.identity)

    async def on_name(self, ctx: Context) -> None:
        if not ctx.text or not ctx.text.strip():
            await self._need_text(ctx)
            return
        ctx.state.secret["name"] = ctx.text.strip()[:200]
        await self.go(ctx, S.contact)

    async def on_contact(self, ctx: Context) -> None:
        if not ctx.text or not ctx.text.strip():
            await self._need_text(ctx)
            return
        ctx.state.secret["contact"] = ctx.text.strip()[:200]
        await self.go(ctx, S.confirm)

    async def on_confirm(self, ctx: Context) -> None:
        if ctx.button_value != "submit":
            ctx.reply(ctx._("Please choose Submit to send your report, or Back to change it."))
            await self.ask(ctx, S.confirm)
            return
        s = ctx.state.secret
        draft = Draft(unit_id=s.get("unit_id"), subject=s.get("subject"), people=s.get("people"),
                      details=list(s.get("details", [])), attachment_ids=list(ctx.state.data.get("files", [])),
                      anonymous=bool(s.get("anonymous", True)), name=s.get("name"), contact=s.get("contact"),
                      language=ctx.lang)
        receipt = receipts.new_receipt()
        digest = await receipts.hash_receipt(receipt, ctx.config.salt)
        address = None if draft.anonymous else ChatAddress(ctx.event.channel, ctx.event.sender.external_id)
        tip, case = await submit(ctx.uow, draft, receipt_hash=digest, chat_address=address)
        ctx.state.end()  # the draft and its link to this chat are deleted now
        _ = ctx._
        due = ctx.policy.check_back_date(case.created_at, ctx.clock.now(), waiting_for_acceptance=True)
        when = due.astimezone(ctx.config.tz).strftime("%Y-%m-%d")
        text = _("Your report has been submitted. Thank you.\n\nYour receipt:\n\n{receipt}\n\n"
                 "Write it down now and keep it safe. It is shown only this once and it is the only key to your "
                 "report: with it you (and anyone who has it) can check progress, answer questions and add "
                 "material. We cannot recover it.").format(receipt=receipts.format_receipt(receipt))
        if draft.anonymous:
            text += "\n\n" + _("Because you reported anonymously, we cannot contact you. Please check back with "
                               "/check and your receipt after {date}.").format(date=when)
        else:
            text += "\n\n" + _("We will tell you when your report has been accepted. You can also check at any "
                               "time with /check and your receipt.")
        text += "\n\n" + _("Once you have written the receipt down, you can remove this conversation from the "
                           "chat (or send /forget later).")
        ctx.reply(text, buttons=[[forget_button(ctx)]])
        # The receipt exists only in this message: the report is kept only if it reached the reporter.
        ctx.replies[-1] = ctx.replies[-1].model_copy(update={
            "must_arrive": True,
            "undelivered_text": _("Your report was not submitted: the message with its receipt could not be "
                                  "delivered to you (if it reached you after all, that receipt is not valid). "
                                  "Nothing was stored and your draft is kept. Please choose Submit again."),
        })

    async def _need_text(self, ctx: Context) -> None:
        ctx.reply(ctx._("I did not receive any text. Please type your answer, or use the buttons."))
        await self.ask(ctx, self.step_of(ctx) or S.about)

    async def _summary(self, ctx: Context) -> str:
        _ = ctx._
        s = ctx.state.secret
        if s.get("unit_id"):
            unit = await ctx.session.get(Unit, s["unit_id"])
            about = unit.name_for(ctx.lang) if unit else _("Not sure")
        else:
            about = s.get("subject") or _("Not sure")
        details = "\n".join(s.get("details", []))
        if len(details) > 600:
            details = details[:600] + "…"
        lines = [
            _("Step 6 of 6. Please check your report:"),
            _("About: {v}").format(v=about),
            _("People involved: {v}").format(v=s.get("people") or _("not given")),
            _("What happened: {v}").format(v=details),
            _("Files: {n}").format(n=len(ctx.state.data.get("files", []))),
        ]
        if s.get("anonymous", True):
            lines.append(_("Anonymous: yes"))
        else:
            lines.append(_("Name: {name}; contact: {contact}").format(name=s.get("name"), contact=s.get("contact")))
        lines.append(_("Choose Submit to send it."))
        return "\n".join(lines)

    steps = {
        S.about: Step(on_about, ask_about, goes={S.pick_unit: "text matches units",
                                                 S.people: "text matches nothing / Not sure"}),
        S.pick_unit: Step(on_pick_unit, ask_pick_unit, back=S.about,
                          goes={S.people: "unit chosen / use what I typed", S.pick_unit: "new search text"}),
        S.people: Step(on_people, ask_people, back=S.about, goes={S.details: "text / Skip"}),
        S.details: Step(on_details, ask_details, back=S.people,
                        goes={S.details: "text (several messages), file", S.files: "Done"}),
        S.files: Step(on_files, ask_files, back=S.details,
                      goes={S.files: "file (cleaned, encrypted) / refused file", S.identity: "Done / Skip"}),
        S.identity: Step(on_identity, ask_identity, back=S.files, goes={S.confirm: "Anonymous", S.name: "With my name"}),
        S.name: Step(on_name, ask_name, back=S.identity, goes={S.contact: "text"}),
        S.contact: Step(on_contact, ask_contact, back=S.name, goes={S.confirm: "text"}),
        S.confirm: Step(on_confirm, ask_confirm, back=S.identity,
                        ends="Submit (tip + case, receipt shown once, draft deleted)"),
    }
