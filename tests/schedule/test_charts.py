"""The supervisors' charts: small counts masked in what is drawn, labels in the reader's language
in the font shipped with the program, no missing glyphs; a flow chart in the digest and on request."""

from __future__ import annotations

import io
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select, true

from bot.commands.report import table
from handlers.deps import Deps
from handlers.events import Reply
from handlers.i18n import gettext_for
from handlers.schedule import chart as charts
from handlers.schedule.chart import FONT_FILE, Chart, figure, localized, png
from handlers.schedule.digest import digest_charts, send_digests
from handlers.schedule.figures import parse_period, stats_for
from storage.models import Staff
from tests.cases.conftest import outbox_to, tip_case
from tests.conftest import bind_staff
from tests.schedule.test_figures import make_cases


def drawn_heights(chart: Chart) -> list[float]:
    from matplotlib.patches import Rectangle

    fig = figure(chart)
    ax = fig.axes[0]
    return [p.get_height() for p in ax.patches if isinstance(p, Rectangle)]


def drawn_texts(chart: Chart):  # type: ignore[no-untyped-def]
    """Every piece of text in the rendered figure with the font file it was drawn in."""
    from matplotlib import font_manager
    from matplotlib.text import Text

    fig = figure(chart)
    png(fig)  # lays the texts out as they are drawn
    return [(t.get_text(), Path(font_manager.findfont(t.get_fontproperties(), fallback_to_default=False)))
            for t in fig.findobj(Text) if t.get_text().strip()]


@pytest.mark.parametrize("n", [1, 2])
async def test_every_figure_path_masks_counts_of_one_and_two(n: int, chat, staff_chat, deps: Deps, clock) -> None:
    """Text (/status, /stats, the digest), chart data (what each bar's height is), the export."""
    k = deps.config.small_count_threshold
    assert k == 3
    await bind_staff(deps, "sup2", "staff-sup2")
    for _ in range(n):  # n cases from tips, overdue after 9 days; n concluded cases on another day
        await tip_case(chat, deps)
    clock.advance(days=9)
    await make_cases(deps, clock.now(), n, conclude=n, disciplined=1)
    sup = await staff_chat("sup1")
    status = (await sup.send("/status week"))[0].text
    assert "当前超期：<3" in status and f"当前超期：{n}" not in status
    stats = (await sup.send("/stats month"))[0].text
    assert "办结案件 <3 件" in stats and f"办结案件 {n} 件" not in stats
    async with deps.begin() as uow:
        await send_digests(uow)
    digest = Reply.model_validate((await outbox_to(deps, "sup2"))[-1].payload)
    assert "当前超期：<3" in digest.text and f"当前超期：{n}" not in digest.text
    assert [f.filename for f in digest.files] == ["digest.png", "flow.png"]

    # Chart data: what the digest draws, and the bars actually drawn.
    _ = gettext_for("zh_CN")
    async with deps.begin() as uow:
        staff = await uow.session.scalar(select(Staff).where(Staff.login == "sup2"))
        assert staff is not None
        from handlers.schedule.figures import scope

        intake, flow = await digest_charts(uow, await scope(uow.session, uow.sealer, staff), _)
    for c in (intake, flow):
        every = [b for s in c.series for b in s.bars]
        assert any(b.masked for b in every), c.title  # the small counts are there, masked
        assert all(b.height == 0 or b.height >= k for b in every)
        assert all(b.label == "<3" for b in every if b.masked) and not any(b.label in ("1", "2") for b in every)
        assert not {1.0, 2.0} & set(drawn_heights(c))
    assert "<3" in [b.label for b in flow.series[0].bars]  # this month's concluded

    # The export.
    p = parse_period("month", clock.now(), deps.config.tz)
    assert p is not None
    async with deps.begin() as uow:
        cur, yoy, prev = await stats_for(uow.session, true(), [p, p.shift(years=-1), p.shift(back=True)])
    rows = {str(r[0]).strip(): r for r in table(cur, yoy, prev, k)}
    assert rows["办结 Cases concluded"][1] == "<3" and rows["立案 Cases filed"][1] == "<3"


async def test_chart_is_drawn_in_chinese_in_the_shipped_font_with_no_missing_glyph(deps: Deps, clock) -> None:
    assert FONT_FILE.exists() and FONT_FILE.stat().st_size < 1024 * 1024
    assert (FONT_FILE.parent / "OFL.txt").read_text(encoding="utf-8").count("SIL OPEN FONT LICENSE") >= 1
    await make_cases(deps, datetime(2026, 3, 2, 2, 0, tzinfo=UTC), 7, conclude=4)
    await make_cases(deps, datetime(2025, 3, 3, 2, 0, tzinfo=UTC), 5, conclude=3)
    clock.set(datetime(2026, 3, 20, 2, 0, tzinfo=UTC))
    _ = gettext_for("zh_CN")
    async with deps.begin() as uow:
        intake, flow = await digest_charts(uow, true(), _)
    assert intake.title == "近30天" and flow.categories == ["收到", "受理", "办结"]
    assert flow.title == "本月线索收到、受理、办结与去年同期对比" and flow.series[1].label == "去年同期"
    for c in (intake, flow):
        with warnings.catch_warnings():
            # matplotlib warns "Glyph … missing from font(s)" where it would draw an empty box.
            warnings.simplefilter("error")
            texts = drawn_texts(c)
            data = png(figure(c))
        chinese = [(t, f) for t, f in texts if not t.isascii()]
        assert chinese, c.title
        assert all(f == FONT_FILE for _t, f in chinese), chinese
        img = Image.open(io.BytesIO(data))
        assert img.format == "PNG" and img.size == (640, 320)


def test_a_label_the_font_cannot_draw_falls_back_to_english() -> None:
    assert charts.can_draw("近30天") and charts.can_draw("received 12")
    assert not charts.can_draw("龘")  # not in any catalog, so not in the subset

    def fake(s: str) -> str:
        return {"Last 30 days": "龘龘"}.get(s, s)

    c = localized(lambda t: charts.intake_chart(t, [], [], [], 3), fake)
    assert c.title == "Last 30 days"


async def test_stats_chart_on_request(staff_chat, deps: Deps, clock) -> None:
    await make_cases(deps, datetime(2026, 3, 2, 2, 0, tzinfo=UTC), 6, conclude=3)
    clock.set(datetime(2026, 3, 20, 2, 0, tzinfo=UTC))
    sup = await staff_chat("sup1")
    reply = (await sup.send("/stats 2026-03 chart"))[0]
    assert "受理问题线索 6 件" in reply.text and [f.filename for f in reply.files] == ["flow.png"]
    assert Image.open(io.BytesIO(reply.files[0].data)).format == "PNG"
    assert (await sup.send("/stats 图表"))[0].files  # the default period, in Chinese
    assert not (await sup.send("/stats 2026-03"))[0].files
    bad = (await sup.send("/stats someday chart"))[0]
    assert "无法识别" in bad.text and not bad.files
    await sup.send("/lang en")
    en = (await sup.send("/stats month chart"))[0]
    assert en.files and "Clues received" in en.text
