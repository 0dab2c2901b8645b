"""Every step of every conversation (enumerated from the step tables in handlers/router.py) is
reached by seeded walks — plausible input to move on, hostile input at each stop — and no input
anywhere gets the generic error, on either database. Steps a random walk would reach only by chance
(a choice among several units, a request to refuse, a named reporter to reveal) get a directed walk
that enters them on purpose first. A step no walk reaches, or that never takes hostile input, fails
the test, so a new step cannot slip past the fuzzing."""

from __future__ import annotations

import asyncio
import random
import re
import uuid

from sqlalchemy import select

from bot.channels.registry import platform_notes
from handlers.app import make_deps, make_dispatcher, make_routers
from handlers.clock import ManualClock
from handlers.deps import Deps
from handlers.events import Reply
from handlers.i18n import N_
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker
from storage.models import (
    Assignment,
    AssignmentMember,
    Campaign,
    Case,
    ConflictDeclaration,
    ConversationState,
    Staff,
    SubgroupMember,
)
from tests.campaigns.conftest import TARGETS
from tests.cases.test_feedback import named_tip
from tests.conftest import bind_staff, make_config
from tests.fakes import Chat, button_value
from tests.reporter.conftest import file_anonymous_tip, to_files_step
from tests.test_bad_input import generic
from tests.test_fuzz_inputs import FORGED, NASTY

ROUNDS = 6  # batches of walks (one per conversation entry each): a count, so coverage is the same anywhere
GOOD = ["10", "3", "1", "2", "需要调取银行流水", "涉及多个联组，需上级统筹", "交通警察", "财政", "张某，副总队长",
        "他收受好处费。", "王五", "13800000000", "省市场监督管理局", "2026-12-01 2026-12-14", "东州市, 西陵市",
        "2026年度交叉巡察", "4 5 4", "+o20-f1 熟悉财务审计", "1 +o09-f1", "具体金额是多少？", "已核实", "予以了结"]


VERBS = ["view", "accept", "forward", "team", "team_ok", "team_edit", "file", "conclude", "feedback", "ask", "note",
         "unit", "extend", "suspend", "resume", "req_ok", "req_no", "up", "down", "recuse", "replace", "history",
         "reveal", "files", "attach"]


Move = tuple[str | None, str, str]  # (staff login or None for a reporter, "text" | "button" | "press", value)
Walk = list[Move]  # the moves that open the walk; the last mover's chat is then fuzzed


def on_token(rng: random.Random, data: str) -> str:
    """A value no button offered, on the open conversation's real token: what a modified client
    can send (Telegram passes on any callback data)."""
    token, _sep, value = data[2:].partition(":")
    head, colon, _tail = value.rpartition(":")
    junk = rng.choice(["", "x", "-1", "0", "1,1", "1.5", "999999999", " 1", "done", "submit", "skip", "own"])
    return f"c:{token}:" + rng.choice([junk, re.sub(r"\d+", junk or "x", value), head + colon + junk, f"{value}:{junk}"])


def all_steps() -> set[tuple[str, str]]:
    return {(conv.name, s.value) for r in make_routers() for conv in r.conversations.values() for s in conv.steps}


class World:
    """The demo organisation with: a tip in intake, a case with a confirmed team, a running campaign."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.receipt = ""
        self.starts: list[Walk] = []
        self.entries: list[list[Walk]] = []
        self.directed: dict[tuple[str, str], Walk] = {}  # a step → the moves that enter it on purpose

    async def seed(self, deps: Deps) -> None:
        chat = Chat(dispatcher=make_dispatcher(deps), external_id="seed-rep")
        self.receipt = await file_anonymous_tip(chat)
        intake = Chat(dispatcher=make_dispatcher(deps), external_id="seed-intake")
        await to_files_step(intake, "某个单位的问题")
        await intake.press(N_("Skip"))
        await intake.press(N_("Anonymous"))
        await intake.press(N_("✔ Submit"))
        await file_anonymous_tip(Chat(dispatcher=make_dispatcher(deps), external_id="seed-rep2"))
        await named_tip(Chat(dispatcher=make_dispatcher(deps), external_id="seed-named"))
        async with deps.sessionmaker() as s:
            cases = (await s.scalars(select(Case).order_by(Case.id))).all()
        worked, in_intake, fresh, named = cases[0], cases[1], cases[2], cases[3]
        await bind_staff(deps, "o02-lead", "seed-lead")
        lead = Chat(dispatcher=make_dispatcher(deps), external_id="seed-lead")
        await lead.send(f"/case {worked.reference}")
        await lead.press(N_("Accept (受理)"))
        await lead.press(N_("Propose a team"))
        await lead.press(N_("✔ Confirm"))
        await lead.send(f"/case {named.reference}")  # a team whose lead may reveal the named reporter
        await lead.press(N_("Accept (受理)"))
        await lead.press(N_("Propose a team"))
        await lead.press(N_("✔ Confirm"))
        await lead.send(f"/case {worked.reference}")
        await lead.send(None, button=f"a:case:{worked.id}.ask")
        await lead.send("具体金额是多少？")  # the reporter has a question to answer (/check)
        await bind_staff(deps, "sup1", "seed-sup")
        sup = Chat(dispatcher=make_dispatcher(deps), external_id="seed-sup")
        from tests.campaigns.conftest import create_by_chat

        campaign = await create_by_chat(sup, deps)
        await sup.press_value(f"{campaign.id}.confirm")
        async with deps.sessionmaker() as s:
            team, named_team = [(await s.execute(select(Staff.login, AssignmentMember.role).join(
                AssignmentMember, AssignmentMember.staff_id == Staff.id).join(
                Assignment, Assignment.id == AssignmentMember.assignment_id).where(
                Assignment.case_id == case.id, Assignment.status == "confirmed"))).all() for case in (worked, named)]
            c_member = (await s.execute(select(Staff.login, SubgroupMember.id).join(
                SubgroupMember, SubgroupMember.staff_id == Staff.id).where(SubgroupMember.role == "lead")
                .limit(1))).one()
            campaign = await s.get(Campaign, campaign.id)
        async with deps.sessionmaker() as s, s.begin():  # a declaration waiting for an administrator
            declarant = await s.scalar(select(Staff.id).where(Staff.login == "o03-f1"))
            pending = ConflictDeclaration(staff_id=declarant, person_name="王某", kind="relative", reason="表兄",
                                          status="pending", declared_at=deps.clock.now())
            s.add(pending)
            await s.flush()
            pending_id = pending.id
        team_lead = next(login for login, role in team if role == "lead")
        member = next(login for login, role in team if role == "member")
        named_lead = next(login for login, role in named_team if role == "lead")
        proposed = await create_by_chat(sup, deps)  # left proposed: its subgroups can be edited
        ended = await create_by_chat(sup, deps)
        await sup.press_value(f"{ended.id}.confirm")
        await sup.send(f"/campaign {ended.reference}")
        await sup.press_value(f"{ended.id}.end")
        w, f = worked.id, fresh.id
        # One list per conversation, taken in turn, so that every conversation gets walks.
        entries: list[list[tuple[str | None, str, bool]]] = [
            [(None, "/report", False)],
            [(None, f"/check {self.receipt}", False), (None, "/check", False)],
            [(team_lead, f"a:case:{w}.ask", True), (team_lead, f"a:case:{w}.note", True),
             ("o02-lead", f"a:case:{f}.forward", True), (team_lead, f"a:case:{w}.conclude", True),
             (team_lead, f"a:case:{w}.reveal", True)],
            [("o02-lead", f"a:case:{w}.team_edit", True), ("o02-lead", f"a:case:{w}.replace", True)],
            [("sup1", "/new", False), ("o02-lead", "/new", False)],
            [("sup1", f"a:intake:{in_intake.id}", True), ("sup1", "/intake", False)],
            [(team_lead, f"a:case:{w}.extend", True), (team_lead, f"a:case:{w}.suspend", True),
             ("sup1", f"a:case:{w}.req_no", True)],
            [("o02-lead", f"a:case:{f}.up", True), ("sup1", f"a:case:{f}.down", True)],
            [(member, f"a:case:{w}.recuse", True)],
            [(member, f"a:case:{w}.attach", True)],
            [("sup1", "/campaign_new", False)],
            [(member, "/conflict", False), ("o02-lead", "/conflict", False)],
            [("admin", f"a:conflict:{pending_id}.no", True)],
            [("sup1", f"a:cedit:{proposed.id}.edit", True)],
            [(c_member[0], f"a:cprog:{c_member[1]}", True)],
            [("sup1", f"/campaign_rate {ended.reference} 1", False), ("sup1", f"/campaign_rate {ended.reference} 2", False)],
            [(who, f"a:case:{cid}.{v}", True) for who in ("sup1", team_lead) for cid in (w, f) for v in VERBS],
        ]
        self.entries = [[[(who, "button" if is_button else "text", first)] for who, first, is_button in e]
                        for e in entries]
        self.starts = [e[k % len(e)] for k in range(40) for e in self.entries]
        to_subgroups: Walk = [("sup1", "text", "/campaign_new"), ("sup1", "text", "2026年度交叉巡察"),
                              ("sup1", "press", "cross_inspection"), ("sup1", "press", f"g:{campaign.joint_group_id}"),
                              ("sup1", "text", TARGETS), ("sup1", "text", "2026-12-01 2026-12-14")]
        extend: Walk = [(team_lead, "button", f"a:case:{w}.extend"), (team_lead, "text", "3")]
        # In this order on one copy: the extension asked for is the request refused; the case is
        # concluded (or refused as not yet disposed) last.
        self.directed = {
            ("check", "add_text"): [(None, "text", f"/check {self.receipt}"), (None, "press", "add_text")],
            ("check", "add_file"): [(None, "text", f"/check {self.receipt}"), (None, "press", "add_file")],
            ("report", "pick_unit"): [(None, "text", "/report"), (None, "text", "交通警察")],
            ("material", "material"): [(member, "button", f"a:case:{w}.attach")],
            ("caseinput", "reveal_reason"): [(named_lead, "button", f"a:case:{named.id}.reveal")],
            ("casereq", "ext_reason"): extend,
            ("casereq", "refuse_reason"): [*extend, (team_lead, "text", "需要调取银行流水"),
                                           ("sup1", "button", f"a:case:{w}.req_no")],
            ("caseinput", "conclude_result"): [(team_lead, "button", f"a:case:{w}.conclude"), (team_lead, "text", "0")],
            ("caseinput", "forward_reason"): [("o02-lead", "button", f"a:case:{f}.forward"),
                                              ("o02-lead", "text", "省市场监督管理局")],
            ("conflict", "person"): [(member, "text", "/conflict"), (member, "press", "person")],
            ("campaign_new", "subgroups"): to_subgroups,
            ("campaign_new", "share"): [*to_subgroups, ("sup1", "text", "2")],
        }


async def _seed(url: str) -> World:
    engine = make_engine(url)
    try:
        cfg = make_config(url)
        deps = make_deps(cfg, make_sessionmaker(engine), ManualClock(), Sealer(cfg.keyring),
                         platform_notes=platform_notes())
        world = World(url)
        await world.seed(deps)
        return world
    finally:
        await engine.dispose()


async def _walks(url: str, walks: list[tuple[tuple[str, str] | None, Walk]], rng: random.Random,
                 seen: set[tuple[str, str]], hostile_at: dict[tuple[str, str], int]) -> list[str]:
    """Walks on one copy of the seeded world (walks change it: a case accepted, a campaign ended).
    A walk with a target step must stand in it once its opening moves are made."""
    engine = make_engine(url)
    failures: list[str] = []
    try:
        cfg = make_config(url)
        deps = make_deps(cfg, make_sessionmaker(engine), ManualClock(), Sealer(cfg.keyring),
                         platform_notes=platform_notes())
        dispatcher = make_dispatcher(deps)
        for target, opening in walks:
            numbered = rng.random() < 0.3
            chats: dict[str | None, Chat] = {}
            for who, kind, value in opening:
                if who not in chats:
                    chats[who] = Chat(dispatcher=dispatcher, external_id=f"walk-{uuid.uuid4().hex[:8]}",
                                      numbered_menus=numbered)
                    if who:
                        await bind_staff(deps, who, chats[who].external_id)
                c = chats[who]
                if kind == "press":
                    data = next((b.data for r in c.history[-2:] for b in r.flat_buttons()
                                 if button_value(b.data) == value), None)
                    if data is None:
                        failures.append(f"{who}: no button {value!r} after {[h.text[:40] for h in c.history[-2:]]}")
                        break
                    await _send(c, data, True, failures, who)
                else:
                    await _send(c, value, kind == "button", failures, who)
            if target is not None and (arrived := await _state(deps, c)) != target:
                failures.append(f"the walk to {target} stopped at {arrived}: {[h.text[:60] for h in c.history[-2:]]}")
            for _ in range(16):
                here = await _state(deps, c)
                if here is None:
                    break
                seen.add(here)
                # Hostile input at this stop, then plausible input to move on.
                bad = rng.choice(NASTY + FORGED)
                shown = [b.data for r in c.history[-2:] for b in r.flat_buttons() if b.data.startswith("c:")]
                if shown and rng.random() < 0.25:
                    await _send(c, on_token(rng, rng.choice(shown)), True, failures, who)
                else:
                    await _send(c, bad, bad in FORGED, failures, who)
                hostile_at[here] = hostile_at.get(here, 0) + 1
                buttons = [b for r in c.history[-2:] for b in r.flat_buttons()]
                inside = [b for b in buttons if b.data.startswith("c:") and not b.data.endswith((":cancel", ":back"))]
                if inside and rng.random() < 0.75:
                    await _send(c, rng.choice(inside).data, True, failures, who)
                elif buttons and rng.random() < 0.3:
                    await _send(c, rng.choice(buttons).data, True, failures, who)
                else:
                    await _send(c, rng.choice(GOOD), False, failures, who)
                now = await _state(deps, c)
                if now is not None:
                    seen.add(now)
    finally:
        await engine.dispose()
    return failures


def _copy(templates, seeded: str) -> str:  # type: ignore[no-untyped-def]
    """A copy of the seeded database, as the fixtures copy their templates."""
    import shutil

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    u = make_url(seeded)
    if u.get_backend_name() == "sqlite":
        path = f"{u.database}.{uuid.uuid4().hex[:8]}"
        shutil.copyfile(u.database, path)  # type: ignore[arg-type]
        return f"sqlite+aiosqlite:///{path}"
    name = f"{u.database}_{uuid.uuid4().hex[:8]}"[:63]
    eng = templates._admin()
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{u.database}"'))
    eng.dispose()
    templates.created.append(name)
    return u.set(database=name).render_as_string(hide_password=False)


async def _state(deps: Deps, c: Chat) -> tuple[str, str] | None:
    from handlers.identity import sender_key

    async with deps.sessionmaker() as s:
        row = (await s.execute(select(ConversationState.conversation, ConversationState.step).where(
            ConversationState.key == sender_key(deps.config.salt, c.channel, c.external_id)))).first()
    return (row[0], row[1]) if row and row[0] else None


async def _send(c: Chat, value: str, is_button: bool, failures: list[str], who: str | None) -> None:
    replies: list[Reply] = await (c.send(None, button=value) if is_button else c.send(value))
    if any(generic(r.text) for r in replies):
        failures.append(f"{who}: {value!r} after {[h.text[:40] for h in c.history[-4:-1]]}")


def test_every_step_of_every_conversation_takes_hostile_input_without_the_generic_error(templates) -> None:  # type: ignore[no-untyped-def]
    seeded = templates.fresh("demo")
    world = asyncio.run(_seed(seeded))
    seen: set[tuple[str, str]] = set()
    hostile_at: dict[tuple[str, str], int] = {}
    failures: list[str] = []
    rng = random.Random(20261123)
    batch, i = len(world.entries), 0
    directed: list[tuple[tuple[str, str] | None, Walk]] = list(world.directed.items())
    for _round in range(ROUNDS):
        walks = directed + [(None, world.starts[(i + k) % len(world.starts)]) for k in range(batch)]
        i += batch
        failures += asyncio.run(_walks(_copy(templates, seeded), walks, rng, seen, hostile_at))
    assert failures == [], failures[:10]
    print(f"{len(seen)} steps reached, {sum(hostile_at.values())} hostile inputs at a step; fewest: "
          f"{sorted(hostile_at.items(), key=lambda kv: kv[1])[:8]}")
    assert sorted(all_steps() - seen) == []
    assert sorted(all_steps() - set(hostile_at)) == []
