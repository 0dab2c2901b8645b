"""Each staff member reads notices in their own language, whatever the installation default."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers.cases import binding
from handlers.deps import Deps
from storage.models import Assignment, AssignmentMember, Staff
from tests.cases.conftest import accept_and_confirm_team, outbox_to, tip_case
from tests.fakes import Chat


async def test_an_officer_who_binds_from_an_english_client_gets_english_notices(
        chat, staff_chat, deps: Deps, dispatcher) -> None:
    case = await tip_case(chat, deps)
    await accept_and_confirm_team(staff_chat, case)
    async with deps.sessionmaker() as s:
        a = (await s.scalars(select(Assignment).where(Assignment.status == "confirmed"))).one()
        member = (await s.scalars(select(AssignmentMember).where(
            AssignmentMember.assignment_id == a.id, AssignmentMember.role == "member"))).first()
        login = (await s.get(Staff, member.staff_id)).login
    async with deps.sessionmaker() as s, s.begin():
        code = await binding.invite(s, login, now=deps.clock.now(), ttl=timedelta(hours=1), salt=deps.config.salt)
    phone = Chat(dispatcher, external_id="english-phone", language_code="en-GB")
    assert "now linked" in (await phone.send(f"/bind {code}"))[0].text
    notice = (await outbox_to(deps, login))[0].payload
    assert "Your role: team member" in notice["text"] and "您的角色" not in notice["text"]
    assert notice["buttons"][0][0]["label"] == "✔ Acknowledge (签收)"
    # /lang by the bound officer is theirs, on every chat: the next notice follows it.
    await phone.send("/lang zh")
    async with deps.sessionmaker() as s:
        assert (await s.scalar(select(Staff).where(Staff.login == login))).language == "zh_CN"
