"""Casework on WeCom, through the simulator over real HTTP: a member signs from /my by number,
opens the tip's file (media upload) and hears of the reporter's additions; the 签收 notice pushed
before keeps its numbered menu."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers.cases import binding
from handlers.deps import Deps
from handlers.i18n import N_
from storage.models import Case
from tests.cases.conftest import accept_and_confirm_team, members_of, team_of
from tests.fakes import as_stored, make_file, tiny_pdf
from tests.reporter.conftest import file_anonymous_tip
from tests.wecom.conftest import WeCom
from tests.wecom.test_flows import number_of

PDF = tiny_pdf("ledger over wecom")


async def test_member_signs_opens_evidence_and_hears_of_additions(wecom: WeCom, deps: Deps, chat, staff_chat) -> None:
    reporter = chat("rep")
    receipt = await file_anonymous_tip(reporter, files=(make_file(PDF),))
    async with deps.sessionmaker() as s:
        case = (await s.scalars(select(Case))).one()
    await accept_and_confirm_team(staff_chat, case)
    first, second = members_of(await team_of(deps, case))[:2]
    for login in (first, second):
        async with deps.sessionmaker() as s, s.begin():
            code = await binding.invite(s, login, now=deps.clock.now(), ttl=timedelta(hours=1), salt=deps.config.salt)
        await wecom.say(f"wc-{login}", f"/bind {code}")
    assert await wecom.deliver() == 2  # the pending 签收 notices, one per newly linked chat
    user = f"wc-{first}"
    t = await wecom.say(user, "/my")
    ack = await wecom.label(user, N_("✔ Acknowledge (签收)"))
    t = await wecom.say(user, number_of(t[-1], ack))
    assert "已签收" in t[-1] and case.reference in t[-1]
    t = await wecom.say(user, f"/case {case.reference}")
    t = await wecom.say(user, number_of(t[-1], await wecom.label(user, N_("Files"))))
    before = len(wecom.api.uploads)
    await wecom.say(user, number_of(t[-1], "1. evidence.pdf"))
    assert wecom.api.uploads[before:] == [("file", "evidence.pdf", as_stored(PDF))]
    assert any(m.get("msgtype") == "file" and m.get("touser") == user for m in wecom.api.sent)
    # The other member answers the pushed notice itself by its number.
    other = f"wc-{second}"
    notice = [x for x in wecom.api.texts_to(other) if case.reference in x][-1]
    t = await wecom.say(other, number_of(notice, ack))
    assert "已签收" in t[-1]
    await reporter.send(f"/check {receipt}")
    await reporter.press(N_("Add a file"))
    await reporter.attach(make_file(tiny_pdf("more"), filename="more.pdf"))
    await wecom.deliver()
    assert any("举报人为案件" in x and case.reference in x for x in wecom.api.texts_to(user))
