"""The commands every person has, whatever they are."""

from __future__ import annotations

from handlers.context import Context
from handlers.i18n import N_, labelled
from handlers.router import Audience, Router
from storage.models import ChatPreference, Role

ROLE_NAMES = {
    Role.field: N_("field staff"),
    Role.lead: N_("team lead"),
    Role.supervisor: N_("supervisor"),
    Role.admin: N_("administrator"),
}


def make_router() -> Router:
    router = Router("core")

    @router.command("start", help=N_("Start over and see what I can do"), order=0)
    async def start(ctx: Context, args: str) -> None:
        _ = ctx._
        if ctx.actor.is_staff:
            staff = ctx.actor.staff
            assert staff is not None
            roles = "、".join(_(ROLE_NAMES[r]) for r in sorted(staff.roles, key=lambda r: r.value)) or _("staff")
            text = _("Hello {name} ({roles}). Here is what you can do:").format(name=staff.name, roles=roles)
        else:
            text = _(
                "Hello. I am Lianzu, the reporting assistant of the discipline inspection and supervision "
                "commission. You can report a problem here, with your name or anonymously, and later check "
                "on it with your receipt. What would you like to do?"
            )
        ctx.reply(text + "\n\n" + _help_lines(ctx, start=True), buttons=ctx.dispatcher.menu_buttons(ctx))

    @router.command("help", help=N_("List the commands"), order=80, menu=True)
    async def help_(ctx: Context, args: str) -> None:
        ctx.reply(_help_lines(ctx), buttons=ctx.dispatcher.menu_buttons(ctx))

    @router.command("lang", help=N_("Switch language"), order=90,
                    usage=N_("/lang zh or /lang en"))
    async def lang(ctx: Context, args: str) -> None:
        choice = {"zh": "zh_CN", "zh_cn": "zh_CN", "cn": "zh_CN", "中文": "zh_CN", "en": "en", "english": "en"}.get(
            args.strip().lower().replace("-", "_")
        )
        if choice is None:
            ctx.reply(ctx._("Please choose a language: /lang zh (中文) or /lang en (English). Nothing was changed."))
            return
        if ctx.actor.staff is not None:
            ctx.actor.staff.language = choice
        else:
            key = ctx.dispatcher.preference_key(ctx.event)
            pref = await ctx.session.get(ChatPreference, key)
            if pref is None:
                ctx.session.add(ChatPreference(key=key, language=choice))
            else:
                pref.language = choice
        ctx.lang = choice
        ctx.reply(ctx._("Language set to English.") if choice == "en" else ctx._("Language set to Chinese."))

    @router.command("cancel", help=N_("Cancel what you are doing"), order=91, audience=Audience.anyone)
    async def cancel(ctx: Context, args: str) -> None:
        conv = ctx.dispatcher.conversations.get(ctx.state.conversation or "")
        if conv is None:
            ctx.state.end()
            ctx.reply(ctx._("There is nothing to cancel."))
            return
        await conv.cancel(ctx)

    return router


def _help_lines(ctx: Context, *, start: bool = False) -> str:
    """The commands this person may use; the /start greeting leaves out those kept to /help."""
    lines = [ctx._("Commands:")]
    for spec in ctx.dispatcher.visible_commands(ctx):
        if start and not spec.on_start:
            continue
        usage = ctx._(spec.usage) if spec.usage else f"/{spec.name}"
        lines.append(labelled(ctx._, usage, (ctx._(spec.help) if spec.help else "")))
    return "\n".join(lines)


