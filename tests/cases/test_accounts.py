"""Staff accounts against a hostile tester: one live code per person, revocation and deactivation
take effect at once, a code binds one chat only, and guessing codes is throttled."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import func, select

from handlers.app import make_dispatcher
from handlers.cases import binding
from handlers.deps import Deps
from storage.models import Assignment, AssignmentMember, AuditEntry, ChatIdentity, Staff
from tests.cases.conftest import accept_and_confirm_team, bind_group, outbox_to, tip_case
from tests.fakes import Chat

TTL = timedelta(hours=72)


async def _invite(deps: Deps, login: str = "o05-f1") -> str:
    async with deps.sessionmaker() as s, s.begin():
        code = await binding.invite(s, login, now=deps.clock.now(), ttl=TTL, salt=deps.config.salt)
    assert code
    return code


async def _bound(deps: Deps, external_id: str) -> str | None:
    async with deps.sessionmaker() as s:
        return await s.scalar(select(Staff.login).join(ChatIdentity, ChatIdentity.staff_id == Staff.id)
                              .where(ChatIdentity.external_id == external_id, ChatIdentity.blocked_at.is_(None)))


async def test_a_new_code_supersedes_the_older_one(chat, deps: Deps) -> None:
    old, new = await _invite(deps), await _invite(deps)
    assert "无效" in (await chat("phone-a").send(f"/bind {old}"))[0].text
    assert await _bound(deps, "phone-a") is None
    assert "已绑定到" in (await chat("phone-b").send(f"/bind {new}"))[0].text
    assert await _bound(deps, "phone-b") == "o05-f1"


async def test_revoke_kills_codes_issued_before_it(chat, staff_chat, deps: Deps) -> None:
    code = await _invite(deps)
    admin = await staff_chat("admin")
    await admin.send("/revoke o05-f1")
    assert "无效" in (await chat("thief").send(f"/bind {code}"))[0].text
    assert await _bound(deps, "thief") is None


async def test_simultaneous_binds_with_one_code_bind_one_chat(chat, deps: Deps) -> None:
    for round_ in range(5):
        code = await _invite(deps)
        chats = [chat(f"race-{round_}-{i}") for i in range(2)]
        answers = await asyncio.gather(*(c.send(f"/bind {code}") for c in chats))
        texts = [a[0].text for a in answers]
        assert sum("已绑定到" in t for t in texts) == 1, texts
        assert sum("已被使用" in t for t in texts) == 1, texts
        bound = [await _bound(deps, c.external_id) for c in chats]
        assert sorted(b or "" for b in bound) == ["", "o05-f1"]


async def test_wrong_codes_from_one_chat_are_throttled_even_when_simultaneous(chat, deps: Deps) -> None:
    code = await _invite(deps)
    guesser = chat("guesser")
    answers = await asyncio.gather(*(guesser.send(f"/bind WRONG-{i:05d}") for i in range(20)))
    texts = [a[0].text for a in answers]
    assert sum("无效" in t for t in texts) == deps.config.bind_tries_per_chat
    assert sum("尝试" in t for t in texts) == 20 - deps.config.bind_tries_per_chat
    # Throttled means the code is not even looked at: the right one does not bind either, until the window ends.
    assert "尝试" in (await guesser.send(f"/bind {code}"))[0].text
    assert await _bound(deps, "guesser") is None
    deps.clock.advance(minutes=deps.config.bind_window_minutes)  # type: ignore[attr-defined]
    assert "已绑定到" in (await guesser.send(f"/bind {code}"))[0].text


async def test_many_wrong_codes_everywhere_leave_one_try_per_chat(chat, deps: Deps) -> None:
    """Beyond the global number of wrong codes nobody is locked out: each chat gets one try per
    window, so a person with a right code still binds and a guesser gets one answer per chat."""
    strict = dataclasses.replace(deps, config=deps.config.model_copy(update={"bind_failures_global": 6}))
    d = make_dispatcher(strict)
    for i in range(3):
        c = Chat(dispatcher=d, external_id=f"bot-{i}")
        await c.send("/bind AAAAA-AAAA2")
        await c.send("/bind AAAAA-AAAA3")
    fresh = Chat(dispatcher=d, external_id="bot-new")
    assert "无效" in (await fresh.send("/bind AAAAA-AAAA4"))[0].text
    assert "尝试" in (await fresh.send("/bind AAAAA-AAAA5"))[0].text
    code = await _invite(deps)
    honest = Chat(dispatcher=d, external_id="honest")
    assert "已绑定到" in (await honest.send(f"/bind {code}"))[0].text


async def test_deactivation_stops_chats_at_once_and_asks_for_replacements(chat, staff_chat, deps: Deps) -> None:
    await bind_group(deps, "jg1")
    case = await tip_case(chat, deps)
    await accept_and_confirm_team(staff_chat, case)
    async with deps.sessionmaker() as s:
        member = await s.scalar(select(Staff).join(AssignmentMember, AssignmentMember.staff_id == Staff.id)
                                .join(Assignment, Assignment.id == AssignmentMember.assignment_id)
                                .where(Assignment.case_id == case.id, AssignmentMember.role == "member").limit(1))
        assert member is not None
    leaving = await staff_chat(member.login)
    assert case.reference in (await leaving.send("/my"))[0].text
    pending_code = await _invite(deps, member.login)
    before = len(await outbox_to(deps, "o02-lead"))

    admin = await staff_chat("admin")
    answer = (await admin.send(f"/deactivate {member.login}"))[0].text
    assert member.name in answer and "1" in answer

    # Their chat is answered as anyone outside; their outstanding code is dead.
    assert case.reference not in (await leaving.send("/my"))[0].text
    assert "/my" not in (await leaving.send("/help"))[0].text
    assert "无效" in (await chat("elsewhere").send(f"/bind {pending_code}"))[0].text
    # The team lead is told, with the reference; the assignment and the history are kept.
    told = (await outbox_to(deps, "o02-lead"))[before:]
    assert any(case.reference in n.payload["text"] and member.name in n.payload["text"] for n in told)
    async with deps.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(AssignmentMember)
                              .where(AssignmentMember.staff_id == member.id)) == 1
        assert await s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "deactivate")) == 1
        assert await s.scalar(select(func.count()).select_from(ChatIdentity).where(ChatIdentity.staff_id == member.id)) == 1


async def test_deactivation_is_for_admins_only(staff_chat, deps: Deps) -> None:
    lead = await staff_chat("o02-lead")
    await lead.send("/deactivate o05-f1")
    async with deps.sessionmaker() as s:
        assert (await s.scalar(select(Staff.active).where(Staff.login == "o05-f1"))) is True


def test_staff_deactivate_command(demo_db_url: str) -> None:
    env = {**os.environ, "LIANZU_DATABASE_URL": demo_db_url}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", "staff", *args], capture_output=True, text=True,
                              env=env, timeout=60)

    code = run("invite", "o05-f1").stdout.split("/bind ")[-1].strip()
    out = run("deactivate", "o05-f1")
    assert out.returncode == 0 and "deactivated" in out.stdout, out.stderr
    assert run("invite", "o05-f1").returncode == 2  # no codes for someone deactivated
    assert run("deactivate", "nobody").returncode == 2
    assert run("reactivate", "o05-f1").returncode == 0
    assert code and run("invite", "o05-f1").returncode == 0
