"""Every step of every conversation (enumerated from the step tables in handlers/router.py) is
entered on purpose and given several hostile inputs — typed junk, forged buttons, values on the
step's own token, and files (all the hostile files where the step takes files) — and no input
anywhere gets the generic error, on either database. The way into each step is derived from its
table: the conversation's opening, then known good input along the shortest chain of ``goes``
edges; each step is fuzzed on its own copy of the seeded world (a fresh one whenever an input used
up what the walk needs), so adding inputs can never keep a step out. Every step is fuzzed twice: as
Telegram sends (buttons) and as WeCom without cards does (buttons shown as numbered text, the menu
answered by typed numbers: out of range, circled, superscript and full-width digits, numbers wrapped
in punctuation, huge, several, stale, and the good one). Seeded random walks then add chains of good
and bad input. An entry without an opening, a step no known input reaches, or a step with too few
hostile or numbered inputs fails the test, so a new step cannot slip past the fuzzing."""

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
from tests.test_fuzz_inputs import FILES, FORGED, NASTY

ROUNDS = 3  # batches of walks (one per conversation entry each): a count, so coverage is the same anywhere
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
        self.openings: dict[tuple[str, str], Walk] = {}
        self.advance: dict[tuple[str, str], dict[str, list[tuple[str, str]]]] = {}

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
            group_id = await s.scalar(select(Campaign.joint_group_id).where(Campaign.id == campaign.id))
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
        # How each conversation is entered: one opening per entry step of its table (checked
        # against conv.entries() by the test, so a new entry without an opening fails).
        ask_ext: Walk = [(team_lead, "button", f"a:case:{w}.extend"), (team_lead, "text", "3"),
                         (team_lead, "text", "需要调取银行流水")]
        self.openings = {
            ("report", "about"): [(None, "text", "/report")],
            ("check", "receipt"): [(None, "text", "/check")],
            ("caseinput", "forward_body"): [("o02-lead", "button", f"a:case:{f}.forward")],
            ("caseinput", "conclude_n"): [(team_lead, "button", f"a:case:{w}.conclude")],
            ("caseinput", "ask_text"): [(team_lead, "button", f"a:case:{w}.ask")],
            ("caseinput", "note_text"): [(team_lead, "button", f"a:case:{w}.note")],
            ("caseinput", "reveal_reason"): [(named_lead, "button", f"a:case:{named.id}.reveal")],
            ("casereq", "ext_days"): [(team_lead, "button", f"a:case:{w}.extend")],
            ("casereq", "susp_reason"): [(team_lead, "button", f"a:case:{w}.suspend")],
            ("casereq", "refuse_reason"): [*ask_ext, ("sup1", "button", f"a:case:{w}.req_no")],
            ("team", "edit"): [("o02-lead", "button", f"a:case:{w}.team_edit")],
            ("newcase", "source"): [("sup1", "text", "/new")],
            ("intake", "unit"): [("sup1", "button", f"a:intake:{in_intake.id}")],
            ("transfer", "up_reason"): [("o02-lead", "button", f"a:case:{f}.up")],
            ("transfer", "down_group"): [("sup1", "button", f"a:case:{f}.down")],
            ("recuse", "reason"): [(member, "button", f"a:case:{w}.recuse")],
            ("material", "material"): [(member, "button", f"a:case:{w}.attach")],
            ("campaign_new", "title"): [("sup1", "text", "/campaign_new")],
            ("conflict", "target"): [(member, "text", "/conflict")],
            ("conflict_refuse", "reason"): [("admin", "button", f"a:conflict:{pending_id}.no")],
            ("campaign_edit", "edit"): [("sup1", "button", f"a:cedit:{proposed.id}.edit")],
            ("campaign_progress", "task"): [(c_member[0], "button", f"a:cprog:{c_member[1]}")],
            ("campaign_rate", "scores"): [("sup1", "text", f"/campaign_rate {ended.reference} 1")],
        }
        # Known good input per step, for each edge of its table it takes ("first": the first
        # choice the step offers). Directed walks follow the table's edges with these.
        self.advance = {
            ("report", "about"): {"pick_unit": [("text", "交通警察")], "people": [("press", "unsure")]},
            ("report", "pick_unit"): {"people": [("first", "")]},
            ("report", "people"): {"details": [("text", "张某，副总队长")]},
            ("report", "details"): {"files": [("text", "他收受好处费。"), ("press", "done")]},
            ("report", "files"): {"identity": [("press", "done")]},
            ("report", "identity"): {"confirm": [("press", "anon")], "name": [("press", "named")]},
            ("report", "name"): {"contact": [("text", "王五")]},
            ("report", "contact"): {"confirm": [("text", "13800000000")]},
            ("check", "receipt"): {"menu": [("text", self.receipt)]},
            ("check", "menu"): {"answer": [("press", "answer:")], "add_text": [("press", "add_text")],
                                "add_file": [("press", "add_file")]},
            ("caseinput", "forward_body"): {"forward_reason": [("text", "省市场监督管理局")]},
            ("caseinput", "conclude_n"): {"conclude_result": [("text", "0")]},
            ("casereq", "ext_days"): {"ext_reason": [("text", "3")]},
            ("team", "edit"): {"reason": [("press", "confirm")]},
            ("newcase", "source"): {"unit": [("first", "")]},
            ("newcase", "unit"): {"summary": [("text", "交通警察"), ("first", "")]},
            ("transfer", "down_group"): {"down_reason": [("first", "")]},
            ("campaign_new", "title"): {"kind": [("text", "2026年度交叉巡察")]},
            ("campaign_new", "kind"): {"group": [("press", "cross_inspection")]},
            ("campaign_new", "group"): {"targets": [("press", f"g:{group_id}")]},
            ("campaign_new", "targets"): {"dates": [("text", TARGETS)]},
            ("campaign_new", "dates"): {"subgroups": [("text", "2026-12-01 2026-12-14")]},
            ("campaign_new", "subgroups"): {"share": [("text", "2")]},
            ("conflict", "target"): {"unit": [("press", "unit")], "person": [("press", "person")]},
            ("conflict", "unit"): {"relation": [("text", "财政"), ("first", "")]},
            ("conflict", "person"): {"relation": [("text", "王某")]},
            ("conflict", "relation"): {"reason": [("first", "")]},
            ("campaign_progress", "task"): {"number": [("first", "")]},
            ("campaign_progress", "number"): {"note": [("text", "3")]},
            ("campaign_progress", "note"): {"done": [("text", "已核实")]},
            ("campaign_rate", "scores"): {"note": [("text", "4 5 4")]},
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


def paths(world: World) -> tuple[dict[tuple[str, str], Walk], list[str]]:
    """For every step of every table, the moves that enter it on purpose: its conversation's
    opening, then the known good input along the shortest chain of the table's ``goes`` edges.
    Also what is missing (an entry without an opening, a step no known input reaches)."""
    out: dict[tuple[str, str], Walk] = {}
    missing: list[str] = []
    for router in make_routers():
        for conv in router.conversations.values():
            goes = {s.value: {t.value for t in spec.goes} for s, spec in conv.steps.items()}
            for (name, frm), edges in world.advance.items():
                if name == conv.name:
                    missing += [f"{name}: no edge {frm} -> {to} in the table" for to in edges
                                if to not in goes.get(frm, set())]
            queue: list[tuple[str, Walk]] = []
            for entry in conv.entries():
                opening = world.openings.get((conv.name, entry.value))
                if opening is None:
                    missing.append(f"{conv.name}: no opening for the entry {entry.value}")
                    continue
                out[(conv.name, entry.value)] = opening
                queue.append((entry.value, opening))
            while queue:  # breadth first: the shortest chain to each step
                frm, walk = queue.pop(0)
                who = walk[-1][0]
                for to, moves in world.advance.get((conv.name, frm), {}).items():
                    if (conv.name, to) not in out and to in goes.get(frm, set()):
                        out[(conv.name, to)] = [*walk, *[(who, kind, value) for kind, value in moves]]
                        queue.append((to, out[(conv.name, to)]))
            missing += [f"{conv.name}: no known input reaches {s.value}" for s in conv.steps
                        if (conv.name, s.value) not in out]
    return out, missing


def takes_files(conv_name: str, step: str) -> bool:
    """A step whose table mentions files on an edge leaving it."""
    for router in make_routers():
        conv = router.conversations.get(conv_name)
        if conv is not None:
            spec = next(v for k, v in conv.steps.items() if k.value == step)
            return any(re.search(r"\bfiles?\b", label or "") for label in spec.goes.values())
    return False


PIECES = ["\x00", "\ud800", "\u202e", "\u200b", "\ufeff", "😀", "👨‍👩‍👧", "测试", "①", "٣", "{}", "{0}", "{n}",
          "%s", "%(n)s", "<b>", "</a>", "&amp;", "*_`[", "\\", "'", '"', "; DROP TABLE cases;--", "\r\n", "\t",
          " ", "9", "-", "LZ2026-", "@", "+", "/", "x" * 300]


def junk(rng: random.Random) -> str:
    """Typed text made of pieces that break careless code: format fields, markup, control and
    direction marks, half surrogates, very long runs."""
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12)))


def hostile(rng: random.Random, files: bool) -> list[tuple[str, object]]:
    """Several hostile inputs for one step: typed junk, forged buttons, a value on the step's own
    token, and files (every hostile file where the step takes files, one elsewhere)."""
    out: list[tuple[str, object]] = [("text", t) for t in [*rng.sample(NASTY, 3), junk(rng)]]
    out += [("button", rng.choice(FORGED)), ("token", None)]
    out += [("file", f) for f in (FILES if files else [rng.choice(FILES)])]
    rng.shuffle(out)
    return out


# What people type into a numbered menu (WeCom without cards, the console) that is not a plain
# choice: numbers outside the menu, digits Unicode has in other forms, numbers wrapped in spaces or
# punctuation, numbers too long for any menu or id, several numbers at once.
OUTSIDE = ["0", "99", "-1"]
ODD_DIGITS = [["①", "⑨", "❷", "⑴", "➊"], ["²", "¹", "³", "₂"], ["３", "１", "０", "１２"]]
WRAPPED = [" 1 ", "1.", "(2)", "1、", "#1", "1!", "第1项", "1 。", "+1", "1.5", "1e3", "1\u20e3"]
HUGE = ["9" * 40, "１" * 25, "1" + "0" * 18, "٣" * 12]
SEVERAL = ["1 2", "1,2", "12 3", "1\n2", "１ ２ ３"]


def numbered_hostile(rng: random.Random) -> list[tuple[str, object]]:
    """Typed answers to a step's numbered menu: out of range (0, 99, -1), circled, superscript and
    full-width digits, a number with spaces or punctuation, a huge number, several numbers, the
    number of a menu that is no longer the latest (stale), and the good number."""
    out: list[tuple[str, object]] = [("text", t) for t in OUTSIDE]
    out += [("text", rng.choice(kind)) for kind in ODD_DIGITS]
    out += [("text", rng.choice(WRAPPED)), ("text", rng.choice(HUGE)), ("text", rng.choice(SEVERAL)), ("stale", None)]
    rng.shuffle(out)
    return [("good", None), *out]  # popped from the end: the good number comes last


def latest_menu(c: Chat, skip: int = 0) -> list[str]:
    """The button data of the latest reply with buttons (``skip`` of them passed over first)."""
    menus = [[b.data for b in r.flat_buttons()] for r in reversed(c.history) if r.flat_buttons()]
    return menus[skip] if len(menus) > skip else []


async def _open(deps: Deps, dispatcher: object, walk: Walk, failures: list[str],
                numbered: bool = False) -> tuple[Chat | None, list[str]]:
    """Play a walk's moves from fresh chats (on a numbered-menu channel if ``numbered``): the last
    mover's chat (None if a move could not be made) and the last replies it got."""
    chats: dict[str | None, Chat] = {}
    who: str | None = None
    for who, kind, value in walk:
        if who not in chats:
            chats[who] = Chat(dispatcher=dispatcher, external_id=f"walk-{uuid.uuid4().hex[:8]}",  # type: ignore[arg-type]
                              numbered_menus=numbered)
            if who:
                await bind_staff(deps, who, chats[who].external_id)
        c = chats[who]
        if kind in ("press", "first"):
            # The latest reply with buttons: an earlier one's choices may be stale.
            offered = next(([b.data for b in r.flat_buttons()] for r in reversed(c.history) if r.flat_buttons()), [])
            if kind == "first":
                data = next((d for d in offered if d.startswith("c:") and not d.endswith((":cancel", ":back"))), None)
            else:
                data = next((d for d in offered if button_value(d) == value
                             or (value.endswith(":") and button_value(d).startswith(value))), None)
            if data is None:
                return None, [f"no button {value!r} after", *[h.text[:80] for h in c.history[-2:]]]
            await _send(c, data, True, failures, who)
        else:
            await _send(c, value, kind == "button", failures, who)
    return chats[who], [h.text[:80] for h in chats[who].history[-2:]]


async def _directed(url: str, target: tuple[str, str], walk: Walk, todo: list[tuple[str, object]],
                    rng: random.Random, hostile_at: dict[tuple[str, str], int], numbered_at: dict[tuple[str, str], int],
                    failures: list[str],
                    stop: list[str], numbered: bool = False) -> bool:
    """Enter ``target`` by its walk and give it the hostile inputs in ``todo`` (consumed), walking
    in again whenever one of them moves on. False when the walk no longer arrives on this copy
    (an earlier input here used up what it needs: a request refused, a member stepped aside).
    ``numbered``: the chats show buttons as numbered text and the inputs are typed numbers."""
    engine = make_engine(url)
    try:
        cfg = make_config(url)
        deps = make_deps(cfg, make_sessionmaker(engine), ManualClock(), Sealer(cfg.keyring),
                         platform_notes=platform_notes())
        dispatcher = make_dispatcher(deps)
        c: Chat | None = None
        who: str | None = None
        while todo:
            if c is None or await _state(deps, c) != target:
                c, stop[:] = await _open(deps, dispatcher, walk, failures, numbered)
                if c is None or await _state(deps, c) != target:
                    return False
                who = walk[-1][0]
            kind, value = todo.pop()
            if kind == "good":  # the number of the step's first own choice, else the first one
                menu = latest_menu(c)
                own = [i for i, d in enumerate(menu) if d.startswith("c:") and not d.endswith((":cancel", ":back"))]
                value = str((own or [0])[0] + 1)
            elif kind == "stale":  # one past the end of the latest menu: a choice only on an earlier menu
                value = str(max(len(latest_menu(c, 1)), len(latest_menu(c)) + 1))
            if kind == "file":
                replies = await c.send(None, attachment=value)
                if any(generic(r.text) for r in replies):
                    failures.append(f"{who}: file {getattr(value, 'filename', '')[:30]!r} at {target}")
            elif kind == "token":
                shown = [b.data for r in c.history[-2:] for b in r.flat_buttons() if b.data.startswith("c:")]
                await _send(c, on_token(rng, rng.choice(shown)) if shown else rng.choice(NASTY), bool(shown),
                            failures, who)
            else:
                await _send(c, str(value), kind == "button", failures, who)
            counts = numbered_at if numbered else hostile_at
            counts[target] = counts.get(target, 0) + 1
        return True
    finally:
        await engine.dispose()


async def _walks(url: str, walks: list[Walk], rng: random.Random,
                 seen: set[tuple[str, str]], hostile_at: dict[tuple[str, str], int]) -> list[str]:
    """Random walks on one copy of the seeded world (walks change it: a case accepted, a campaign ended)."""
    engine = make_engine(url)
    failures: list[str] = []
    try:
        cfg = make_config(url)
        deps = make_deps(cfg, make_sessionmaker(engine), ManualClock(), Sealer(cfg.keyring),
                         platform_notes=platform_notes())
        dispatcher = make_dispatcher(deps)
        for opening in walks:
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
    walks, missing = paths(world)
    assert missing == []
    seen: set[tuple[str, str]] = set()
    hostile_at: dict[tuple[str, str], int] = {}
    numbered_at: dict[tuple[str, str], int] = {}
    failures: list[str] = []
    rng = random.Random(20261123)
    # Directed: each step on its own copy, so that what one walk changes cannot keep another out;
    # once as Telegram sends (buttons), once as WeCom does (the menu answered by typed numbers).
    for target, walk in sorted(walks.items()):
        url = ""
        for numbered, todo in ((False, hostile(rng, takes_files(*target))), (True, numbered_hostile(rng))):
            stop: list[str] = []
            while todo:  # a fresh copy whenever an input used up what the walk needs (a reason typed)
                size, reused = len(todo), bool(url)
                url = url or _copy(templates, seeded)  # the numbered inputs first try the buttons' copy
                arrived = asyncio.run(_directed(url, target, walk, todo, rng, hostile_at, numbered_at, failures,
                                                stop, numbered))
                url = url if arrived else ""
                if not arrived and len(todo) == size and not reused:
                    failures.append(f"the walk to {target} stops at {stop}" + " (numbered)" * numbered)
                    break
    # Then seeded random walks from every entry, for what a chain of good and bad inputs does.
    batch, i = len(world.entries), 0
    for _round in range(ROUNDS):
        walks_ = [world.starts[(i + k) % len(world.starts)] for k in range(batch)]
        i += batch
        failures += asyncio.run(_walks(_copy(templates, seeded), walks_, rng, seen, hostile_at))
    assert failures == [], failures[:10]
    print(f"{len(hostile_at)} steps took {sum(hostile_at.values())} hostile inputs; fewest: "
          f"{sorted(hostile_at.items(), key=lambda kv: kv[1])[:6]}")
    assert sorted(all_steps() - set(walks)) == []
    assert sorted(s for s in all_steps() if hostile_at.get(s, 0) < 7) == []
    assert sorted(s for s in all_steps() if numbered_at.get(s, 0) < len(numbered_hostile(rng))) == []


def test_a_step_without_a_known_way_in_fails_the_fuzzing() -> None:
    world = World("unused")
    world.openings = {("campaign_rate", "scores"): [("sup1", "text", "/campaign_rate X 1")]}
    world.advance = {("campaign_rate", "scores"): {"done": [("text", "4 5 4")]}}
    walks, missing = paths(world)
    assert set(walks) == {("campaign_rate", "scores")}
    assert "campaign_rate: no edge scores -> done in the table" in missing
    assert "campaign_rate: no known input reaches note" in missing
    assert "report: no opening for the entry about" in missing
    world.advance = {("campaign_rate", "scores"): {"note": [("text", "4 5 4")]}}
    assert paths(world)[0][("campaign_rate", "note")][-1] == ("sup1", "text", "4 5 4")
