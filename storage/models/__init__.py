"""All models, imported here so ``Base.metadata`` is complete."""

from storage.base import Base
from storage.models.cases import (
    Assignment,
    AssignmentMember,
    Case,
    CaseNote,
    CaseState,
    CaseSource,
    CaseTransition,
    Deadline,
    Disposal,
    Escalation,
    MemberRole,
)
from storage.models.ops import (
    AuditEntry,
    ChannelToken,
    ChatPreference,
    ConversationState,
    InboundSeen,
    Outbox,
    OutboxStatus,
    ReceiptThrottle,
    SchedulerLease,
)
from storage.models.org import (
    ChatIdentity,
    ConflictDeclaration,
    JointGroup,
    Office,
    Region,
    Role,
    Staff,
    StaffInvite,
    StaffRole,
    Unit,
    office_units,
)
from storage.models.tips import Attachment, Tip, TipMessage, TipQuestion

__all__ = [name for name in dir() if not name.startswith("_")]
