"""Demo casework: with the demo organisation, one case in each state of the lifecycle and a
declared conflict waiting for an administrator, so a newcomer on the console sees every step at
work. Each case is moved by the same services a person's buttons use, with a supervisor acting,
so deadlines, notices, history and audit are as real as on a working day.

The cases concern units outside the provincial capital, and the received and accepted ones come
from an inspection handover (cross inspection): proposing their team shows the home-region
exclusion next to the others."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from handlers.cases import conflicts, routing, service
from handlers.uow import UnitOfWork
from storage.models import Case, CaseSource, CaseState, Disposal, Staff, Unit

ACTOR = "sup1"


@dataclass(frozen=True)
class DemoCase:
    state: CaseState
    unit: str  # unit code in storage/demo/org-demo.yaml
    source: CaseSource
    summary: str


CASES = (
    DemoCase(CaseState.received, "u05", CaseSource.inspection_handover,
             "省委第三巡视组移交：省司法厅东州监狱项目招标中疑似围标串标。"),
    DemoCase(CaseState.accepted, "u02", CaseSource.inspection_handover,
             "省委第二巡视组移交：省高级人民法院北原分院执行款管理不规范。"),
    DemoCase(CaseState.forwarded, "u08", CaseSource.superior_referral,
             "上级交办：反映省发展和改革委员会清河片区某企业用地问题，属地方管辖。"),
    DemoCase(CaseState.assigned, "u11", CaseSource.audit_handover,
             "审计移交：省统计局东州调查队专项经费支出凭证不全。"),
    DemoCase(CaseState.acknowledged, "u14", CaseSource.self_found,
             "日常监督发现：省国有资产监督管理委员会南江某企业违规发放津贴。"),
    DemoCase(CaseState.disposed, "u17", CaseSource.audit_handover,
             "审计移交：省自然资源厅下属单位土地出让金征收不到位。"),
    DemoCase(CaseState.filed, "u20", CaseSource.self_found,
             "日常监督发现：省林业局某林场负责人涉嫌虚报造林面积。"),
    DemoCase(CaseState.concluded, "u23", CaseSource.superior_referral,
             "上级交办：省住房和城乡建设厅某处室违规收受礼品礼金。"),
    DemoCase(CaseState.feedback_given, "u26", CaseSource.self_found,
             "日常监督发现：省市场监督管理局某分局公车私用。"),
)
# The steps after a confirmed team, in order; each demo case stops after its own state.
LATER = (CaseState.acknowledged, CaseState.disposed, CaseState.filed, CaseState.concluded, CaseState.feedback_given)
PENDING_CONFLICT = ("o03-f1", "u09", "relative", "配偶在该单位任职（演示：等待管理员确认）")


async def seed(uow: UnitOfWork) -> list[Case]:
    """Open and move the demo cases; nothing when the database already holds a case or the demo
    organisation is not loaded."""
    session = uow.session
    if await session.scalar(select(func.count()).select_from(Case)):
        return []
    actor = await session.scalar(select(Staff).where(Staff.login == ACTOR))
    if actor is None:
        return []
    made = []
    for spec in CASES:
        unit = await session.scalar(select(Unit).where(Unit.code == spec.unit))
        if unit is None:
            continue
        case = await service.open_other_case(uow, actor, source=spec.source, unit_id=unit.id, summary=spec.summary)
        await _move(uow, actor, case, spec.state)
        made.append(case)
    login, unit_code, kind, reason = PENDING_CONFLICT
    person = await session.scalar(select(Staff).where(Staff.login == login))
    unit = await session.scalar(select(Unit).where(Unit.code == unit_code))
    if person is not None and unit is not None:
        await conflicts.declare(uow, person, kind=kind, reason=reason, unit=unit)
    return made


async def _move(uow: UnitOfWork, actor: Staff, case: Case, target: CaseState) -> None:
    if target is CaseState.received:
        return
    if target is CaseState.forwarded:
        await service.forward(uow, actor, case, body="东州市纪委监委", reason="属地管理，转地方纪委监委办理")
        return
    await service.accept(uow, actor, case)
    if target is CaseState.accepted:
        return
    proposal = await routing.propose(uow, case)
    if proposal.lead_id is None:
        return  # no conflict-free team in this organisation: the case waits, accepted
    assignment = await service.confirm_team(uow, actor, case, lead_id=proposal.lead_id,
                                            member_ids=proposal.member_ids, proposal=proposal.to_json())
    for step in LATER[:LATER.index(target) + 1] if target in LATER else ():
        if step is CaseState.acknowledged:
            for m in assignment.members:
                member = await uow.session.get(Staff, m.staff_id)
                if member is not None:
                    await service.acknowledge(uow, member, m.id)
        elif step is CaseState.disposed:
            await service.dispose(uow, actor, case, Disposal.preliminary_verification)
        elif step is CaseState.filed:
            await service.file_case(uow, actor, case)
        elif step is CaseState.concluded:
            await service.conclude(uow, actor, case, 1)
        else:
            await service.feedback_given(uow, actor, case)
