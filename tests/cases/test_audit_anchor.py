"""An administrator who can write the database cannot rewrite the audit trail unnoticed: the chain is
keyed (HMAC, key outside the database) and anchored outside it by the daily digest."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import delete, func, select, update

from handlers.deps import Deps
from handlers.schedule.digest import send_digests
from storage import audit
from storage.models import AuditEntry
from tests.cases.conftest import outbox_to
from tests.conftest import TEST_KEYS, TEST_SALT, bind_staff

ANCHOR = re.compile(r"([0-9a-f]{16}:\d+)")


async def _fill(deps: Deps, n: int) -> None:
    now = deps.clock.now()
    async with deps.begin() as uow:
        for i in range(n):
            await audit.append(uow.session, key=deps.config.audit_mac_key, at=now + timedelta(seconds=i),
                               action="view", actor_label="t", case_id=None, detail={"i": i})


async def _rechain(deps: Deps, mac) -> None:  # type: ignore[no-untyped-def]
    """What an administrator with write access does after editing: recompute every hash."""
    async with deps.sessionmaker() as s, s.begin():
        prev = audit.GENESIS
        for e in (await s.scalars(select(AuditEntry).order_by(AuditEntry.id))).all():
            body = json.dumps([prev, e.at.isoformat(), e.actor_staff_id, e.actor_label, e.action, e.case_id, e.detail],
                              ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
            e.prev_hash, e.hash = prev, mac(body.encode())
            prev = e.hash


async def _verify(deps: Deps, **kw: object) -> audit.VerifyResult:
    async with deps.sessionmaker() as s:
        return await audit.verify(s, key=deps.config.audit_mac_key, **kw)  # type: ignore[arg-type]


async def test_an_edit_with_the_chain_recomputed_without_the_key_is_caught(deps: Deps) -> None:
    await _fill(deps, 5)
    assert (await _verify(deps)).ok
    async with deps.sessionmaker() as s, s.begin():
        first = await s.scalar(select(AuditEntry.id).order_by(AuditEntry.id).limit(1))
        await s.execute(update(AuditEntry).where(AuditEntry.id == first + 2).values(action="nothing-to-see"))
    for mac in (lambda b: hashlib.sha256(b).hexdigest(),  # the old, unkeyed chain
                lambda b: hmac.new(TEST_SALT.encode(), b, hashlib.sha256).hexdigest()):  # a guessed key
        await _rechain(deps, mac)
        r = await _verify(deps)
        assert not r.ok and r.first_bad_id == first and "altered" in r.problem


async def test_the_digest_anchor_catches_truncation_and_a_keyed_rewrite(deps: Deps) -> None:
    await _fill(deps, 6)
    await bind_staff(deps, "sup1", "staff-sup1")
    async with deps.begin() as uow:
        assert await send_digests(uow) >= 1
    digest = (await outbox_to(deps, "sup1"))[-1].payload["text"]
    m = ANCHOR.search(digest)
    assert m and ("审计" in digest or "Audit" in digest), digest
    anchor = audit.Anchor.parse(m[1])
    assert anchor.count == 6 and (await _verify(deps, against=anchor)).ok
    await _fill(deps, 2)  # the trail goes on growing: still fine
    assert (await _verify(deps, against=anchor)).ok

    # Even someone holding the key, rewriting an old entry and recomputing the chain, is caught.
    async with deps.sessionmaker() as s, s.begin():
        first = await s.scalar(select(AuditEntry.id).order_by(AuditEntry.id).limit(1))
        await s.execute(update(AuditEntry).where(AuditEntry.id == first).values(action="rewritten"))
    await _rechain(deps, lambda b: hmac.new(deps.config.audit_mac_key, b, hashlib.sha256).hexdigest())
    assert (await _verify(deps)).ok  # the chain alone is consistent again…
    r = await _verify(deps, against=anchor)
    assert not r.ok and "rewritten" in r.problem  # …but not the one the digest anchored

    # Deleting the newest entries down to before the anchor.
    async with deps.sessionmaker() as s, s.begin():
        ids = (await s.scalars(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(4))).all()
        await s.execute(delete(AuditEntry).where(AuditEntry.id.in_(ids)))
    r = await _verify(deps, against=anchor)
    assert not r.ok and "missing" in r.problem


async def test_my_is_audited(staff_chat, deps: Deps) -> None:
    lead = await staff_chat("o02-lead")
    await lead.send("/my")
    async with deps.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "my")) == 1


def test_cli_actions_are_audited_and_verify_checks_a_digest_anchor(demo_db_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANZU_")}
    env.update(LIANZU_DATABASE_URL=demo_db_url, LIANZU_INSTALLATION_SALT=TEST_SALT, LIANZU_ENCRYPTION_KEYS=TEST_KEYS,
               LIANZU_LOG_LEVEL="WARNING")

    def lianzu(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, timeout=60)

    assert lianzu("staff", "invite", "o05-f1").returncode == 0
    assert lianzu("staff", "revoke", "o05-f1").returncode == 1  # nothing bound, still audited
    assert lianzu("report", "--from", "2026-01-01", "--to", "2026-01-31").returncode == 0
    assert lianzu("keys", "rotate").returncode == 0
    ok = lianzu("audit", "verify")
    assert ok.returncode == 0 and "4 entries" in ok.stdout, ok.stdout + ok.stderr
    head = re.search(r"head ([0-9a-f]{64})", ok.stdout)
    assert head
    assert lianzu("audit", "verify", "--against-digest", f"{head[1][:16]}:4").returncode == 0
    assert lianzu("audit", "verify", "--against-digest", f"{head[1][:16]}:5").returncode == 1  # one more was promised
    assert lianzu("audit", "verify", "--against-digest", f"{'0' * 16}:4").returncode == 1
    bad = lianzu("audit", "verify", "--against-digest", "nonsense")
    assert bad.returncode == 2 and "HEAD:COUNT" in bad.stderr
    # A different key (another installation, or a guess) does not verify the trail.
    env["LIANZU_AUDIT_KEY"] = "x" * 32
    assert lianzu("audit", "verify").returncode == 1
