"""Turning a confirmed draft into a tip and a case, and what a reporter may do afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import N_
from handlers.lifecycle import open_case
from handlers.uow import ChatAddress, UnitOfWork
from storage.models import Attachment, Case, CaseSource, CaseState, Tip, TipMessage, TipQuestion

# What a reporter is told for each case state: plain words, no internal jargon.
STATUS_WORDS = {
    CaseState.received.value: N_("Received: your report is waiting to be accepted."),
    CaseState.accepted.value: N_("Accepted: your report has been accepted and is being arranged for handling."),
    CaseState.forwarded.value: N_("Forwarded: your report concerns another body and has been passed on to it."),
    CaseState.assigned.value: N_("Being handled: a team has been given your report."),
    CaseState.acknowledged.value: N_("Being handled: a team is working on your report."),
    CaseState.disposed.value: N_("Being handled: the team is verifying the matter."),
    CaseState.filed.value: N_("Being handled: a case has been opened for investigation."),
    CaseState.concluded.value: N_("Concluded: the handling of your report is finished."),
    CaseState.feedback_given.value: N_("Concluded, and the result has been communicated."),
}


@dataclass
class Draft:
    """What the wizard collected; lives sealed in the conversation state until confirmed."""

    unit_id: int | None
    subject: str | None
    people: str | None
    details: list[str]
    attachment_ids: list[int]
    anonymous: bool
    name: str | None = None
    contact: str | None = None
    language: str = "zh_CN"


async def store_attachment(uow: UnitOfWork, *, filename: str, content_type: str, data: bytes, now: datetime,
                           tip_id: int | None = None) -> Attachment:
    session, sealer = uow.session, uow.sealer
    key_id = sealer.current_key_id
    att = Attachment(tip_id=tip_id, key_id=key_id, filename_enc=sealer.seal_with(key_id, filename.encode()),
                     content_type=content_type, size=len(data), data_enc=sealer.seal_with(key_id, data),
                     created_at=now)
    session.add(att)
    await session.flush()
    return att


async def drop_draft_attachments(session: AsyncSession, ids: list[int]) -> None:
    if ids:
        await session.execute(delete(Attachment).where(Attachment.id.in_(ids), Attachment.tip_id.is_(None)))


async def purge_orphan_attachments(session: AsyncSession, older_than: datetime) -> int:
    """Files of drafts that were abandoned (expired) are deleted, not kept. A draft's file is dated
    to its day, so it is kept until a full day after ``older_than`` could have reached it."""
    ids = (await session.scalars(select(Attachment.id).where(
        Attachment.tip_id.is_(None), Attachment.case_id.is_(None),
        Attachment.created_at < older_than - timedelta(days=1)))).all()
    await drop_draft_attachments(session, list(ids))
    return len(ids)


async def submit(uow: UnitOfWork, draft: Draft, *, receipt_hash: str,
                 chat_address: ChatAddress | None) -> tuple[Tip, Case]:
    """Create the tip and its case in the caller's transaction. ``chat_address`` is kept (sealed)
    only for named tips, for the feedback the rules require."""
    session, sealer, now = uow.session, uow.sealer, uow.now()
    k = sealer.current_key_id

    def seal(text: str | None) -> bytes | None:
        return sealer.seal_with(k, text.encode()) if text else None

    body = "\n\n".join(draft.details)
    # Anonymous tips are dated to the day only, so the time cannot be matched to a chat log.
    created = now if not draft.anonymous else now.replace(hour=0, minute=0, second=0, microsecond=0)
    tip = Tip(
        anonymous=draft.anonymous, receipt_hash=receipt_hash, unit_id=draft.unit_id, key_id=k,
        subject_enc=seal(draft.subject), people_enc=seal(draft.people), body_enc=sealer.seal_with(k, body.encode()),
        reporter_name_enc=None if draft.anonymous else seal(draft.name),
        reporter_contact_enc=None if draft.anonymous else seal(draft.contact),
        reporter_chat_enc=None if draft.anonymous or chat_address is None else seal(chat_address.pack()),
        language=draft.language, created_at=created,
    )
    session.add(tip)
    await session.flush()
    if draft.attachment_ids:
        for att in (await session.scalars(select(Attachment).where(Attachment.id.in_(draft.attachment_ids)))).all():
            att.tip_id = tip.id
            att.created_at = created
    case = await open_case(uow, source=CaseSource.public_report, now=created, unit_id=draft.unit_id, tip_id=tip.id,
                           reason="public report")
    await uow.emit("tip.submitted", tip=tip, case=case)
    return tip, case


async def case_for(session: AsyncSession, tip: Tip) -> Case | None:
    case: Case | None = await session.scalar(select(Case).where(Case.tip_id == tip.id))
    return case


async def open_questions(session: AsyncSession, tip: Tip) -> list[TipQuestion]:
    return list((await session.scalars(select(TipQuestion).where(
        TipQuestion.tip_id == tip.id, TipQuestion.answered_at.is_(None)).order_by(TipQuestion.id))).all())


async def add_message(uow: UnitOfWork, tip: Tip, text: str, *, question: TipQuestion | None = None) -> TipMessage:
    session, sealer, now = uow.session, uow.sealer, uow.now()
    k = sealer.current_key_id
    msg = TipMessage(tip_id=tip.id, question_id=question.id if question else None, key_id=k,
                     body_enc=sealer.seal_with(k, text.encode()), created_at=day_of(now) if tip.anonymous else now)
    session.add(msg)
    await session.flush()
    if question is not None:
        question.answered_at = day_of(now) if tip.anonymous else now  # day only, like everything else of an anonymous tip
        await uow.emit("tip.answered", tip=tip, question=question, message=msg)
    else:
        await uow.emit("tip.material_added", tip=tip)
    return msg


def day_of(now: datetime) -> datetime:
    """The day only: how every time that could be joined to an anonymous tip is kept."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0)
