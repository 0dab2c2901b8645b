"""Result feedback (反馈) and the named reporter over WeCom, through the simulator over real HTTP:
the reporter files with their name, is pushed the acceptance notice and then the result by the
delivery worker; the team lead answers numbered menus to conclude, reveal the contact with a reason
and record the feedback."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers.cases import binding
from handlers.deps import Deps
from handlers.i18n import N_
from storage.models import AuditEntry, Case
from tests.cases.conftest import members_of, team_of
from tests.cases.test_feedback import RESULT
from tests.wecom.conftest import WeCom
from tests.wecom.test_flows import number_of


def _menu_number(texts: list[str], label: str) -> str:
    for text in reversed(texts):
        try:
            return number_of(text, label)
        except AssertionError:
            continue
    raise AssertionError(f"no menu entry {label!r} in {texts!r}")


async def choose(w: WeCom, user: str, texts: list[str], msgid: str, **params: object) -> list[str]:
    """Answer the newest numbered menu in ``texts`` with the number of the entry for ``msgid``."""
    return await w.say(user, _menu_number(texts, await w.label(user, msgid, **params)))


async def test_named_reporter_gets_acceptance_and_result_pushed_and_the_lead_reveals(
        wecom: WeCom, deps: Deps, staff_chat) -> None:
    rep = "wc-reporter"
    t = await wecom.say(rep, "/report")
    t = await wecom.say(rep, "交通警察")
    if any("省公安厅交通警察总队" in x and ". " in x for x in t):
        t = await wecom.say(rep, _menu_number(t, "省公安厅交通警察总队"))
    t = await wecom.say(rep, "张某，副总队长")
    t = await wecom.say(rep, "他收受好处费。")
    t = await choose(wecom, rep, t, N_("Done"))
    t = await choose(wecom, rep, t, N_("Skip"))
    t = await choose(wecom, rep, t, N_("With my name"))
    t = await wecom.say(rep, "赵实名")
    t = await wecom.say(rep, "13900001111")
    t = await choose(wecom, rep, t, N_("✔ Submit"))
    assert any("回执号码" in x for x in t), t
    async with deps.sessionmaker() as s:
        case = (await s.scalars(select(Case))).one()

    lead = "wc-o02-lead"
    async with deps.sessionmaker() as s, s.begin():
        code = await binding.invite(s, "o02-lead", now=deps.clock.now(), ttl=timedelta(hours=1), salt=deps.config.salt)
    await wecom.say(lead, f"/bind {code}")
    t = await wecom.say(lead, f"/case {case.reference}")
    t = await choose(wecom, lead, t, N_("Accept (受理)"))
    t = await choose(wecom, lead, t, N_("Propose a team"))
    t = await choose(wecom, lead, t, N_("✔ Confirm"))
    before = len(wecom.api.texts_to(rep))
    await wecom.deliver()
    told = wecom.api.texts_to(rep)[before:]
    assert any("受理" in x for x in told), told

    t = await wecom.say(lead, f"/case {case.reference}")
    t = await choose(wecom, lead, t, N_("Reveal the reporter's contact"))
    t = await wecom.say(lead, "需要当面核实举报细节")
    assert "赵实名" in t[-1] and "13900001111" in t[-1] and case.reference in t[-1]
    async with deps.sessionmaker() as s:
        assert (await s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "reveal_reporter"))).all() == [
            {"reason": "需要当面核实举报细节"}]

    for login in members_of(await team_of(deps, case)):
        m = await staff_chat(login)
        await m.send("/my")
        await m.press(N_("✔ Acknowledge (签收)"))
    t = await wecom.say(lead, f"/case {case.reference}")
    t = await choose(wecom, lead, t, N_("preliminary verification (初步核实)"))
    t = await wecom.say(lead, f"/case {case.reference}")
    t = await choose(wecom, lead, t, N_("Conclude (办结)"))
    t = await wecom.say(lead, "1")
    t = await wecom.say(lead, RESULT)
    assert any("已办结" in x or case.reference in x for x in t), t
    before = len(wecom.api.texts_to(rep))
    assert await wecom.deliver() >= 1
    pushed = wecom.api.texts_to(rep)[before:]
    assert any(RESULT in x for x in pushed), pushed  # the result reaches the reporter's own chat

    t = await wecom.say(lead, f"/case {case.reference}")
    await choose(wecom, lead, t, N_("Feedback given to the reporter"))
    async with deps.sessionmaker() as s:
        assert (await s.get(Case, case.id)).state == "feedback_given"
