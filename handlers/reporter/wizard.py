"""The tip wizard (/report): one question at a time, back and cancel at every step.

Everything the reporter types is kept in ``ctx.state.secret`` (sealed); nothing becomes a tip
until they confirm. See ``docs/conversations/report.mmd``.
"""

from __future__ import annotations

import base64
from datetime import timedelta

from sqlalchemy import func, select

from handlers.context import Context
from handlers.events import Button
from handlers.i18n import N_
from handlers.lifecycle import emit, open_case
from handlers.reporter import media
from handlers.reporter.receipts import grouped, hash_receipt, new_receipt
from handlers.reporter.status import check_back_hint
from handlers.router import Conversation
from storage.models import Attachment, CaseSource, Tip, Unit

NAME = "report"
MAX_UNIT_MATCHES = 8
MAX_SEARCH_CHARS = 40
MAX_BODY_PARTS = 50
MAX_NAME_CHARS = 100
MAX_CONTACT_CHARS = 200
SUMMARY_PREVIEW_CHARS = 300
# Order of the steps, for "back".
BACK = {
    "about_pick": "about",
    "people": "about",
    "body": "people",
    "files": "body",
    "identity": "files",
    "name": "identity",
    "contact": "name",
    "confirm": "identity",
}


def nav(ctx: Context, *, back: bool = True) -> list[Button]:
    row = [ctx.button(ctx._("⬅ Back"), "back")] if back else []
    return row + [ctx.button(ctx._("✖ Cancel"), "cancel")]


class ReportConversation(Conversation):
    name = NAME

    async def start(self, ctx: Context) -> None:
        if ctx.state.conversation == NAME:  # never throw away a draft by starting again
            ctx.reply(ctx._("You have an unfinished report; let's continue where you were."))
            await self.ask(ctx, ctx.state.step or "about")
            return
        ctx.state.begin(NAME, "about", ttl=timedelta(hours=ctx.config.draft_ttl_hours))
        hours = ctx.config.draft_ttl_hours
        ctx.reply(
            ctx._("You can report a problem here. I will ask a few questions, one at a time; nothing is "
                  "sent until you confirm at the end, and an unfinished draft is deleted after {hours:g} hours.")
            .format(hours=hours)
        )
        await self.ask(ctx, "about")

    # -- asking ----------------------------------------------------------------------

    async def ask(self, ctx: Context, step: str) -> None:
        ctx.state.goto(step)
        _ = ctx._
        if step == "about":
            ctx.reply(
                _("Step 1 of 6. Which unit or matter is it about? Type part of the unit's name to search "
                  "(for example 法院), or describe it in your own words."),
                buttons=[[ctx.button(_("Not sure"), "unsure")], nav(ctx, back=False)],
            )
        elif step == "people":
            ctx.reply(
                _("Step 2 of 6. Who is involved? Names and positions, if you know them. This is optional."),
                buttons=[[ctx.button(_("Skip"), "skip")], nav(ctx)],
            )
        elif step == "body":
            ctx.reply(
                _("Step 3 of 6. What happened? When, where, what was done. You can send several messages; "
                  "press “Done” when you have finished."),
                buttons=[[ctx.button(_("Done"), "done")], nav(ctx)],
            )
        elif step == "files":
            n = len(ctx.state.secret.get("files", []))
            ctx.reply(
                _("Step 4 of 6. You can send photos or documents (PDF, Word, Excel, text) as evidence, "
                  "up to {mb} MB each. Photo location and camera data are removed. Files so far: {n}.")
                .format(mb=ctx.config.max_attachment_bytes // (1024 * 1024), n=n),
                buttons=[[ctx.button(_("No more files") if n else _("No files"), "done")], nav(ctx)],
            )
        elif step == "identity":
            ctx.reply(
                _("Step 5 of 6. Anonymous or with your name?\n"
                  "• Anonymous: we store nothing that identifies you; you check on your report yourself with "
                  "a receipt number.\n"
                  "• With your name: we store your name and contact encrypted and tell you the outcome, as the "
                  "rules require.\n"
                  "Either way, the chat platform itself (its operator) can see that this account wrote to this "
                  "assistant; we cannot prevent that."),
                buttons=[[ctx.button(_("Anonymous"), "anon"), ctx.button(_("With my name"), "named")], nav(ctx)],
            )
        elif step == "name":
            ctx.reply(_("Your full name, please."), buttons=[nav(ctx)])
        elif step == "contact":
            ctx.reply(_("How can we reach you (a phone number or address)? It is stored encrypted and used only "
                        "to tell you about the handling of your report."), buttons=[nav(ctx)])
        elif step == "confirm":
            ctx.reply(await self.summary(ctx), buttons=[[ctx.button(_("✔ Submit"), "submit")], nav(ctx)])

    async def summary(self, ctx: Context) -> str:
        _ = ctx._
        sec, data = ctx.state.secret, ctx.state.data
        about = sec.get("subject") or _("not sure")
        if data.get("unit_id"):
            unit = await ctx.session.get(Unit, data["unit_id"])
            about = unit.name if unit else about
        body = "\n".join(sec.get("body", []))
        if len(body) > SUMMARY_PREVIEW_CHARS:
            body = body[:SUMMARY_PREVIEW_CHARS] + "…"
        who = _("with your name ({name})").format(name=sec.get("name", "")) if data.get("named") else _("anonymous")
        return "\n".join([
            _("Step 6 of 6. Please check your report:"),
            _("About: {about}").format(about=about),
            _("People involved: {people}").format(people=sec.get("people") or _("not given")),
            _("What happened: {body}").format(body=body),
            _("Files: {n}").format(n=len(sec.get("files", []))),
            _("Sent: {who}").format(who=who),
            _("Press “Submit” to send it. Nothing has been sent yet."),
        ])

    # -- common handling -------------------------------------------------------------

    async def handle(self, ctx: Context) -> None:
        v = ctx.button_value
        if v == "cancel":
            await self.cancel(ctx)
            return
        if v == "back":
            await self.ask(ctx, BACK.get(ctx.state.step or "", "about"))
            return
        if ctx.event.attachment is not None and ctx.state.step != "files":
            ctx.reply(ctx._("Please send files at the file step; your answers so far are kept."))
            await self.ask(ctx, ctx.state.step or "about")
            return
        await super().handle(ctx)

    async def cancel(self, ctx: Context) -> None:
        ctx.state.end()
        ctx.reply(ctx._("Cancelled. Your draft was deleted and nothing was sent."))

    def _text(self, ctx: Context) -> str | None:
        t = (ctx.text or "").strip()
        if not t:
            ctx.reply(ctx._("I received an empty message. Nothing was changed; please type your answer."))
            return None
        return t

    # -- steps -------------------------------------------------------------------------

    async def on_about(self, ctx: Context) -> None:
        if ctx.button_value == "unsure":
            ctx.state.secret.pop("subject", None)
            ctx.state.data.pop("unit_id", None)
            await self.ask(ctx, "people")
            return
        if ctx.button_value is not None:
            await self.ask(ctx, "about")
            return
        t = self._text(ctx)
        if t is None:
            return
        ctx.state.secret["subject"] = t
        ctx.state.data.pop("unit_id", None)
        needle = t[:MAX_SEARCH_CHARS].lower().replace("%", "").replace("_", "")
        units = (await ctx.session.scalars(
            select(Unit).where(func.lower(Unit.name).contains(needle)).order_by(Unit.name).limit(MAX_UNIT_MATCHES)
        )).all() if needle else []
        if not units:
            await self.ask(ctx, "people")
            return
        ctx.state.goto("about_pick")
        ctx.reply(
            ctx._("I found these units. Is it one of them?"),
            buttons=[[ctx.button(u.name, f"u{u.id}")] for u in units]
            + [[ctx.button(ctx._("None of these; keep my words"), "own")], nav(ctx)],
        )

    async def on_about_pick(self, ctx: Context) -> None:
        v = ctx.button_value
        if v and v.startswith("u") and v[1:].isdigit() and await ctx.session.get(Unit, int(v[1:])) is not None:
            ctx.state.data["unit_id"] = int(v[1:])
            await self.ask(ctx, "people")
        elif v == "own":
            await self.ask(ctx, "people")
        elif v is None and ctx.text and ctx.text.strip():
            ctx.state.goto("about")
            await self.on_about(ctx)  # a new search
        else:
            ctx.reply(ctx._("Please choose one of the buttons, or type another name to search."))

    async def on_people(self, ctx: Context) -> None:
        if ctx.button_value == "skip":
            ctx.state.secret.pop("people", None)
            await self.ask(ctx, "body")
            return
        if ctx.button_value is not None:
            await self.ask(ctx, "people")
            return
        t = self._text(ctx)
        if t is not None:
            ctx.state.secret["people"] = t
            await self.ask(ctx, "body")

    async def on_body(self, ctx: Context) -> None:
        parts: list[str] = ctx.state.secret.setdefault("body", [])
        if ctx.button_value == "done":
            if not parts:
                ctx.reply(ctx._("Please describe what happened first; a report needs at least a few words."),
                          buttons=[nav(ctx)])
                return
            await self.ask(ctx, "files")
            return
        if ctx.button_value is not None:
            await self.ask(ctx, "body")
            return
        t = self._text(ctx)
        if t is None:
            return
        if len(parts) >= MAX_BODY_PARTS:
            ctx.reply(ctx._("That is a lot of messages; please press “Done” to go on. What you sent is kept."),
                      buttons=[[ctx.button(ctx._("Done"), "done")], nav(ctx)])
            return
        parts.append(t)
        ctx.reply(ctx._("Noted ({n} messages). Send more, or press “Done”.").format(n=len(parts)),
                  buttons=[[ctx.button(ctx._("Done"), "done")], nav(ctx)])

    async def on_files(self, ctx: Context) -> None:
        if ctx.button_value == "done":
            await self.ask(ctx, "identity")
            return
        f = ctx.event.attachment
        if f is None:
            ctx.reply(ctx._("Please send a photo or document, or press “No files”. Your answers so far are kept."),
                      buttons=[[ctx.button(ctx._("No files"), "done")], nav(ctx)])
            return
        files: list[dict[str, str]] = ctx.state.secret.setdefault("files", [])
        if len(files) >= media.MAX_FILES_PER_DRAFT:
            ctx.reply(ctx._("You can attach at most {n} files. This one was not added; the rest of your report is kept.")
                      .format(n=media.MAX_FILES_PER_DRAFT))
            return
        try:
            clean = media.clean(f, ctx.config.max_attachment_bytes)
        except media.Rejected as r:
            ctx.reply(rejection_text(ctx, r.reason))
            await self.ask(ctx, "files")
            return
        files.append({"n": clean.filename, "t": clean.content_type, "d": base64.b64encode(clean.data).decode()})
        await self.ask(ctx, "files")

    async def on_identity(self, ctx: Context) -> None:
        v = ctx.button_value
        if v == "anon":
            ctx.state.data["named"] = False
            for k in ("name", "contact"):
                ctx.state.secret.pop(k, None)
            await self.ask(ctx, "confirm")
        elif v == "named":
            ctx.state.data["named"] = True
            await self.ask(ctx, "name")
        else:
            ctx.reply(ctx._("Please choose “Anonymous” or “With my name”."))
            await self.ask(ctx, "identity")

    async def on_name(self, ctx: Context) -> None:
        t = self._text(ctx) if ctx.button_value is None else None
        if t is None:
            if ctx.button_value is not None:
                await self.ask(ctx, "name")
            return
        ctx.state.secret["name"] = t[:MAX_NAME_CHARS]
        await self.ask(ctx, "contact")

    async def on_contact(self, ctx: Context) -> None:
        t = self._text(ctx) if ctx.button_value is None else None
        if t is None:
            if ctx.button_value is not None:
                await self.ask(ctx, "contact")
            return
        ctx.state.secret["contact"] = t[:MAX_CONTACT_CHARS]
        await self.ask(ctx, "confirm")

    async def on_confirm(self, ctx: Context) -> None:
        if ctx.button_value != "submit":
            ctx.reply(ctx._("Press “Submit” to send your report, or “Back” to change it. Nothing has been sent yet."),
                      buttons=[[ctx.button(ctx._("✔ Submit"), "submit")], nav(ctx)])
            return
        await self.submit(ctx)

    async def submit(self, ctx: Context) -> None:
        sec, data = ctx.state.secret, ctx.state.data
        named = bool(data.get("named"))
        now = ctx.clock.now()
        key_id = ctx.sealer.current_key_id
        seal = lambda s: ctx.sealer.seal_with(key_id, s.encode("utf-8"))  # noqa: E731
        receipt = new_receipt()
        tip = Tip(
            anonymous=not named,
            receipt_hash=await hash_receipt(receipt, ctx.config.salt),
            unit_id=data.get("unit_id"),
            key_id=key_id,
            subject_enc=seal(sec["subject"]) if sec.get("subject") else None,
            people_enc=seal(sec["people"]) if sec.get("people") else None,
            body_enc=seal("\n\n".join(sec.get("body", []))),
            language=ctx.lang,
            # Anonymous tips keep only the day, so the time cannot be matched to a chat log.
            created_at=now if named else now.replace(hour=0, minute=0, second=0, microsecond=0),
        )
        if named:
            tip.reporter_name_enc = seal(sec.get("name", ""))
            tip.reporter_contact_enc = seal(sec.get("contact", ""))
            tip.reporter_chat_enc = seal(f"{ctx.event.channel}\x1f{ctx.event.sender.external_id}")
        ctx.session.add(tip)
        await ctx.session.flush()
        for f in sec.get("files", []):
            ctx.session.add(attachment_row(ctx, tip.id, f["n"], f["t"], base64.b64decode(f["d"])))
        case = await open_case(ctx.session, source=CaseSource.public_report, now=now, unit_id=tip.unit_id, tip_id=tip.id)
        await emit(ctx.session, "tip.submitted", tip=tip, case=case)
        ctx.state.end()  # the draft and its link to this chat are deleted
        _ = ctx._
        lines = [
            _("Your report has been received. Reference: {ref}.").format(ref=case.reference),
            _("Your receipt number:"),
            grouped(receipt),
            _("Write it down now and keep it safe. It is the only key to your report: with it you can check "
              "progress, answer our questions and add material (/check). It is shown only this once and "
              "cannot be recovered; we do not know it either."),
        ]
        lines.append(await check_back_hint(ctx, case) if not named else
                     _("As you gave your name, we will tell you when your report is accepted and when it is concluded."))
        ctx.reply("\n\n".join(lines))


def attachment_row(ctx: Context, tip_id: int, name: str, ctype: str, data: bytes) -> Attachment:
    key_id = ctx.sealer.current_key_id
    return Attachment(
        tip_id=tip_id, key_id=key_id, filename_enc=ctx.sealer.seal_with(key_id, name.encode("utf-8")),
        content_type=ctype, size=len(data), data_enc=ctx.sealer.seal_with(key_id, data),
        created_at=ctx.clock.now().replace(hour=0, minute=0, second=0, microsecond=0),
    )


REJECTIONS = {
    "too_large": N_("That file is larger than {mb} MB and was not added. The rest of your report is kept; "
                    "you can send a smaller file or a few photos instead."),
    "type": N_("I can't accept that kind of file (voice, video or unknown types). Please send photos, PDF, Word, "
               "Excel or text files. The rest of your report is kept."),
    "broken": N_("That image could not be read and was not added. The rest of your report is kept."),
}


def rejection_text(ctx: Context, reason: str) -> str:
    return ctx._(REJECTIONS[reason]).format(mb=ctx.config.max_attachment_bytes // (1024 * 1024))
