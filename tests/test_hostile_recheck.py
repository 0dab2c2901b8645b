"""Issue 12, re-checked from outside: paths the feature tests did not walk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.channels.memory import CollectingChannel
from bot.delivery import DeliveryWorker
from handlers.cases import binding, conflicts
from handlers.deps import Deps
from handlers.events import Reply
from storage.models import Case, Outbox, Staff, Unit
from tests.cases.conftest import accept_and_confirm_team, bind_group, members_of, team_of, tip_case
from tests.test_bad_input import generic
from tests.wecom.conftest import WeCom, make_wecom
from tests.wecom.standin import AGENT_ID, CORP_ID


@pytest.fixture
async def wecom(deps: Deps, dispatcher) -> AsyncIterator[WeCom]:  # type: ignore[no-untyped-def]
    async for w in make_wecom(deps, dispatcher):
        yield w


async def _declare_unit_conflict(deps: Deps, login: str, unit_code: str) -> None:
    """What /conflict records: a declaration that counts at once, while an administrator decides."""
    async with deps.begin() as uow:
        staff = await uow.session.scalar(select(Staff).where(Staff.login == login))
        unit = await uow.session.scalar(select(Unit).where(Unit.code == unit_code))
        await conflicts.declare(uow, staff, kind="relative", reason="兄弟在该单位", unit=unit)


async def test_a_notice_queued_before_a_conflict_is_declared_is_never_sent(chat, staff_chat, deps: Deps) -> None:
    # The team notices wait in the outbox (the platform is down, or the worker behind) ...
    await bind_group(deps, "jg1")
    case = await tip_case(chat, deps)
    await accept_and_confirm_team(staff_chat, case)
    member = members_of(await team_of(deps, case))[0]
    # ... while the member declares a conflict with the case's unit: from then on they must not be
    # told the reference, by any channel.
    await _declare_unit_conflict(deps, member, "u01")
    ch = CollectingChannel()
    await DeliveryWorker(deps.sessionmaker, {"memory": ch}, deps.sealer, deps.clock, deps.config).drain_once()
    assert not any(case.reference in r.text for a, r in ch.sent if a == f"staff-{member}")
    assert any(case.reference in r.text for a, r in ch.sent if a != f"staff-{member}")  # the others still hear
    async with deps.sessionmaker() as s:
        assert (await s.scalars(select(Outbox.last_error).where(Outbox.status == "dead"))).all() == ["withheld: conflict"]


async def test_a_notice_waiting_on_wecom_is_withheld_after_a_conflict_too(wecom: WeCom, chat, deps: Deps) -> None:
    case = await tip_case(chat, deps)
    async with deps.sessionmaker() as s, s.begin():
        code = await binding.invite(s, "o02-lead", now=deps.clock.now(), ttl=timedelta(hours=1), salt=deps.config.salt)
    await wecom.say("wc-lead", f"/bind {code}")
    # A notice about the case for the lead waits to be pushed over WeCom ...
    async with deps.begin() as uow:
        lead = await uow.session.scalar(select(Staff).where(Staff.login == "o02-lead"))
        about = await uow.session.get(Case, case.id)
        assert await uow.outbox.to_staff(lead.id, lambda _: Reply(text=f"案件 {case.reference} 待受理"), about=about,
                                         kind="test", dedupe_key="t1")
    # ... when they declare a conflict with the unit.
    await _declare_unit_conflict(deps, "o02-lead", "u01")
    await wecom.deliver()
    assert not any(case.reference in t for t in wecom.api.texts_to("wc-lead"))


def _raw_text_xml(user: str, content: bytes, msg_id: int) -> bytes:
    """A text message whose content is put in as bytes, as a sloppy sender would write it."""
    return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>").encode() + content + \
        f"</Content><MsgId>{msg_id}</MsgId><AgentID>{AGENT_ID}</AgentID></xml>".encode()


@pytest.mark.parametrize("content", [b"<![CDATA[\xe4\xba\xa4\xe9\x80\x9a\x00\xe8\xad\xa6\xe5\xaf\x9f]]>",
                                     "交通&#0;警察&#xD800;".encode(), "交通\x01\x02警察".encode()])
async def test_nul_and_surrogates_over_the_wecom_xml_get_a_clear_answer(wecom: WeCom, deps: Deps, content: bytes) -> None:
    user = "wc-nul"
    await wecom.say(user, "/report")
    status, _body, _t = await wecom.sim.post(wecom.http, _raw_text_xml(user, content, 9_000_001))  # type: ignore[arg-type]
    await wecom.callback.drain()
    assert status == 200
    answer = wecom.api.texts_to(user)[-1]
    assert "交通警察总队" in answer  # the search ran on what was typed, without the characters XML cannot carry
    assert not generic(answer)
