"""Issue 12, re-checked from outside: paths the feature tests did not walk."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.channels.memory import CollectingChannel
from bot.delivery import DeliveryWorker
from handlers.cases import binding, conflicts
from handlers.deps import Deps
from handlers.events import Reply
from handlers.i18n import N_
from storage.models import Attachment, Case, Outbox, Staff, Unit
from tests.cases.conftest import accept_and_confirm_team, bind_group, members_of, team_of, tip_case
from tests.fakes import make_file, tiny_pdf
from tests.reporter.conftest import file_anonymous_tip, jpeg_with_gps
from tests.reporter.test_file_hardening import pixel_bomb, refusal, stored_files
from tests.telegram.conftest import Running, standin, tg  # noqa: F401
from tests.telegram.standin import Call
from tests.telegram.test_flows import bind_over_telegram
from tests.test_bad_input import generic
from tests.wecom.conftest import WeCom, make_wecom
from tests.wecom.standin import AGENT_ID, CORP_ID
from tests.wecom.test_flows import number_of


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


# -- existence oracles on the real channels: everything the platform is asked to show, byte for byte --

def _made_up(ref: str) -> str:
    return ref[:-1] + ("9" if ref[-1] != "9" else "8")


def _real_vs_fake(case: Case, att_id: int) -> list[tuple[str, str, str]]:
    """(kind, what a person without access sends about the real thing, the same about a made-up one)."""
    ref, fake = case.reference, _made_up(case.reference)
    return [("text", f"/case {ref.lower()}", f"/case {fake.lower()}"), ("text", f"查一下{ref}", f"查一下{fake}"),
            ("text", f"案件{ref}逾期了吗", f"案件{fake}逾期了吗"), ("text", ref, fake), ("text", f"/list {ref}", f"/list {fake}"),
            ("button", f"a:case:{case.id}.view", "a:case:999999.view"), ("button", f"a:case:{case.id}.accept", "a:case:999999.accept"),
            ("button", f"a:evid:{att_id}", "a:evid:999999"), ("button", f"a:intake:{case.id}", "a:intake:999999")]


async def _case_with_a_file(chat, deps: Deps) -> tuple[Case, int]:  # type: ignore[no-untyped-def]
    await file_anonymous_tip(chat("oracle-rep"), files=(make_file(tiny_pdf("oracle")),))
    async with deps.sessionmaker() as s:
        case = (await s.scalars(select(Case).order_by(Case.id.desc()))).first()
        att = (await s.scalars(select(Attachment.id))).first()
    assert case is not None and att is not None
    return case, att


def _shown(calls: list[Call]) -> list[tuple[str, str, str]]:
    return [(c.method, str(c.params.get("text", "")), json.dumps(c.params.get("reply_markup"), sort_keys=True))
            for c in calls if c.method != "answerCallbackQuery"] + \
        [(c.method, str(c.params.get("text", "")), str(c.params.get("show_alert"))) for c in calls if c.method == "answerCallbackQuery"]


async def test_telegram_answers_the_same_for_a_hidden_case_and_a_made_up_one(tg: Running, chat, staff_chat,  # noqa: F811
                                                                            deps: Deps) -> None:
    case, att = await _case_with_a_file(chat, deps)
    await accept_and_confirm_team(staff_chat, case)
    ref = case.reference
    for uid, login, conflict in ((5551001, "o20-lead", None), (5551002, "sup1", "u01")):
        if conflict:
            await _declare_unit_conflict(deps, login, conflict)
        p = tg.phone(uid)
        await bind_over_telegram(p, deps, login)
        for kind, real, fake in _real_vs_fake(case, att):
            shown = []
            for typed in (real, fake):
                before = len(tg.standin.calls)
                if kind == "text":
                    await p.send(typed)
                else:
                    await p._press(p.next_message_id, typed)
                shown.append(_shown([c for c in tg.standin.calls[before:] if c.method != "getUpdates"]))
            fake_ref = _made_up(ref)
            assert shown[0] == [tuple(x.replace(fake_ref, ref).replace(fake_ref.lower(), ref.lower()) for x in row)
                                for row in shown[1]], (login, real)


async def test_wecom_answers_the_same_for_a_hidden_case_and_a_made_up_one(wecom: WeCom, chat, staff_chat, deps: Deps) -> None:
    case, att = await _case_with_a_file(chat, deps)
    await accept_and_confirm_team(staff_chat, case)
    ref = case.reference
    await _declare_unit_conflict(deps, "sup1", "u01")
    for user, login in (("wc-o20", "o20-lead"), ("wc-sup1", "sup1")):
        async with deps.sessionmaker() as s, s.begin():
            code = await binding.invite(s, login, now=deps.clock.now(), ttl=timedelta(hours=1), salt=deps.config.salt)
        await wecom.say(user, f"/bind {code}")
        for kind, real, fake in _real_vs_fake(case, att):
            shown = []
            for typed in (real, fake):
                before = len(wecom.api.sent)
                if kind == "text":
                    await wecom.say(user, typed)
                else:  # a forged card press
                    await wecom.sim.post(wecom.http, wecom.sim.card_event_xml(user, typed, "task-1",
                                                                              create_time=1_700_000_000 + len(wecom.api.sent)))
                    await wecom.callback.drain()
                shown.append([json.dumps(m, sort_keys=True, ensure_ascii=False) for m in wecom.api.sent[before:]])
            fake_ref = _made_up(ref)
            assert shown[0] == [x.replace(fake_ref, ref).replace(fake_ref.lower(), ref.lower()) for x in shown[1]], (login, real)


def _file_xml(user: str, media_id: str, name: str, msg_id: int) -> str:
    return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[file]]></MsgType>"
            f"<MediaId><![CDATA[{media_id}]]></MediaId><FileName><![CDATA[{name}]]></FileName>"
            f"<MsgId>{msg_id}</MsgId><AgentID>{AGENT_ID}</AgentID></xml>")


async def test_files_whose_type_lies_over_wecom_media_are_judged_by_their_content(wecom: WeCom, deps: Deps) -> None:
    user = "wc-files"
    t = await wecom.say(user, "/report")
    t = await wecom.say(user, number_of(t[-1], await wecom.label(user, N_("Not sure"))))
    t = await wecom.say(user, number_of(t[-1], await wecom.label(user, N_("Skip"))))
    t = await wecom.say(user, "情况说明")
    await wecom.say(user, number_of(t[-1], await wecom.label(user, N_("Done"))))
    wecom.api.media["GPS"] = (jpeg_with_gps(), "application/pdf", "scan.pdf")  # a photo with GPS, labelled a PDF
    wecom.api.media["BOMB"] = (pixel_bomb(), "image/jpeg", "p.jpg")
    wecom.api.media["ELF"] = (b"\x7fELF" + b"\x00" * 3000, "image/jpeg", "p.jpg")
    answers = []
    for i, (media_id, name) in enumerate((("GPS", "scan.pdf"), ("BOMB", "p.jpg"), ("ELF", "p.jpg"))):
        assert (await wecom.sim.post(wecom.http, _file_xml(user, media_id, name, 9_100_000 + i)))[0] == 200
        await wecom.callback.drain()
        answers.append(wecom.api.texts_to(user)[-1])
    assert "共 1 个" in answers[0]
    assert answers[1].startswith(refusal("pixels", deps)) and answers[2].startswith(refusal("type", deps))
    assert [(ctype, b"SecretPhone" in data) for ctype, data in await stored_files(deps)] == [("image/jpeg", False)]


async def test_a_deactivated_member_bound_on_wecom_is_an_outsider_there_at_once(wecom: WeCom, chat, staff_chat,
                                                                                  deps: Deps) -> None:
    case = await tip_case(chat, deps)
    await accept_and_confirm_team(staff_chat, case)
    login = members_of(await team_of(deps, case))[0]
    await staff_chat(login)  # bound on one channel ...
    async with deps.sessionmaker() as s, s.begin():
        code = await binding.invite(s, login, now=deps.clock.now(), ttl=timedelta(hours=1), salt=deps.config.salt)
    await wecom.say("wc-leaver", f"/bind {code}")  # ... and on WeCom
    assert case.reference in (await wecom.say("wc-leaver", "/my"))[-1]
    await (await staff_chat("admin")).send(f"/deactivate {login}")  # from another channel
    assert not any(case.reference in t for t in await wecom.say("wc-leaver", "/my"))
    assert not any(case.reference in t for t in await wecom.say("wc-leaver", f"/case {case.reference}"))
    async with deps.sessionmaker() as s, s.begin():
        assert await binding.invite(s, login, now=deps.clock.now(), ttl=timedelta(hours=1), salt=deps.config.salt) is None
