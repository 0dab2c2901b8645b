"""Administrators run staff accounts from their chat: /invite, /revoke, /deactivate use the same
services as `lianzu staff …`; everyone else is answered as for a command that does not exist."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from handlers.deps import Deps
from storage.models import AuditEntry, ChatIdentity, Staff, StaffInvite

CODE = re.compile(r"[A-Z2-9]{5}-[A-Z2-9]{5}")


def _code(text: str) -> str:
    m = CODE.search(text)
    assert m, text
    return m.group(0)


async def _bound(deps: Deps, external_id: str) -> str | None:
    async with deps.sessionmaker() as s:
        return await s.scalar(select(Staff.login).join(ChatIdentity, ChatIdentity.staff_id == Staff.id)
                              .where(ChatIdentity.external_id == external_id, ChatIdentity.blocked_at.is_(None)))


async def test_an_admin_invites_from_the_chat_and_a_new_code_supersedes_the_old(chat, staff_chat, deps: Deps) -> None:
    admin = await staff_chat("admin")
    first = _code(admin.text(await admin.send("/invite o05-f1")))
    second_answer = admin.text(await admin.send("/invite o05-f1"))
    second = _code(second_answer)
    assert "/bind" in second_answer and first != second
    assert "无效" in chat("old-phone").text(await chat("old-phone").send(f"/bind {first}"))
    assert await _bound(deps, "old-phone") is None
    assert "已绑定到" in chat("new-phone").text(await chat("new-phone").send(f"/bind {second}"))
    assert await _bound(deps, "new-phone") == "o05-f1"
    async with deps.sessionmaker() as s:
        entries = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "invite"))).all()
    assert len(entries) == 2 and all(e.actor_label == "admin" for e in entries)
    # The audit says who was invited, never the code itself.
    assert all(second not in str(e.detail) and first not in str(e.detail) for e in entries)


async def test_invite_bad_input_changes_nothing(staff_chat, deps: Deps) -> None:
    admin = await staff_chat("admin")
    assert "/invite" in admin.text(await admin.send("/invite"))
    assert "nobody-here" in admin.text(await admin.send("/invite nobody-here"))
    assert "停用" in admin.text(await admin.send("/deactivate o05-f1"))
    answer = admin.text(await admin.send("/invite o05-f1"))
    assert CODE.search(answer) is None
    async with deps.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(StaffInvite)) == 0


async def test_revoke_from_the_chat_stops_the_chats_at_once(staff_chat, deps: Deps) -> None:
    member = await staff_chat("o05-f1")
    assert "/my" in member.text(await member.send("/help"))
    admin = await staff_chat("admin")
    answer = admin.text(await admin.send("/revoke o05-f1"))
    assert "1" in answer
    assert "/my" not in member.text(await member.send("/help"))
    assert await _bound(deps, "staff-o05-f1") is None
    # Bad input: the syntax, or the login named, and nothing changed.
    assert "/revoke" in admin.text(await admin.send("/revoke"))
    assert "nobody-here" in admin.text(await admin.send("/revoke nobody-here"))
    async with deps.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "revoke")) == 1


async def test_admin_commands_look_unknown_to_everyone_else(chat, staff_chat, deps: Deps) -> None:
    for login in ("o02-lead", "o05-f1", "sup1"):
        other = await staff_chat(login)
        unknown = other.text(await other.send("/nosuchcommand o05-f1")).replace("nosuchcommand", "X")
        for cmd in ("invite", "revoke", "deactivate"):
            assert other.text(await other.send(f"/{cmd} o05-f1")).replace(cmd, "X") == unknown, (login, cmd)
    outsider = chat("outsider")
    unknown = outsider.text(await outsider.send("/nosuchcommand o05-f1")).replace("nosuchcommand", "X")
    assert outsider.text(await outsider.send("/invite o05-f1")).replace("invite", "X") == unknown
    async with deps.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(StaffInvite)) == 0
        assert await s.scalar(select(Staff.active).where(Staff.login == "o05-f1")) is True
    assert await _bound(deps, "staff-o05-f1") == "o05-f1"
