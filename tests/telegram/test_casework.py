"""Casework on Telegram, over real HTTP: a member signs from /my, opens the tip's file (sent as a
document) and hears of the reporter's additions; a conflicted person gets nothing."""

from __future__ import annotations

from sqlalchemy import select

from handlers.deps import Deps
from handlers.i18n import N_
from storage.models import Attachment, Case
from tests.cases.conftest import accept_and_confirm_team, members_of, team_of
from tests.fakes import as_stored, make_file, tiny_pdf
from tests.reporter.conftest import file_anonymous_tip
from tests.telegram.conftest import Running
from tests.telegram.test_flows import bind_over_telegram, deliver_outbox

PDF = tiny_pdf("ledger over telegram")


async def test_member_signs_opens_evidence_and_hears_of_additions(tg: Running, deps: Deps, chat, staff_chat) -> None:
    reporter = chat("rep")
    receipt = await file_anonymous_tip(reporter, files=(make_file(PDF),))
    async with deps.sessionmaker() as s:
        case = (await s.scalars(select(Case))).one()
    await accept_and_confirm_team(staff_chat, case)
    login = members_of(await team_of(deps, case))[0]
    p = tg.phone(5550001)
    await bind_over_telegram(p, deps, login)  # the pending 签收 notice is queued for the new chat
    await deliver_outbox(tg, deps)
    _ = await p.gettext()
    assert any(case.reference in t for t in p.texts)
    await p.send("/my")
    texts = await p.press(N_("✔ Acknowledge (签收)"))
    assert _("Acknowledged (已签收) case {ref}. The team lead has been told.").format(ref=case.reference) in texts[-1]
    await p.send(f"/case {case.reference}")
    await p.press(N_("Files"))
    before = len(tg.standin.called("sendDocument"))
    await p.press_label("1. evidence.pdf")
    docs = tg.standin.called("sendDocument")[before:]
    assert [(c.params["chat_id"], c.files["document"]) for c in docs] == [("5550001", ("evidence.pdf", as_stored(PDF)))]
    # The reporter adds a line: the member's phone is told which case.
    await reporter.send(f"/check {receipt}")
    await reporter.press(N_("Add information"))
    await reporter.send("补充：还有一本账。")
    await deliver_outbox(tg, deps)
    assert p.texts[-1] == _("The reporter added material to case {ref}. Open it with /case {ref}.").format(
        ref=case.reference)
    # Someone with a conflict pressing the same button gets the not-found answer and no file.
    q = tg.phone(5550002)
    await bind_over_telegram(q, deps, "o01-lead")
    async with deps.sessionmaker() as s:
        att = (await s.scalars(select(Attachment))).first()
    from tests.telegram.standin import callback

    before = len(tg.standin.called("sendDocument"))
    await tg.deliver(callback(5550002, f"a:evid:{att.id}", message_id=1))
    assert len(tg.standin.called("sendDocument")) == before
    assert q.texts[-1] == (await q.gettext())("No such case that you can see. Send /my for your cases.")
