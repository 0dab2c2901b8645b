"""提级 over WeCom: a lead hands a case up from the numbered menu; the supervisors' notice goes out
through the outbox to WeCom."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers.cases import binding
from handlers.deps import Deps
from handlers.i18n import N_
from storage.models import Case, CaseTransfer
from tests.wecom.conftest import WeCom
from tests.wecom.test_flows import number_of


async def test_a_lead_hands_a_case_up_from_wecom(wecom: WeCom, deps: Deps, chat) -> None:
    from tests.cases.conftest import tip_case

    case = await tip_case(chat, deps)
    async with deps.sessionmaker() as s, s.begin():
        codes = {login: await binding.invite(s, login, now=deps.clock.now(), ttl=timedelta(hours=1),
                                             salt=deps.config.salt) for login in ("o02-lead", "sup1")}
    for login, code in codes.items():
        assert "已绑定到" in (await wecom.say(f"wc-{login}", f"/bind {code}"))[-1]
    t = await wecom.say("wc-o02-lead", f"/case {case.reference}")
    t = await wecom.say("wc-o02-lead", number_of(t[-1], await wecom.label("wc-o02-lead", N_("Hand up (提级)"))))
    t = await wecom.say("wc-o02-lead", "案情涉及多个联组")
    async with deps.sessionmaker() as s:
        c = await s.get(Case, case.id)
        tr = (await s.scalars(select(CaseTransfer).where(CaseTransfer.case_id == case.id))).one()
    assert c.level == "supervisors" and tr.reason == "案情涉及多个联组"
    assert await wecom.deliver() >= 1
    assert any(case.reference in x and "提级" in x for x in wecom.api.texts_to("wc-sup1"))
    t = await wecom.say("wc-o02-lead", f"/case {case.reference}")
    assert "收受好处费" not in t[-1] and "没有" in t[-1]  # the group no longer sees it
