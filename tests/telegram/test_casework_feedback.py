"""Result feedback (反馈) and the named reporter over Telegram, through the Bot API stand-in: the
reporter files with their name from their phone, is pushed the acceptance notice and then the
result by the real delivery worker; the team lead concludes, reveals the contact with a reason and
records the feedback from their own phone."""

from __future__ import annotations

from sqlalchemy import select

from handlers.deps import Deps
from handlers.i18n import N_
from storage.models import AuditEntry, Case
from tests.cases.conftest import members_of, team_of
from tests.cases.test_feedback import RESULT
from tests.telegram.conftest import Phone, Running
from tests.telegram.test_flows import bind_over_telegram, deliver_outbox


async def named_tip_over_telegram(p: Phone) -> None:
    await p.send("/report")
    await p.send("交通警察")
    try:
        await p.press_label("省公安厅交通警察总队")
    except AssertionError:
        pass  # one match: taken without asking
    await p.send("张某，副总队长")
    await p.send("他收受好处费。")
    await p.press(N_("Done"))
    await p.press(N_("Skip"))
    await p.press(N_("With my name"))
    await p.send("赵实名")
    await p.send("13900001111")
    texts = await p.press(N_("✔ Submit"))
    assert "回执号码" in texts[-1], texts


async def press_data(p: Phone, suffix: str) -> list[str]:
    """Press the newest button whose data ends with ``suffix`` (a case verb such as ``.feedback``)."""
    return await p._press(*p._find(lambda b: b["callback_data"].endswith(suffix), suffix))


async def test_named_reporter_gets_acceptance_and_result_pushed_and_the_lead_reveals(
        tg: Running, deps: Deps, staff_chat) -> None:
    reporter = tg.phone(6100001)
    await named_tip_over_telegram(reporter)
    async with deps.sessionmaker() as s:
        case = (await s.scalars(select(Case))).one()
    lead = tg.phone(6100002)
    await bind_over_telegram(lead, deps, "o02-lead")
    _ = await lead.gettext()
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Accept (受理)"))
    await lead.press(N_("Propose a team"))
    await lead.press(N_("✔ Confirm"))
    await deliver_outbox(tg, deps)
    assert any(case.reference not in t and "受理" in t for t in reporter.texts[-3:]), reporter.texts[-3:]

    # The lead, alone, reveals the contact from the phone; the reason is on record.
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Reveal the reporter's contact"))
    texts = await lead.send("需要当面核实举报细节")
    assert texts[-1] == _("Reporter of case {ref}: {name}; contact: {contact}. This was recorded with your "
                          "reason.").format(ref=case.reference, name="赵实名", contact="13900001111")
    async with deps.sessionmaker() as s:
        assert (await s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "reveal_reporter"))).all() == [
            {"reason": "需要当面核实举报细节"}]

    for login in members_of(await team_of(deps, case)):
        m = await staff_chat(login)
        await m.send("/my")
        await m.press(N_("✔ Acknowledge (签收)"))
    await lead.send(f"/case {case.reference}")
    await press_data(lead, ".disp_preliminary_verification")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Conclude (办结)"))
    await lead.send("1")
    texts = await lead.send(RESULT)
    assert _("Case {ref} concluded.").format(ref=case.reference) in texts[-1]
    before = len(reporter.texts)
    assert await deliver_outbox(tg, deps) >= 1
    pushed = reporter.texts[before:]
    assert any(RESULT in t for t in pushed), pushed  # the result reaches the reporter's own phone
    assert all("o02-lead" not in t for t in pushed)

    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Feedback given to the reporter"))
    async with deps.sessionmaker() as s:
        assert (await s.get(Case, case.id)).state == "feedback_given"
