from __future__ import annotations

from sqlalchemy import select

from handlers.deps import Deps
from handlers.i18n import N_
from storage.models import Assignment, AssignmentMember, Case, Outbox, Staff
from tests.fakes import Chat
from tests.reporter.conftest import file_anonymous_tip


async def tip_case(chat, deps: Deps, unit: str = "交通警察", people: str | None = "张某") -> Case:  # type: ignore[no-untyped-def]
    await file_anonymous_tip(chat(), unit_search=unit, people=people)
    async with deps.sessionmaker() as s:
        return (await s.scalars(select(Case).order_by(Case.id.desc()))).first()


async def outbox_to(deps: Deps, login: str) -> list[Outbox]:
    from storage.models import ChatIdentity, Staff

    async with deps.sessionmaker() as s:
        return list((await s.scalars(select(Outbox).join(ChatIdentity, ChatIdentity.id == Outbox.identity_id)
                                     .join(Staff, Staff.id == ChatIdentity.staff_id).where(Staff.login == login)
                                     .order_by(Outbox.id))).all())


async def press_data(c: Chat, data: str):  # type: ignore[no-untyped-def]
    return await c.send(None, button=data)


async def bind_group(deps: Deps, group_code: str) -> None:
    """Every staff member of a joint group has the bot on their phone (chat id staff-LOGIN)."""
    from storage.models import JointGroup, Office, Staff
    from tests.conftest import bind_staff

    async with deps.sessionmaker() as s:
        logins = (await s.scalars(select(Staff.login).join(Office, Office.id == Staff.office_id)
                                  .join(JointGroup, JointGroup.id == Office.joint_group_id)
                                  .where(JointGroup.code == group_code))).all()
    for login in logins:
        await bind_staff(deps, login, f"staff-{login}")


async def accept_and_confirm_team(staff_chat, case: Case) -> Chat:  # type: ignore[no-untyped-def]
    """The joint group's lead (o02-lead for the demo's first group) accepts the case and confirms
    the proposed team, by pressing buttons as on a phone."""
    lead = await staff_chat("o02-lead")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Accept (受理)"))
    await lead.press(N_("Propose a team"))
    await lead.press(N_("✔ Confirm"))
    return lead


async def team_of(deps: Deps, case: Case) -> dict[str, AssignmentMember]:
    """login → place on the case's confirmed team, in the order the team was made."""
    async with deps.sessionmaker() as s:
        a = (await s.scalars(select(Assignment).where(Assignment.case_id == case.id,
                                                      Assignment.status == "confirmed"))).one()
        rows = (await s.execute(select(Staff.login, AssignmentMember).join(Staff, Staff.id == AssignmentMember.staff_id)
                                .where(AssignmentMember.assignment_id == a.id).order_by(AssignmentMember.id))).all()
        return {login: m for login, m in rows}


def members_of(team: dict[str, AssignmentMember]) -> list[str]:
    return [login for login, m in team.items() if m.role == "member"]
