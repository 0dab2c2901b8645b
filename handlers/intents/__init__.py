"""Words that are understood: free text that names what a command does ("我想举报", "本月办结了多少件？")
is answered as that command would be (grammar in ``grammar.py``, answers in ``answers.py``)."""

from __future__ import annotations

from handlers.intents.answers import understood
from handlers.router import Router


def make_router() -> Router:
    r = Router("intents")
    r.text_fallback(understood)
    return r
