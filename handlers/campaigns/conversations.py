"""Campaign conversations, each one step table (diagrams in docs/conversations/): a new
campaign, changing its subgroups, reporting progress, rating."""

from __future__ import annotations

import enum
from datetime import date, timedelta

from sqlalchemy import select

from handlers import inputs
from handlers.campaigns import service
from handlers.campaigns.replies import campaign_of, finish
from handlers.campaigns.service import KIND_WORDS, TASK_WORDS, Denied, Problem, TargetSpec
from handlers.campaigns.views import not_found, show_proposal
from handlers.context import Context
from handlers.router import Conversation, Step
from storage.models import Campaign, CampaignKind, CampaignTask, Case, JointGroup, Staff

TTL = timedelta(hours=2)
SHARES = ("0", "10", "20", "30")


class NW(enum.Enum):
    title = "title"
    kind = "kind"
    group = "group"
    targets = "targets"
    dates = "dates"
    subgroups = "subgroups"
    share = "share"


class NewCampaign(Conversation):
    """title → kind → organising group → targets → dates → subgroups → liaison share."""

    name = "campaign_new"
    Steps = NW
    first = NW.title
    begin_label = "/campaign_new"
    notes = ("A supervisor creates a campaign (/campaign_new). /cancel ends it from any state.",)

    async def start(self, ctx: Context) -> None:
        await self.open(ctx, ttl=TTL)

    async def ask_title(self, ctx: Context) -> None:
        ctx.reply(ctx._("Title of the campaign?"))

    async def ask_kind(self, ctx: Context) -> None:
        ctx.reply(ctx._("What kind of campaign?"), buttons=[[ctx.button(ctx._(w), k)] for k, w in KIND_WORDS.items()])

    async def ask_group(self, ctx: Context) -> None:
        groups = (await ctx.session.scalars(select(JointGroup).order_by(JointGroup.id))).all()
        ctx.reply(ctx._("Which joint group organises it? Its offices provide the people."),
                  buttons=[[ctx.button(g.name_for(ctx.lang), f"g:{g.id}")] for g in groups])

    async def ask_targets(self, ctx: Context) -> None:
        ctx.reply(ctx._("Targets, one per line (or separated by commas): a region or a unit by name, or "
                        "'project name @ region'."))

    async def ask_dates(self, ctx: Context) -> None:
        ctx.reply(ctx._("First and last day, e.g. 2026-12-01 2026-12-14"))

    async def ask_subgroups(self, ctx: Context) -> None:
        ctx.reply(ctx._("How many subgroups? (a number)"))

    async def ask_share(self, ctx: Context) -> None:
        ctx.reply(ctx._("At most what share of each subgroup may be local liaisons?"),
                  buttons=[[ctx.button(f"{s}%", s) for s in SHARES]])

    async def on_title(self, ctx: Context) -> None:
        if (title := inputs.typed(ctx)) is None:
            return
        ctx.state.data["title"] = title[:200]
        await self.go(ctx, NW.kind)

    async def on_kind(self, ctx: Context) -> None:
        if (kind := inputs.chosen(ctx, KIND_WORDS)) is None:
            return
        ctx.state.data["kind"] = kind
        await self.go(ctx, NW.group)

    async def on_group(self, ctx: Context) -> None:
        v = ctx.button_value or ""
        group = inputs.number_in(v[2:], digits=12) if v.startswith("g:") else None
        if group is None:
            ctx.reply(ctx._(inputs.CHOOSE))
            return
        ctx.state.data["group"] = group
        await self.go(ctx, NW.targets)

    async def on_targets(self, ctx: Context) -> None:
        parts = [p.strip() for p in (ctx.text or "").replace("，", ",").replace("\n", ",").split(",") if p.strip()]
        found, unknown = [], []
        for p in parts:
            t = await service.resolve_target(ctx.session, p)
            if t is None:
                unknown.append(p)
            else:
                found.append([t.kind, t.name, t.region_id, t.unit_id])
        if unknown or not found:
            ctx.reply(ctx._("Not found: {names}. Please type the targets again.").format(
                names="、".join(unknown) or "-"))
            return
        ctx.state.data["targets"] = found
        await self.go(ctx, NW.dates)

    async def on_dates(self, ctx: Context) -> None:
        try:
            a, b = (date.fromisoformat(x) for x in (ctx.text or "").split())
        except ValueError:
            ctx.reply(ctx._("Please type two dates like 2026-12-01 2026-12-14."))
            return
        if b < a:
            ctx.reply(ctx._("The last day must not be before the first."))
            return
        ctx.state.data["dates"] = [a.isoformat(), b.isoformat()]
        await self.go(ctx, NW.subgroups)

    async def on_subgroups(self, ctx: Context) -> None:
        most = len(ctx.state.data["targets"])
        again = ctx._("Please type a number from 1 to {n} (one subgroup per target at most).").format(n=most)
        if (n := inputs.whole_number(ctx, again, low=1, high=most)) is None:
            return
        ctx.state.data["subgroups"] = n
        await self.go(ctx, NW.share)

    async def on_share(self, ctx: Context) -> None:
        if (share := inputs.chosen(ctx, SHARES)) is None:
            return
        d = ctx.state.data

        async def act(staff: Staff) -> None:
            c = await service.create(
                ctx.uow, staff, title=d["title"], kind=CampaignKind(d["kind"]), joint_group_id=d["group"], organiser="",
                starts_on=date.fromisoformat(d["dates"][0]), ends_on=date.fromisoformat(d["dates"][1]),
                subgroups=d["subgroups"], liaison_share=int(share) / 100,
                targets=[TargetSpec(*t) for t in d["targets"]])
            ctx.reply(ctx._("Campaign {ref} created; the subgroups below are proposed.").format(ref=c.reference))
            await show_proposal(ctx, c)

        await finish(ctx, act)

    steps = {
        NW.title: Step(on_title, ask_title, goes={NW.kind: "title typed"}),
        NW.kind: Step(on_kind, ask_kind, back=NW.title, goes={NW.group: "kind chosen"}),
        NW.group: Step(on_group, ask_group, back=NW.kind, goes={NW.targets: "group chosen"}),
        NW.targets: Step(on_targets, ask_targets, back=NW.group, goes={NW.targets: "unknown target",
                                                                         NW.dates: "targets found"}),
        NW.dates: Step(on_dates, ask_dates, back=NW.targets, goes={NW.subgroups: "dates typed"}),
        NW.subgroups: Step(on_subgroups, ask_subgroups, back=NW.dates, goes={NW.share: "number typed"}),
        NW.share: Step(on_share, ask_share, back=NW.subgroups, ends="share chosen (created, subgroups proposed)"),
    }


class ED(enum.Enum):
    edit = "edit"


class SubgroupEditor(Conversation):
    """'N +LOGIN', 'N -LOGIN', 'N lead LOGIN', 'N liaison LOGIN'; then confirm."""

    name = "campaign_edit"
    Steps = ED
    first = ED.edit
    begin_label = "Change the subgroups (on /campaign)"
    notes = ("Changing a campaign's proposed subgroups; each change is checked and audited.",)

    async def start(self, ctx: Context, c: Campaign) -> None:
        ctx.state.begin(self.name, ED.edit.value, ttl=TTL, data={"campaign_id": c.id})
        await self.show(ctx, c)

    async def show(self, ctx: Context, c: Campaign) -> None:
        await show_proposal(ctx, c, exclusions=False)
        ctx.reply(ctx._("Type 'N +LOGIN' to add someone to subgroup N, 'N -LOGIN' to remove, 'N lead LOGIN', "
                        "'N liaison LOGIN'."),
                  buttons=[[ctx.button(ctx._("✔ Confirm the subgroups"), "confirm"), ctx.button(ctx._("✖ Cancel"), "cancel")]])

    async def on_edit(self, ctx: Context) -> None:
        _ = ctx._
        c = await ctx.session.get(Campaign, ctx.state.data["campaign_id"])
        staff = ctx.require_staff()
        if c is None or ctx.button_value == "cancel":
            await self.cancel(ctx)
            return
        try:
            if ctx.button_value == "confirm":
                n = await service.confirm(ctx.uow, staff, c)
                ctx.state.end()
                ctx.reply(_("Campaign {ref} confirmed; {n} members have been notified.").format(ref=c.reference, n=n))
                return
            words = (ctx.text or "").split()
            if len(words) == 3 and words[1].lower() in ("lead", "liaison"):
                op, login = words[1].lower(), words[2]
            elif len(words) == 2 and words[1][:1] in "+-":
                op, login = words[1][:1], words[1][1:]
            else:
                ctx.reply(_("I did not understand that, or there is no staff member with that login."))
                return
            number = inputs.number_in(words[0])
            if number is None:
                ctx.reply(_("I did not understand that, or there is no staff member with that login."))
                return
            person = await service.change(ctx.uow, staff, c, number, op, login)
        except Denied:
            ctx.state.end()
            not_found(ctx, "")
            return
        except Problem as p:
            if p.code == "conflict":
                reasons = p.info.get("reasons")
                ctx.reply(_("{login} cannot be in subgroup {n}: {why}.").format(
                    login=p.info.get("login"), n=(ctx.text or "").split()[0],
                    why=service.reasons_text(_, reasons if isinstance(reasons, list) else [])))
            elif p.code == "no_lead":
                groups = p.info.get("groups")
                ctx.reply(_("Every subgroup needs a lead: {groups}.").format(
                    groups="、".join(str(g) for g in groups) if isinstance(groups, list) else ""))
            else:
                ctx.reply(_("I did not understand that, or there is no staff member with that login."))
            return
        ctx.reply(_("Changed: {name} [{login}].").format(name=person.name, login=person.login))
        await ctx.session.refresh(c, ["subgroups"])
        await self.show(ctx, c)

    steps = {
        ED.edit: Step(on_edit, goes={ED.edit: "N +LOGIN / N -LOGIN / N lead LOGIN / N liaison LOGIN (conflicts "
                                               "refused, named)"},
                      ends="Confirm (tasks and deadlines, members notified) / Cancel"),
    }


class PR(enum.Enum):
    task = "task"
    number = "number"
    note = "note"
    done = "done"


class Progress(Conversation):
    """A member reports on a task in a few taps: task → number → note or file → finished?"""

    name = "campaign_progress"
    Steps = PR
    first = PR.task
    begin_label = "Report progress (notice or /campaign)"
    notes = ("A member reports progress on a campaign task; a clue handed over becomes a case.",)

    async def start(self, ctx: Context, member_id: int) -> None:
        staff = ctx.require_staff()
        try:
            c, sg, tasks = await service.member_tasks(ctx.uow, staff, member_id)
        except Denied:
            not_found(ctx, "")
            return
        ctx.state.begin(self.name, PR.task.value, ttl=TTL, data={"member_id": member_id})
        names = await service.target_names(ctx.session, [tg for _t, tg in tasks], ctx.lang)
        ctx.reply(ctx._("Campaign {ref}, subgroup {n}: which task?").format(ref=c.reference, n=sg.number),
                  buttons=[[ctx.button(f"{names[tg.id]} · {ctx._(TASK_WORDS[t.kind])}" + (" ✔" if t.done_at else ""),
                                       str(t.id))] for t, tg in tasks])

    async def ask_number(self, ctx: Context) -> None:
        ctx.reply(ctx._("How many? (a number: reports collected, people talked to, problems found or clues)"))

    async def ask_note(self, ctx: Context) -> None:
        inputs.ask_with_skip(ctx, ctx._("A short note, or send a file (for a clue: what it is about; it becomes a case)."))

    async def ask_done(self, ctx: Context) -> None:
        ctx.reply(ctx._("Is this task finished?"), buttons=[[ctx.button(ctx._("Yes, finished"), "yes"),
                                                              ctx.button(ctx._("Not yet"), "no")]])

    async def on_task(self, ctx: Context) -> None:
        task_id = inputs.number_in(ctx.button_value, digits=12)
        task = await ctx.session.get(CampaignTask, task_id) if task_id is not None else None
        if task is None:
            ctx.reply(ctx._(inputs.CHOOSE))
            return
        ctx.state.data["task_id"] = task.id
        await self.go(ctx, PR.number)

    async def on_number(self, ctx: Context) -> None:
        if (n := inputs.whole_number(ctx, ctx._("Please type a whole number (0 if none)."))) is None:
            return
        ctx.state.data["number"] = n
        await self.go(ctx, PR.note)

    async def on_note(self, ctx: Context) -> None:
        f = ctx.attachment
        if f is not None and f.data is not None:
            ctx.state.secret["file"] = [f.filename, f.content_type, f.data.hex()]
        elif (note := inputs.note_or_skip(ctx)) is None:
            return
        elif note:
            ctx.state.secret["note"] = note
        await self.go(ctx, PR.done)

    async def on_done(self, ctx: Context) -> None:
        if (finished := inputs.chosen(ctx, ("yes", "no"))) is None:
            return
        d, s = ctx.state.data, ctx.state.secret
        f = s.get("file")
        note = s.get("note") or ""

        async def act(staff: Staff) -> None:
            r = await service.report(ctx.uow, staff, d["task_id"], number=d["number"], note=note,
                                     file=(f[0], f[1], bytes.fromhex(f[2])) if f else None,
                                     done=finished == "yes")
            ctx.reply(ctx._("Recorded. Thank you."))
            if r.case_id is not None:
                case = await ctx.session.get(Case, r.case_id)
                ctx.reply(ctx._("The clue was opened as case {ref} and routed.").format(ref=case.reference if case else "-"))

        await finish(ctx, act, problem=ctx._("The campaign is not running; nothing was recorded."))

    steps = {
        PR.task: Step(on_task, goes={PR.number: "task chosen"}),
        PR.number: Step(on_number, ask_number, back=PR.task, goes={PR.note: "number typed"}),
        PR.note: Step(on_note, ask_note, back=PR.number, goes={PR.done: "note, file or Skip"}),
        PR.done: Step(on_done, ask_done, back=PR.note, ends="finished or not (recorded; a clue becomes a case)"),
    }


class RT(enum.Enum):
    scores = "scores"
    note = "note"


class Rate(Conversation):
    """双向评估: three scores 1–5, then an optional note."""

    name = "campaign_rate"
    Steps = RT
    first = RT.scores
    begin_label = "/campaign_rate REF N"
    notes = ("Two-way evaluation: the host rates a subgroup, a subgroup lead rates the host.",)

    async def start(self, ctx: Context, c: Campaign, number: int, direction: str) -> None:
        await self.open(ctx, ttl=TTL, data={"campaign_id": c.id, "n": number, "dir": direction})

    async def ask_scores(self, ctx: Context) -> None:
        ctx.reply(ctx._("Three scores from 1 to 5, separated by spaces: quality of problems found, working ability, "
                        "discipline and conduct (e.g. 4 5 4)."))

    async def ask_note(self, ctx: Context) -> None:
        inputs.ask_with_skip(ctx, ctx._("A note, if you wish."))

    async def on_scores(self, ctx: Context) -> None:
        scores = inputs.numbers_in(ctx.text, 3, 1, 5)
        if scores is None:
            ctx.reply(ctx._("Please type three whole numbers from 1 to 5, e.g. 4 5 4."))
            return
        ctx.state.data["scores"] = scores
        await self.go(ctx, RT.note)

    async def on_note(self, ctx: Context) -> None:
        if (note := inputs.note_or_skip(ctx)) is None:
            return
        d = ctx.state.data

        async def act(staff: Staff) -> None:
            await service.evaluate(ctx.uow, staff, await campaign_of(ctx, d["campaign_id"]), d["n"], d["dir"],
                                   d["scores"], note)
            ctx.reply(ctx._("Thank you; the rating was recorded."))

        await finish(ctx, act, problem=ctx._("Ratings are given once the campaign has ended."))

    steps = {
        RT.scores: Step(on_scores, ask_scores, goes={RT.note: "three scores typed"}),
        RT.note: Step(on_note, ask_note, back=RT.scores, ends="note or Skip (recorded)"),
    }


NEW = NewCampaign()
EDITOR = SubgroupEditor()
PROGRESS = Progress()
RATE = Rate()
CONVERSATIONS: tuple[Conversation, ...] = (NEW, EDITOR, PROGRESS, RATE)

