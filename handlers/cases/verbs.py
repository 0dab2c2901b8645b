"""The case action buttons (``a:case:<id>.<verb>``): one table of what each verb needs from the
access policy and what it does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from handlers.access import Action
from handlers.cases import evidence, extensions, routing, service, team, transfers
from handlers.cases.conversations import CASE_INPUT, CI, INTAKE, TEAM_EDITOR
from handlers.cases.replies import propose_team, show_case
from handlers.cases.views import DISPOSAL_WORDS
from handlers.context import Context
from storage.models import Case, Disposal, Staff

Run = Callable[[Context, Staff, Case], Awaitable[None]]


@dataclass(frozen=True)
class Verb:
    need: Action
    run: Run


async def _view(ctx: Context, staff: Staff, case: Case) -> None:
    await show_case(ctx, case)


async def _accept(ctx: Context, staff: Staff, case: Case) -> None:
    await service.accept(ctx.uow, staff, case)
    ctx.reply(ctx._("Case {ref} accepted (已受理). Next: propose a team.").format(ref=case.reference),
              buttons=[[ctx.action(ctx._("Propose a team"), "case", f"{case.id}.team")]])


def _input(step: CI) -> Run:
    async def run(ctx: Context, staff: Staff, case: Case) -> None:
        await CASE_INPUT.start(ctx, case, step)

    return run


async def _team(ctx: Context, staff: Staff, case: Case) -> None:
    await propose_team(ctx, case)


async def _team_ok(ctx: Context, staff: Staff, case: Case) -> None:
    p = await routing.propose(ctx.uow, case)
    if p.problem or p.lead_id is None:
        await propose_team(ctx, case)
        return
    await service.confirm_team(ctx.uow, staff, case, lead_id=p.lead_id, member_ids=p.member_ids, proposal=p.to_json())
    ctx.reply(ctx._("Team confirmed for case {ref}; the members have been notified.").format(ref=case.reference))


async def _team_edit(ctx: Context, staff: Staff, case: Case) -> None:
    await TEAM_EDITOR.start(ctx, case, await routing.propose(ctx.uow, case))


def _dispose(d: Disposal) -> Run:
    async def run(ctx: Context, staff: Staff, case: Case) -> None:
        await service.dispose(ctx.uow, staff, case, d)
        ctx.reply(ctx._("Disposal recorded for case {ref}: {d}.").format(ref=case.reference, d=ctx._(DISPOSAL_WORDS[d.value])))

    return run


async def _file(ctx: Context, staff: Staff, case: Case) -> None:
    await service.file_case(ctx.uow, staff, case)
    ctx.reply(ctx._("Case {ref} filed (已立案).").format(ref=case.reference))


async def _history(ctx: Context, staff: Staff, case: Case) -> None:
    from handlers.cases.casework import history_lines

    await service.log(ctx.uow, staff, case, "history", ctx.clock.now())
    ctx.reply("\n".join(await history_lines(ctx, case)))


async def _feedback(ctx: Context, staff: Staff, case: Case) -> None:
    await service.feedback_given(ctx.uow, staff, case)
    ctx.reply(ctx._("Recorded that the reporter was informed for case {ref}.").format(ref=case.reference))


async def _unit(ctx: Context, staff: Staff, case: Case) -> None:
    await INTAKE.start(ctx, case.id, change=True)


async def _files(ctx: Context, staff: Staff, case: Case) -> None:
    await evidence.show_files(ctx, staff, case)


async def _attach(ctx: Context, staff: Staff, case: Case) -> None:
    await evidence.ADD_MATERIAL.start(ctx, case)


VERBS: dict[str, Verb] = {
    "view": Verb(Action.view, _view),
    "accept": Verb(Action.accept, _accept),
    "forward": Verb(Action.accept, _input(CI.forward_body)),
    "team": Verb(Action.propose_team, _team),
    "team_ok": Verb(Action.confirm_team, _team_ok),
    "team_edit": Verb(Action.confirm_team, _team_edit),
    "file": Verb(Action.dispose, _file),
    "conclude": Verb(Action.dispose, _input(CI.conclude_n)),
    "feedback": Verb(Action.dispose, _feedback),
    "ask": Verb(Action.ask_reporter, _input(CI.ask_text)),
    "note": Verb(Action.note, _input(CI.note_text)),
    "unit": Verb(Action.change_unit, _unit),
    # 延期 / 中止 (handlers.cases.extensions)
    "extend": Verb(Action.dispose, extensions.verb_extend),
    "suspend": Verb(Action.dispose, extensions.verb_suspend),
    "resume": Verb(Action.dispose, extensions.verb_resume),
    "req_ok": Verb(Action.approve, extensions.verb_approve),
    "req_no": Verb(Action.approve, extensions.verb_refuse),
    # 提级 / 下转 (handlers.cases.transfers)
    "up": Verb(Action.accept, transfers.verb_up),
    "down": Verb(Action.approve, transfers.verb_down),
    # 回避 from inside the case, and its replacement (handlers.cases.team)
    "recuse": Verb(Action.acknowledge, team.verb_recuse),
    "replace": Verb(Action.confirm_team, team.verb_replace),
    "history": Verb(Action.view_content, _history),
    "reveal": Verb(Action.reveal_reporter, _input(CI.reveal_reason)),
    "files": Verb(Action.view_content, _files),
    "attach": Verb(Action.note, _attach),
    **{f"disp_{d.value}": Verb(Action.dispose, _dispose(d)) for d in Disposal},
}
