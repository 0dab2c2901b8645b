"""/start, /help, /lang, /cancel: what everyone can do."""

from handlers.core.commands import make_router

__all__ = ["make_router"]
