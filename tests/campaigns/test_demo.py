"""The demo organisation starts with a running campaign whose subgroups a newcomer can open."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import prepare_database
from bot.settings import load_settings
from handlers.app import make_deps, make_dispatcher
from handlers.clock import ManualClock
from handlers.i18n import N_, gettext_for
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker
from storage.models import Campaign, Case, CaseJointUnit, ChatIdentity, Staff
from tests.conftest import TEST_KEYS, TEST_SALT
from tests.fakes import Chat


async def test_the_demo_starts_with_a_running_campaign(db_url: str, clock: ManualClock) -> None:
    settings = load_settings(database_url=db_url, installation_salt=TEST_SALT, encryption_keys=TEST_KEYS,
                             demo_org=True)
    await prepare_database(settings)
    await prepare_database(settings)  # a restart adds nothing
    engine = make_engine(db_url)
    deps = make_deps(settings, make_sessionmaker(engine), clock, Sealer(settings.keyring))
    async with deps.begin() as uow:
        campaigns = (await uow.session.scalars(select(Campaign))).all()
        assert [(c.reference, c.state, len(c.subgroups)) for c in campaigns] == [("ZX2026-001", "running", 4)]
        sup = await uow.session.scalar(select(Staff).where(Staff.login == "sup1"))
        assert sup is not None
        uow.session.add(ChatIdentity(staff_id=sup.id, channel="console", external_id="console", bound_at=clock.now()))
    c = Chat(make_dispatcher(deps), external_id="console", channel="console")
    await c.send("/campaign ZX2026-001")
    line = gettext_for("zh_CN")("Subgroup {n} · {target}: done {done}, due {due}, overdue {overdue}")
    assert c.last.count(line.split("{")[0].strip() or "小组") >= 8 and "东州市" in c.last
    # The subgroups at work, and who was kept out of which and why: home region first among the reasons.
    zh = gettext_for("zh_CN")
    await c.press(N_("Subgroups and who was kept out"))
    for n in range(1, 5):
        assert zh("Subgroup {n}: {targets}").format(n=n, targets="").rstrip() in c.last
    assert zh("home region is the region inspected") in c.last
    assert ": " not in c.last  # full-width punctuation next to Chinese
    await engine.dispose()


async def test_the_demo_has_its_joint_case_unit_at_work(db_url: str, clock: ManualClock) -> None:
    """The demo turns 室组地联动 on: the cases about units in 东州市 went to its joint unit, and a
    supervisor sees that on the list and the case card."""
    settings = load_settings(database_url=db_url, installation_salt=TEST_SALT, encryption_keys=TEST_KEYS,
                             demo_org=True)
    assert settings.joint_units
    await prepare_database(settings)
    engine = make_engine(db_url)
    deps = make_deps(settings, make_sessionmaker(engine), clock, Sealer(settings.keyring))
    async with deps.begin() as uow:
        given = list((await uow.session.scalars(select(Case).join(CaseJointUnit, CaseJointUnit.case_id == Case.id)
                                                .order_by(Case.id))).all())
        assert given, "no demo case went to the joint unit"
        sup = await uow.session.scalar(select(Staff).where(Staff.login == "sup1"))
        assert sup is not None
        uow.session.add(ChatIdentity(staff_id=sup.id, channel="console", external_id="console", bound_at=clock.now()))
        refs = [c.reference for c in given]
    zh = gettext_for("zh_CN")
    c = Chat(make_dispatcher(deps), external_id="console", channel="console")
    await c.send(f"/case {refs[0]}")
    assert zh("Joint unit (室组地联动): {name}").format(name="东州片区室组地联动") in c.last
    listing = c.text(await c.send("/list joint:ju-dz"))
    assert any(r in listing for r in refs) and " · 东州片区室组地联动" in listing, listing
    await engine.dispose()
