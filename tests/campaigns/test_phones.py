"""The phone steps of a campaign over real HTTP: the notice pushed by the delivery worker, 签收
in one tap, and a progress report, on the Telegram stand-in and the WeCom simulator."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers.campaigns.service import TASK_WORDS
from handlers.cases import binding
from handlers.deps import Deps
from handlers.i18n import N_, gettext_for
from storage.models import Campaign, CampaignTarget, CampaignTask, ProgressReport, Staff, Subgroup, SubgroupMember
from tests.campaigns.conftest import create_by_chat
from tests.telegram.conftest import Running
from tests.telegram.test_flows import bind_over_telegram, deliver_outbox
from tests.wecom.conftest import WeCom
from tests.wecom.test_flows import number_of

zh = gettext_for("zh_CN")


async def _member(deps: Deps, c: Campaign) -> tuple[SubgroupMember, str, CampaignTarget]:
    async with deps.sessionmaker() as s:
        m = (await s.scalars(select(SubgroupMember).join(Subgroup).where(
            Subgroup.campaign_id == c.id, SubgroupMember.role == "member").order_by(SubgroupMember.id))).first()
        assert m is not None
        login = await s.scalar(select(Staff.login).where(Staff.id == m.staff_id))
        target = (await s.scalars(select(CampaignTarget).where(CampaignTarget.subgroup_id == m.subgroup_id)
                                  .order_by(CampaignTarget.id))).first()
        assert login and target
        return m, login, target


async def _task(deps: Deps, m: SubgroupMember, target: CampaignTarget, kind: str) -> CampaignTask:
    async with deps.sessionmaker() as s:
        t = await s.scalar(select(CampaignTask).where(CampaignTask.subgroup_id == m.subgroup_id,
                                                      CampaignTask.target_id == target.id, CampaignTask.kind == kind))
        assert t is not None
        return t


async def _reports(deps: Deps) -> list[tuple[int, int]]:
    async with deps.sessionmaker() as s:
        return [(r.task_id, r.number) for r in (await s.scalars(select(ProgressReport))).all()]


async def test_notice_acknowledge_and_progress_on_telegram(tg: Running, deps: Deps, staff_chat) -> None:
    sup = await staff_chat("sup1")
    c = await create_by_chat(sup, deps)
    m, login, target = await _member(deps, c)
    p = tg.phone(7700000000 + m.id)
    await bind_over_telegram(p, deps, login)
    await sup.press_value(f"{c.id}.confirm")
    assert await deliver_outbox(tg, deps) >= 1
    notice = next(t for t in p.texts if c.reference in t)
    assert target.name in notice and "2026-12-01" in notice and zh("subgroup member") in notice
    texts = await p.press(N_("✔ Acknowledge (签收)"))
    assert texts[-1] == zh("Acknowledged (已签收) campaign {ref}. Your subgroup lead has been told.").format(ref=c.reference)
    await p.press(N_("Report progress"))
    task = await _task(deps, m, target, "talks_held")
    await p._press(*p._find(lambda b: b["callback_data"].endswith(f":{task.id}"), "the talks task"))
    await p.send("12")
    await p.press(N_("Skip"))
    texts = await p.press(N_("Not yet"))
    assert texts[-1] == zh("Recorded. Thank you.")
    assert await _reports(deps) == [(task.id, 12)]


async def test_notice_acknowledge_and_progress_on_wecom(wecom: WeCom, deps: Deps, staff_chat) -> None:
    sup = await staff_chat("sup1")
    c = await create_by_chat(sup, deps)
    m, login, target = await _member(deps, c)
    user = f"wc-{login}"
    async with deps.sessionmaker() as s, s.begin():
        code = await binding.invite(s, login, now=deps.clock.now(), ttl=timedelta(hours=1), salt=deps.config.salt)
    await wecom.say(user, f"/bind {code}")
    await sup.press_value(f"{c.id}.confirm")
    assert await wecom.deliver() >= 1
    notice = next(t for t in wecom.api.texts_to(user) if c.reference in t)
    assert target.name in notice and zh("subgroup member") in notice
    t = await wecom.say(user, number_of(notice, await wecom.label(user, N_("✔ Acknowledge (签收)"))))
    assert t[-1] == zh("Acknowledged (已签收) campaign {ref}. Your subgroup lead has been told.").format(ref=c.reference)
    t = await wecom.say(user, f"/campaign {c.reference}")
    t = await wecom.say(user, number_of(t[-1], await wecom.label(user, N_("Report progress"))))
    t = await wecom.say(user, number_of(t[-1], f"{target.name} · {zh(TASK_WORDS['reports_collected'])}"))
    t = await wecom.say(user, "3")
    t = await wecom.say(user, "三家单位已报送自查报告")
    t = await wecom.say(user, number_of(t[-1], await wecom.label(user, N_("Yes, finished"))))
    assert t[-1] == zh("Recorded. Thank you.")
    task = await _task(deps, m, target, "reports_collected")
    assert await _reports(deps) == [(task.id, 3)]
    async with deps.sessionmaker() as s:
        done = await s.get(CampaignTask, task.id)
        assert done is not None and done.done_at is not None
