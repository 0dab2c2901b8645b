"""Starting /report or /check again in the middle of a draft never loses what was typed."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.i18n import N_
from storage.models import Attachment, Tip
from tests.fakes import make_file, tiny_pdf


async def test_report_again_continues_the_draft(chat, deps) -> None:  # type: ignore[no-untyped-def]
    c = chat("r1", language_code="en")
    await c.send("/report")
    await c.press(N_("Not sure"))
    await c.send("张某")
    await c.send("第一段经过")
    await c.send("/report")
    assert "unfinished report" in c.history[-2].text and "Step 3 of 6" in c.last
    await c.press(N_("Done"))
    await c.press(N_("Skip"))
    await c.press(N_("Anonymous"))
    assert "张某" in c.last and "第一段经过" in c.last


async def test_check_during_a_draft_keeps_the_draft_and_its_files(chat, deps) -> None:  # type: ignore[no-untyped-def]
    c = chat("r1", language_code="en")
    await c.send("/report")
    await c.press(N_("Not sure"))
    await c.press(N_("Skip"))
    await c.send("经过")
    await c.press(N_("Done"))
    await c.attach(make_file(tiny_pdf(), filename="d.pdf"))
    await c.send("/check 1234 5678 9012 3456")
    assert "unfinished report" in c.last
    await c.send("/report")
    assert "Step 4 of 6" in c.last and "1 file" in c.last
    await c.press(N_("Done"))
    await c.press(N_("Anonymous"))
    await c.press(N_("✔ Submit"))
    async with deps.sessionmaker() as s:
        tip = (await s.scalars(select(Tip))).one()
        assert deps.sealer.open_text(tip.key_id, tip.body_enc).strip() == "经过"
        assert await s.scalar(select(func.count()).select_from(Attachment).where(Attachment.tip_id == tip.id)) == 1
