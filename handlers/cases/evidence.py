"""Evidence on a case: the reporter's files (with the tip and added later) and the team's own
material, opened one by one from /case, each opening audited; the team adding files and notes.

Files are sealed at rest like the reporter's and decrypted only to be sent to the chat of someone
the access policy lets read the content (``Action.view_content``: never a liaison or anyone with a
conflict)."""

from __future__ import annotations

import enum

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import Action
from handlers.cases import service
from handlers.cases.replies import INPUT_TTL, load_visible, not_found
from handlers.context import Context
from handlers.events import OutboundFile
from handlers.i18n import N_
from handlers.reporter.media import IMAGE_FORMATS, RejectedFile, clean_file
from handlers.reporter.tips import store_attachment
from handlers.router import Conversation, Step
from storage.crypto import Sealer
from storage.models import Attachment, Case, CaseNote, Staff

REJECT_WORDS = {
    "too_large": N_("That file is too large (the limit is {mb} MB). It was not added."),
    "type": N_("That kind of file cannot be added. Please send photos, PDF, Word, Excel, text, audio or video files."),
    "broken": N_("That picture could not be read. It was not added."),
    "pixels": N_("That picture has too many pixels to process safely. Please send a smaller version. It was not added."),
    "uncleanable": N_("Hidden details in that file (such as its author) cannot be removed, so it was not added. "
                      "Please save it as a PDF or as a .docx/.xlsx file without a password."),
}
MAX_LISTED = 30


async def case_files(session: AsyncSession, case: Case) -> list[Attachment]:
    """The reporter's files (with the tip or added later) and the team's material, oldest first."""
    where = [Attachment.case_id == case.id]
    if case.tip_id is not None:
        where.append(Attachment.tip_id == case.tip_id)
    return list((await session.scalars(select(Attachment).where(or_(*where)).order_by(Attachment.id))).all())


def file_name(sealer: Sealer, att: Attachment) -> str:
    return sealer.open(att.key_id, att.filename_enc).decode("utf-8", "replace")


async def show_files(ctx: Context, staff: Staff, case: Case) -> None:
    """The list of files, one button each (``a:evid:<attachment id>``)."""
    _ = ctx._
    files = await case_files(ctx.session, case)
    await service.log(ctx.uow, staff, case, "list_files", ctx.clock.now(), n=len(files))
    if not files:
        ctx.reply(_("Case {ref} has no files yet.").format(ref=case.reference),
                  buttons=[[ctx.action(_("Add files or notes"), "case", f"{case.id}.attach")]])
        return
    lines = [_("Files of case {ref}; press one to receive it:").format(ref=case.reference)]
    rows = []
    for n, att in enumerate(files[:MAX_LISTED], start=1):
        who = _("reporter") if att.tip_id is not None else _("team")
        label = f"{n}. {file_name(ctx.sealer, att)[:40]}"
        lines.append(f"{label} ({who}, {att.created_at.astimezone(ctx.config.tz).strftime('%Y-%m-%d')}, "
                     f"{max(1, att.size // 1024)} KB)")
        rows.append([ctx.action(label, "evid", str(att.id))])
    rows.append([ctx.action(_("Add files or notes"), "case", f"{case.id}.attach")])
    ctx.reply("\n".join(lines), buttons=rows)


async def open_file(ctx: Context, arg: str) -> None:
    """Decrypt one file and send it to this chat; the same answer as for a missing case when the
    speaker may not read the case's content, or the file is not part of a case."""
    att = await ctx.session.get(Attachment, int(arg)) if arg.isascii() and arg.isdigit() \
        and len(arg) <= 12 and ctx.actor.staff else None
    case = None
    if att is not None:
        if att.case_id is not None:
            case = await ctx.session.get(Case, att.case_id)
        elif att.tip_id is not None:
            case = await ctx.session.scalar(select(Case).where(Case.tip_id == att.tip_id))
    if case is not None:
        case, _f = await load_visible(ctx, case.id, Action.view_content)
    if att is None or case is None or ctx.actor.staff is None:
        not_found(ctx, "")
        return
    name = file_name(ctx.sealer, att)
    data = ctx.sealer.open(att.key_id, att.data_enc)
    await service.log(ctx.uow, ctx.actor.staff, case, "open_file", ctx.clock.now(), attachment=att.id)
    kind = "photo" if att.content_type in IMAGE_FORMATS.values() else "document"
    ctx.reply(ctx._("{name} (case {ref})").format(name=name, ref=case.reference),
              files=[OutboundFile(filename=name, content_type=att.content_type, data=data, kind=kind)])


async def note_lines(ctx: Context, case: Case) -> list[str]:
    """The team's notes, for those who may read the content."""
    rows = (await ctx.session.execute(select(CaseNote, Staff).join(Staff, Staff.id == CaseNote.staff_id)
                                      .where(CaseNote.case_id == case.id).order_by(CaseNote.id))).all()
    return [ctx._("Note by {name} ({at}): {text}").format(
        name=st.name, at=n.at.astimezone(ctx.config.tz).strftime("%Y-%m-%d %H:%M"),
        text=ctx.sealer.open_text(n.key_id, n.body_enc)) for n, st in rows]


class EV(enum.Enum):
    material = "material"


class AddMaterial(Conversation):
    """The team adds its own files and notes to a case (investigation material), sealed at rest."""

    name = "material"
    Steps = EV
    first = EV.material
    begin_label = "Add files or notes (on /case)"
    notes = ("The team's own material for a case: files and notes, each sealed and audited.",
             "/cancel or Done ends it.")

    async def start(self, ctx: Context, case: Case) -> None:
        await self.open(ctx, ttl=INPUT_TTL, data={"case_id": case.id, "n": 0})

    async def ask_material(self, ctx: Context) -> None:
        ctx.reply(ctx._("Send files (photos or documents) or type notes for the case, one per message. "
                        "Press Done when finished."), buttons=[[ctx.button(ctx._("Done"), "done")]])

    async def on_material(self, ctx: Context) -> None:
        _ = ctx._
        staff = ctx.require_staff()
        case, _f = await load_visible(ctx, int(ctx.state.data["case_id"]), Action.note)
        if case is None:
            ctx.state.end()
            not_found(ctx, "")
            return
        if ctx.button_value == "done":
            n = int(ctx.state.data.get("n", 0))
            ctx.state.end()
            ctx.reply(ctx.ngettext("{n} item added to case {ref}.", "{n} items added to case {ref}.", n).format(
                n=n, ref=case.reference))
            return
        done = [[ctx.button(_("Done"), "done")]]
        f = ctx.attachment
        if f is not None:
            try:
                cf = await clean_file(f.filename, f.content_type, f.data, f.size, ctx.config.max_attachment_bytes,
                                      recordings=True)  # the team's own: no reporter to expose
            except RejectedFile as exc:
                mb = ctx.config.max_attachment_bytes // (1024 * 1024)
                ctx.reply(_(REJECT_WORDS[exc.reason]).format(mb=mb), buttons=done)
                return
            att = await store_attachment(ctx.uow, filename=cf.filename, content_type=cf.content_type, data=cf.data,
                                         now=ctx.clock.now())
            att.case_id = case.id
            await service.log(ctx.uow, staff, case, "add_file", ctx.clock.now(), attachment=att.id)
            ctx.reply(_("File added to case {ref} (sealed). Send more, or press Done.").format(ref=case.reference),
                      buttons=done)
        elif (ctx.text or "").strip():
            await service.add_note(ctx.uow, staff, case, (ctx.text or "").strip())
            ctx.reply(_("Note added to case {ref}. Send more, or press Done.").format(ref=case.reference),
                      buttons=done)
        else:
            await self.ask(ctx, EV.material)
            return
        ctx.state.data["n"] = int(ctx.state.data.get("n", 0)) + 1

    steps = {
        EV.material: Step(on_material, ask_material, goes={EV.material: "file (cleaned, sealed) / note / refused file"},
                          ends="Done"),
    }


ADD_MATERIAL = AddMaterial()
