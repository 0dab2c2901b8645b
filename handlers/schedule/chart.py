"""The digest's picture: intake and conclusions over the last 30 days (PNG, matplotlib Agg)."""

from __future__ import annotations

import io
from datetime import date

import matplotlib

matplotlib.use("Agg")  # no display on servers
import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.ticker import MaxNLocator

CJK_FONT_HINTS = ("Noto Sans CJK", "Noto Serif CJK", "Source Han", "WenQuanYi", "SimHei", "Microsoft YaHei",
                  "PingFang", "Droid Sans Fallback", "AR PL")


def cjk_font() -> str | None:
    """A font that can draw Chinese, if the machine has one (e.g. Debian's fonts-noto-cjk)."""
    for f in font_manager.fontManager.ttflist:
        if any(h in f.name for h in CJK_FONT_HINTS):
            return f.name
    return None


def can_draw(text: str) -> bool:
    return text.isascii() or cjk_font() is not None


def intake_chart(days: list[date], received: list[int], concluded: list[int], *, title: str,
                 label_received: str, label_concluded: str) -> bytes:
    font = cjk_font()
    if font:
        plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
    fig, ax = plt.subplots(figsize=(6.4, 3.2), dpi=100)
    x = range(len(days))
    ax.bar([i - 0.2 for i in x], received, width=0.4, label=label_received, color="#c0392b")
    ax.bar([i + 0.2 for i in x], concluded, width=0.4, label=label_concluded, color="#2e86c1")
    ticks = list(range(0, len(days), 5))
    ax.set_xticks(ticks, [days[i].strftime("%m-%d") for i in ticks])
    ax.set_title(title)
    ax.legend(loc="upper left")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()
