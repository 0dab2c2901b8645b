"""延期 over Telegram: the supervisor's request notice is pushed by the real delivery worker and
approved by pressing its button on the phone."""

from __future__ import annotations

from handlers.deps import Deps
from handlers.i18n import N_
from tests.cases.test_extensions_transfers import _due, acknowledged_case
from tests.conftest import bind_staff
from tests.telegram.conftest import Running
from tests.telegram.test_flows import deliver_outbox


async def test_a_supervisor_approves_an_extension_from_the_pushed_notice(tg: Running, deps: Deps, chat,
                                                                          staff_chat) -> None:
    await bind_staff(deps, "sup1", "900001", channel="telegram")
    case, lead = await acknowledged_case(chat, staff_chat, deps)
    before = await _due(deps, case.id)
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Ask for more time (延期)"))
    await lead.send("7")
    await lead.send("需要补充调查")
    assert await deliver_outbox(tg, deps) >= 1
    sup = tg.phone(900001)
    mid, _data = sup.keyboard_message(await sup.label(N_("✔ Approve")))
    assert case.reference in tg.standin.messages[(sup.uid, mid)]["text"]
    assert "补充调查" not in tg.standin.messages[(sup.uid, mid)]["text"]
    assert await _due(deps, case.id) == before
    await sup.press(N_("✔ Approve"))
    assert await _due(deps, case.id) == deps.policy.shift(before, 7)
