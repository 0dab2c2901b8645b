"""A case's state in words a reporter understands, and when to check back."""

from __future__ import annotations

from handlers.context import Context
from handlers.i18n import N_
from handlers.policy import load_policy
from handlers.workdays import add_working_days
from storage.models import Case, CaseState

S = CaseState
STATUS_WORDS = {
    S.received.value: N_("Received: it is waiting to be accepted."),
    S.accepted.value: N_("Accepted: it will be handled."),
    S.forwarded.value: N_("Accepted and passed on to the body responsible for it."),
    S.assigned.value: N_("Being handled."),
    S.acknowledged.value: N_("Being handled."),
    S.disposed.value: N_("Being handled."),
    S.filed.value: N_("Being handled."),
    S.concluded.value: N_("Concluded: the handling is finished; the result will be given as feedback."),
    S.feedback_given.value: N_("Concluded, and feedback on the result has been given."),
}
DEFAULT_ACCEPT_DAYS = 5


def status_text(ctx: Context, case: Case) -> str:
    return ctx._(STATUS_WORDS.get(case.state, STATUS_WORDS[S.assigned.value]))


async def check_back_hint(ctx: Context, case: Case) -> str:
    """Anonymous reporters are never pushed anything, so tell them when to look again."""
    policy = load_policy(ctx.config.policy_file)
    tz = ctx.config.tz
    if case.state == S.received.value:
        rules = policy.for_trigger("case:received", source=case.source, named=False)
        days = rules[0][1].working_days if rules else DEFAULT_ACCEPT_DAYS
        due = add_working_days(case.created_at, days, tz)
        return ctx._("We will not send you messages. Please check back with /check and your receipt after {date} "
                     "(it should be accepted within {days} working days).").format(
            date=due.astimezone(tz).strftime("%Y-%m-%d"), days=days)
    due = add_working_days(ctx.clock.now(), DEFAULT_ACCEPT_DAYS, tz)
    return ctx._("We will not send you messages. Please check back with /check and your receipt after {date}, "
                 "or sooner to see whether we have asked you something.").format(
        date=due.astimezone(tz).strftime("%Y-%m-%d"))
