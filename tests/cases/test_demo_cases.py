"""A fresh demo start shows casework at every step: a case in each state, a declared conflict
waiting for an administrator, and a proposal that leaves people out for their home region."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.app import prepare_database
from bot.settings import load_settings
from handlers.app import make_deps, make_dispatcher
from handlers.clock import ManualClock
from handlers.i18n import N_
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker
from storage.models import Case, CaseState, ChatIdentity, ConflictDeclaration, Staff, Unit
from tests.conftest import TEST_KEYS, TEST_SALT
from tests.fakes import Chat


async def test_a_fresh_demo_has_a_case_in_each_state_and_shows_the_home_region_exclusion(
        db_url: str, clock: ManualClock) -> None:
    settings = load_settings(database_url=db_url, installation_salt=TEST_SALT, encryption_keys=TEST_KEYS,
                             demo_org=True)
    await prepare_database(settings)
    await prepare_database(settings)  # a restart adds nothing
    engine = make_engine(db_url)
    deps = make_deps(settings, make_sessionmaker(engine), clock, Sealer(settings.keyring))
    async with deps.begin() as uow:
        s = uow.session
        states = dict((await s.execute(select(Case.state, func.count()).group_by(Case.state))).tuples().all())
        assert set(states) == {st.value for st in CaseState}, states
        assert sum(states.values()) == len(CaseState)
        # Units in several regions, so cross inspection has something to exclude.
        assert await s.scalar(select(func.count(func.distinct(Unit.region_id)))) >= 5
        assert await s.scalar(select(func.count()).select_from(ConflictDeclaration)
                              .where(ConflictDeclaration.status == "confirmed")) >= 3
        assert await s.scalar(select(func.count()).select_from(ConflictDeclaration)
                              .where(ConflictDeclaration.status == "pending")) == 1
        received = await s.scalar(select(Case).where(Case.state == CaseState.received.value))
        assert received is not None and received.cross_inspection
        ref = received.reference
        for login, ext in (("sup2", "sup"), ("admin", "admin")):
            person = await s.scalar(select(Staff).where(Staff.login == login))
            assert person is not None
            s.add(ChatIdentity(staff_id=person.id, channel="console", external_id=ext, bound_at=clock.now()))
    d = make_dispatcher(deps)
    lead = Chat(d, external_id="sup", channel="console")
    await lead.send(f"/case {ref}")
    await lead.press(N_("Accept (受理)"))
    proposal = lead.text(await lead.press(N_("Propose a team")))
    excluded = proposal.split("未列入")[1]
    assert "交叉巡察回避" in excluded, proposal
    # The waiting declaration is in the administrator's list, with its buttons.
    admin = Chat(d, external_id="admin", channel="console")
    listing = admin.text(await admin.send("/conflicts"))
    assert "省财政厅" in listing and "近亲属" in listing and len(admin.buttons()) == 2
    await engine.dispose()
