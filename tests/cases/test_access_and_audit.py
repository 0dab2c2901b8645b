"""The access policy cannot be talked round, the audit trail shows tampering, and binding works."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from handlers.access import Action, Facts, allowed
from handlers.cases import binding
from handlers.deps import Deps
from storage import audit
from storage.models import AuditEntry, MemberRole, Role

ALL_ACTIONS = list(Action)


@settings(max_examples=400, deadline=None)
@given(
    roles=st.sets(st.sampled_from(list(Role))),
    group_lead=st.booleans(),
    member=st.sampled_from([None, *MemberRole]),
    action=st.sampled_from(ALL_ACTIONS),
)
def test_a_conflicted_person_can_never_do_anything(roles, group_lead, member, action) -> None:  # type: ignore[no-untyped-def]
    assert not allowed(Facts(roles, True, group_lead, member), action)


@settings(max_examples=400, deadline=None)
@given(roles=st.sets(st.sampled_from([Role.field, Role.lead])), action=st.sampled_from(ALL_ACTIONS))
def test_someone_with_no_role_in_the_case_sees_nothing(roles, action) -> None:  # type: ignore[no-untyped-def]
    assert not allowed(Facts(roles, False, False, None), action)


@settings(max_examples=200, deadline=None)
@given(roles=st.sets(st.sampled_from(list(Role))), group_lead=st.booleans())
def test_a_liaison_never_sees_content(roles, group_lead) -> None:  # type: ignore[no-untyped-def]
    f = Facts(roles - {Role.supervisor, Role.admin}, False, False, MemberRole.liaison)
    assert allowed(f, Action.view) and not allowed(f, Action.view_content) and not allowed(f, Action.ask_reporter)


async def test_random_staff_on_real_cases_follow_the_policy(chat, staff_chat, deps: Deps) -> None:
    """Over the demo organisation: everyone in the stationed office, and everyone outside the joint
    group who is not a supervisor, gets the not-found answer for a real case."""
    from sqlalchemy import select as sel

    from storage.models import Case, Office, Staff, office_units
    from tests.cases.conftest import tip_case

    case = await tip_case(chat, deps, unit="财政")
    async with deps.sessionmaker() as s:
        c = await s.get(Case, case.id)
        local_office = await s.scalar(sel(office_units.c.office_id).where(office_units.c.unit_id == c.unit_id))
        people = (await s.execute(sel(Staff.login, Staff.office_id, Office.joint_group_id)
                                  .join(Office, Office.id == Staff.office_id))).all()
    import random

    rnd = random.Random(7)
    for login, office_id, group_id in rnd.sample(people, 25) + [p for p in people if p[1] == local_office]:
        who = await staff_chat(login)
        text = (await who.send(f"/case {case.reference}"))[0].text
        should_see = office_id != local_office and group_id == c.joint_group_id and login.endswith("-lead")
        assert (case.reference in text and "状态" in text) == should_see, (login, text)


async def test_audit_verify_catches_edits_deletions_and_truncation(deps: Deps) -> None:
    now = deps.clock.now()
    async with deps.sessionmaker() as s, s.begin():
        for i in range(5):
            await audit.append(s, key=deps.config.audit_mac_key, at=now + timedelta(seconds=i), action="view", actor_label="t", detail={"i": i})
    async with deps.sessionmaker() as s:
        assert (await audit.verify(s, key=deps.config.audit_mac_key)).ok and (await audit.verify(s, key=deps.config.audit_mac_key)).checked == 5
    async with deps.sessionmaker() as s, s.begin():
        ids = (await s.scalars(select(AuditEntry.id).order_by(AuditEntry.id))).all()
        await s.execute(update(AuditEntry).where(AuditEntry.id == ids[2]).values(action="edited"))
    async with deps.sessionmaker() as s:
        r = await audit.verify(s, key=deps.config.audit_mac_key)
        assert not r.ok and r.first_bad_id == ids[2] and "altered" in r.problem
    async with deps.sessionmaker() as s, s.begin():
        await s.execute(update(AuditEntry).where(AuditEntry.id == ids[2]).values(action="view"))
        await s.execute(delete(AuditEntry).where(AuditEntry.id == ids[1]))
    async with deps.sessionmaker() as s:
        r = await audit.verify(s, key=deps.config.audit_mac_key)
        assert not r.ok and r.first_bad_id == ids[2] and "missing" in r.problem


async def test_deleting_the_newest_entries_is_caught_against_a_saved_head(deps: Deps) -> None:
    now = deps.clock.now()
    async with deps.sessionmaker() as s, s.begin():
        for i in range(4):
            await audit.append(s, key=deps.config.audit_mac_key, at=now + timedelta(seconds=i), action="view", actor_label="t", detail={"i": i})
    async with deps.sessionmaker() as s:
        saved = await audit.verify(s, key=deps.config.audit_mac_key)
    async with deps.sessionmaker() as s, s.begin():
        newest = await s.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
        await s.execute(delete(AuditEntry).where(AuditEntry.id == newest))
    async with deps.sessionmaker() as s:
        assert (await audit.verify(s, key=deps.config.audit_mac_key)).ok  # the chain alone cannot tell
        r = await audit.verify(s, key=deps.config.audit_mac_key, expect_count=saved.checked, expect_head=saved.head)
        assert not r.ok and "missing" in r.problem


def test_audit_verify_command_reports(tmp_path, db_url: str) -> None:
    import os

    env = {**os.environ, "LIANZU_DATABASE_URL": db_url}
    out = subprocess.run([sys.executable, "-m", "bot", "audit", "verify"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0 and "intact" in out.stdout


async def test_invite_bind_and_unbind(chat, deps: Deps) -> None:
    async with deps.sessionmaker() as s, s.begin():
        code = await binding.invite(s, "o05-f1", now=deps.clock.now(), ttl=timedelta(hours=72), salt=deps.config.salt)
    assert code and len(code) == 11
    phone = chat("new-phone")
    assert "/my" not in (await phone.send("/help"))[0].text  # not bound: no staff features
    assert "无效" in (await phone.send("/bind WRONG-CODE1"))[0].text
    assert "已绑定到" in (await phone.send(f"/bind {code.lower()}"))[0].text
    assert "/my" in (await phone.send("/help"))[0].text
    assert "已被使用" in (await chat("other").send(f"/bind {code}"))[0].text
    await phone.send("/unbind")
    assert "/my" not in (await phone.send("/help"))[0].text


async def test_expired_invite_is_refused(chat, deps: Deps) -> None:
    async with deps.sessionmaker() as s, s.begin():
        code = await binding.invite(s, "o05-f1", now=deps.clock.now(), ttl=timedelta(hours=1), salt=deps.config.salt)
    deps.clock.advance(hours=2)  # type: ignore[attr-defined]
    assert "已过期" in (await chat().send(f"/bind {code}"))[0].text


def test_staff_invite_command_prints_a_code(demo_db_url: str) -> None:
    import os

    env = {**os.environ, "LIANZU_DATABASE_URL": demo_db_url}
    out = subprocess.run([sys.executable, "-m", "bot", "staff", "invite", "o05-f1"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0 and "/bind " in out.stdout
    bad = subprocess.run([sys.executable, "-m", "bot", "staff", "invite", "nobody"], capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "nobody" in bad.stdout
