"""Evidence: the team opens every file of the tip and of later additions, adds its own material
sealed, and hears when the reporter adds something; liaisons and the conflicted get nothing."""

from __future__ import annotations

from sqlalchemy import select

from handlers.deps import Deps
from handlers.i18n import N_, ngettext_for
from storage.models import Attachment, AuditEntry, Case, CaseNote
from tests.cases.conftest import members_of, outbox_to, press_data, team_of
from tests.fakes import Chat, as_stored, language_of, make_file, tiny_pdf
from tests.reporter.conftest import file_anonymous_tip, jpeg_with_gps

PDF = tiny_pdf("the ledger the reporter photographed")
LATER = tiny_pdf("bank statement sent later")


async def team_with_liaison(staff_chat, case: Case) -> Chat:  # type: ignore[no-untyped-def]
    """o02-lead accepts and confirms the proposed team plus o01-f2 (local staff) as liaison."""
    lead = await staff_chat("o02-lead")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Accept (受理)"))
    await lead.press(N_("Propose a team"))
    await lead.press(N_("Change the team"))
    await lead.send("liaison o01-f2")
    await lead.press(N_("Confirm this team"))
    await lead.send("需要本地联络员")
    return lead


async def test_the_team_opens_each_file_adds_its_own_and_hears_of_additions(chat, staff_chat, deps: Deps) -> None:
    reporter = chat("rep")
    receipt = await file_anonymous_tip(reporter, files=(make_file(PDF),))
    async with deps.sessionmaker() as s:
        case = (await s.scalars(select(Case))).one()
    await team_with_liaison(staff_chat, case)
    team = await team_of(deps, case)
    login = members_of(team)[0]
    member = await staff_chat(login)
    await staff_chat("o01-f2")  # the liaison has the bot too

    # The reporter adds a file and a line of text: the team is told each time, the liaison not.
    await reporter.send(f"/check {receipt}")
    await reporter.press(N_("Add a file"))
    await reporter.attach(make_file(LATER, filename="bank.pdf"))
    await reporter.press(N_("Add information"))
    await reporter.send("还有一本账。")
    _ = await member.gettext()
    told = [n.payload["text"] for n in await outbox_to(deps, login) if n.kind == "reporter_material"]
    assert told == [_("The reporter added material to case {ref}. Open it with /case {ref}.").format(
        ref=case.reference)] * 2
    assert [n for n in await outbox_to(deps, "o01-f2") if n.kind == "reporter_material"] == []

    await member.send(f"/case {case.reference}")
    assert _("Files: {n}").format(n=2) in member.last
    await member.press(N_("Files"))
    assert "1. evidence.pdf" in member.last and "2. bank.pdf" in member.last
    for label, data in (("1. evidence.pdf", PDF), ("2. bank.pdf", LATER)):
        replies = await member.press_label(label)
        assert [(f.filename, f.data) for f in replies[-1].files] == [(label[3:], as_stored(data))]  # decrypted, to this chat
    async with deps.sessionmaker() as s:
        opened = [e.detail["attachment"] for e in (await s.scalars(select(AuditEntry).where(
            AuditEntry.action == "open_file").order_by(AuditEntry.id))).all()]
        ids = (await s.scalars(select(Attachment.id).order_by(Attachment.id))).all()
    assert opened == list(ids)  # each opening audited

    # The team's own material: a photo (metadata stripped) and a note, both sealed.
    await member.press(N_("Add files or notes"))
    await member.attach(make_file(jpeg_with_gps(), filename="site.jpg", content_type="image/jpeg", kind="photo"))
    await member.send("银行流水已调取，待比对。")
    await member.press(N_("Done"))
    n_added = ngettext_for(await language_of(member.dispatcher, member._event()))
    assert member.last == n_added("{n} item added to case {ref}.", "{n} items added to case {ref}.", 2).format(
        n=2, ref=case.reference)
    async with deps.sessionmaker() as s:
        own = (await s.scalars(select(Attachment).where(Attachment.tip_id.is_(None)))).one()
        note = (await s.scalars(select(CaseNote))).one()
    assert own.case_id == case.id and b"PhoneMaker" not in deps.sealer.open(own.key_id, own.data_enc)
    assert "银行流水".encode() not in note.body_enc and b"JFIF" not in own.data_enc
    await member.send(f"/case {case.reference}")
    assert "银行流水已调取，待比对。" in member.last and _("Files: {n}").format(n=3) in member.last
    await member.press(N_("Files"))
    assert "3. site.jpg" in member.last
    replies = await member.press_label("3. site.jpg")
    assert replies[-1].files[0].kind == "photo"

    # A liaison and a conflicted person get exactly what they would for a file that does not exist.
    for who in ("o01-f2", "o01-lead"):
        c = await staff_chat(who)
        for data in (f"a:evid:{own.id}", f"a:evid:{ids[0]}", f"a:case:{case.id}.files", f"a:case:{case.id}.attach"):
            got = await press_data(c, data)
            nothing = await press_data(c, "a:evid:987654" if "evid" in data else data.replace(str(case.id), "987654", 1))
            assert [(r.text, r.files) for r in got] == [(r.text, r.files) for r in nothing]
            assert not got[0].files


async def test_the_liaison_is_not_offered_the_files_on_case(chat, staff_chat, deps: Deps) -> None:
    await file_anonymous_tip(chat("rep"), files=(make_file(PDF),))
    async with deps.sessionmaker() as s:
        case = (await s.scalars(select(Case))).one()
    await team_with_liaison(staff_chat, case)
    liaison = await staff_chat("o01-f2")
    await liaison.send(f"/case {case.reference}")
    assert "files" not in [v.partition(".")[2] for v in liaison.button_values()]
    assert "evidence.pdf" not in liaison.last
