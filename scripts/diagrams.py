"""Write the state diagram of every conversation (docs/conversations/NAME.mmd) from its step
table. A test fails when a diagram and its table disagree; run this after changing steps:

    .venv/bin/python scripts/diagrams.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handlers.app import make_routers  # noqa: E402
from handlers.router import diagram  # noqa: E402

OUT = ROOT / "docs" / "conversations"


def main() -> None:
    for router in make_routers():
        for conv in router.conversations.values():
            path = OUT / f"{conv.name}.mmd"
            path.write_text(diagram(conv), encoding="utf-8")
            print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
