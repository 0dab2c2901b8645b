"""The supervisors' pictures (PNG): intake and conclusions over the last 30 days, and a period's
flow (received → accepted → concluded) against the same period last year.

A chart is described first (:class:`Chart`: what each bar shows, already masked) and drawn
second, so tests can check what a picture reveals without reading pixels. A count between 1 and
the threshold is drawn at the threshold's height, hatched, and labelled "<k": no bar's height
tells 1 from 2.

Labels are drawn in the font shipped beside this module (fonts/, a subset of Noto Sans SC made
by scripts/font_subset.py, SIL OFL), so a Chinese chart reads the same on a server with no
Chinese font. A label the font cannot draw makes the whole chart fall back to its English
labels rather than show empty boxes. matplotlib is imported on the first chart, not at start-up
(it costs about 0.6 s and tens of MiB every instance would carry), and drawn on the Agg canvas
without pyplot (no global figure state shared between concurrent digests).
"""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from handlers.i18n import N_, Gettext
from handlers.schedule.figures import Stats, small

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FONT_FILE = Path(__file__).with_name("fonts") / "LianzuSansSC-Regular.otf"
FONT_FAMILY = "Lianzu Sans SC"
HATCH = "////"
RED, BLUE, GREY = "#c0392b", "#2e86c1", "#7f8c8d"

LAST_30_DAYS = N_("Last 30 days")
RECEIVED, ACCEPTED, CONCLUDED = N_("received"), N_("accepted"), N_("concluded")
FEWER_THAN = N_("fewer than {k} (not shown exactly)")
FLOW_TITLE = N_("Received, accepted, concluded: {period} and the same period last year")
SAME_PERIOD_LAST_YEAR = N_("same period last year")


@dataclass(frozen=True)
class Bar:
    height: int  # what is drawn: the count, or the threshold for a masked count
    label: str   # what it says: "5", or "<3"
    masked: bool


def bars(values: list[int], k: int) -> list[Bar]:
    """Counts as bars that may be shown: 1..k-1 become a hatched bar at k labelled "<k"."""
    return [Bar(k, f"<{k}", True) if small(v, k) else Bar(v, str(v), False) for v in values]


@dataclass(frozen=True)
class Series:
    label: str
    bars: list[Bar]
    color: str


@dataclass(frozen=True)
class Chart:
    title: str
    categories: list[str]  # one per group of bars, on the x axis
    series: list[Series]
    masked_label: str      # the legend's words for a hatched bar
    tick_every: int = 1
    values_on_bars: bool = False

    def texts(self) -> list[str]:
        """Every word drawn (the labels a font must be able to draw)."""
        return [self.title, self.masked_label, *self.categories, *(s.label for s in self.series),
                *(b.label for s in self.series for b in s.bars)]

    @property
    def masked(self) -> bool:
        return any(b.masked for s in self.series for b in s.bars)


@functools.cache
def _shipped_font() -> frozenset[int]:
    """Registers the shipped font with matplotlib once; the code points it can draw (none when
    the file is missing, e.g. an installation that left package data out)."""
    if not FONT_FILE.exists():
        return frozenset()
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    font_manager.fontManager.addfont(str(FONT_FILE))
    return frozenset(FT2Font(str(FONT_FILE)).get_charmap())


def can_draw(text: str) -> bool:
    covered = _shipped_font()
    return all(ch.isspace() or ord(ch) in covered or (ch.isascii() and ch.isprintable()) for ch in text)


def localized(build: Callable[[Gettext], Chart], _: Gettext) -> Chart:
    """The chart in the reader's language, or in English when the font lacks one of its characters."""
    chart = build(_)
    return chart if all(can_draw(t) for t in chart.texts()) else build(lambda s: s)


def figure(chart: Chart) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    _shipped_font()
    family = [FONT_FAMILY, "DejaVu Sans"] if FONT_FILE.exists() else ["DejaVu Sans"]
    fig = Figure(figsize=(6.4, 3.2), dpi=100)
    ax = fig.add_subplot()
    n = len(chart.series)
    width = 0.8 / n
    for j, s in enumerate(chart.series):
        xs = [i - 0.4 + width * (j + 0.5) for i in range(len(chart.categories))]
        drawn = ax.bar(xs, [b.height for b in s.bars], width=width, color=s.color)
        for rect, b in zip(drawn, s.bars, strict=True):
            if b.masked:
                rect.set_facecolor("white")
                rect.set_edgecolor(s.color)
                rect.set_hatch(HATCH)
            if chart.values_on_bars and b.height:
                ax.annotate(b.label, (rect.get_x() + rect.get_width() / 2, rect.get_height()), ha="center",
                            va="bottom", fontsize=8, family=family)
    # One legend, drawn from the series (not from their first bar, which may be a hatched one).
    handles = [Patch(facecolor=s.color, label=s.label) for s in chart.series]
    if chart.masked:
        handles.append(Patch(facecolor="white", edgecolor=GREY, hatch=HATCH, label=chart.masked_label))
    ax.legend(handles=handles, loc="upper left", ncol=len(handles), prop={"family": family, "size": 8}, frameon=False)
    ticks = list(range(0, len(chart.categories), chart.tick_every))
    ax.set_xticks(ticks, [chart.categories[i] for i in ticks], family=family)
    for t in ax.get_yticklabels():
        t.set_fontfamily(family)
    ax.set_title(chart.title, family=family)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    top = max((b.height for s in chart.series for b in s.bars), default=0)
    ax.set_ylim(0, max(top * 1.3, top + 2, 4))  # room for the legend above the bars
    fig.tight_layout()
    return fig


def png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png")  # the Agg canvas, chosen by the format
    return out.getvalue()


async def render(chart: Chart) -> bytes:
    """The PNG, drawn in a worker thread: a chart takes a few hundred milliseconds of CPU that
    would otherwise stall every chat (one chart at a time: each is awaited)."""
    return await asyncio.to_thread(lambda: png(figure(chart)))


def intake_chart(_: Gettext, days: list[date], received: list[int], concluded: list[int], k: int) -> Chart:
    return Chart(title=_(LAST_30_DAYS), categories=[d.strftime("%m-%d") for d in days],
                 series=[Series(_(RECEIVED), bars(received, k), RED), Series(_(CONCLUDED), bars(concluded, k), BLUE)],
                 masked_label=_(FEWER_THAN).format(k=k), tick_every=5)


def flow_chart(_: Gettext, period: str, cur: Stats, last_year: Stats, k: int) -> Chart:
    """A period's received → accepted → concluded beside the same period last year."""
    def flow(s: Stats) -> list[int]:
        return [s.received, s.accepted, s.concluded]

    return Chart(title=_(FLOW_TITLE).format(period=period), categories=[_(RECEIVED), _(ACCEPTED), _(CONCLUDED)],
                 series=[Series(period, bars(flow(cur), k), RED),
                         Series(_(SAME_PERIOD_LAST_YEAR), bars(flow(last_year), k), GREY)],
                 masked_label=_(FEWER_THAN).format(k=k), values_on_bars=True)
