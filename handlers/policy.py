"""The deadline policy: the one place that says what a deadline means.

Each kind in the policy file (``storage/policy/default.toml``, or ``LIANZU_POLICY_FILE``) says
what it is about (its subject), what starts it, what meets it, what cancels it, for whom it
exists, who is reminded and who is escalated to. Due dates are computed only by
:meth:`DeadlinePolicy.due`. The file is validated when it loads: an unknown subject, trigger,
role or escalation target stops start-up with the key named.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from handlers.workdays import Calendar, add_working_days, calendar_from

DEFAULT_POLICY = Path(__file__).resolve().parent.parent / "storage" / "policy" / "default.toml"

# What a deadline can be about. Each subject says which signals it can be started, met or
# cancelled by; a later feature (campaign tasks) adds its subject and signals here.
SUBJECTS: dict[str, set[str]] = {
    "case": {f"case:{s}" for s in (
        "received", "accepted", "forwarded", "assigned", "acknowledged", "disposed", "filed", "concluded",
        "feedback_given")} | {"reporter:told_accepted", "transfer:made"},
    "member": {"assignment:confirmed", "member:acknowledged", "case:assigned", "case:forwarded", "case:concluded"},
    # A campaign task (one subgroup's work at one target): starts when the campaign runs.
    "task": {"campaign:running", "task:done", "campaign:ended"},
    # One campaign member's 签收 of their notice: starts when the notice goes out (the campaign runs).
    "campaign_member": {"campaign:running", "campaign_member:acknowledged", "campaign:ended"},
}
# Who is reminded or escalated to.
#   member     the team member the deadline is for (签收; a campaign member: of the notice)
#   lead       the case's team lead, or before a team exists the leads of its joint group
#              (a campaign task or member: the subgroup's lead)
#   group_lead the leads of the case's joint group (a campaign task: of the organising group)
#   supervisor the supervisors
RECIPIENTS = ("member", "lead", "group_lead", "supervisor")
MEMBER_ROLES = ("lead", "member", "liaison")


class PolicyError(ValueError):
    pass


class Kind(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = ""
    subject: str = "case"
    starts: str
    met_by: list[str] = Field(default_factory=list)
    cancelled_by: list[str] = Field(default_factory=list)
    working_days: int = Field(ge=0)
    sources: list[str] | None = None  # case sources it applies to (None: all)
    named_only: bool = False  # only for named (实名) reporters
    for_roles: list[str] | None = None  # member deadlines: the team roles that owe it
    remind: str = "lead"
    remind_before: list[int] = Field(default_factory=list)
    escalate_to: list[str] = Field(default_factory=lambda: ["lead", "supervisor"], min_length=1)
    escalate_every: int = Field(default=1, ge=1)

    @field_validator("subject")
    @classmethod
    def _subject(cls, v: str) -> str:
        if v not in SUBJECTS:
            raise ValueError(f"unknown subject {v!r}; one of {', '.join(SUBJECTS)}")
        return v

    @field_validator("remind")
    @classmethod
    def _remind(cls, v: str) -> str:
        if v not in RECIPIENTS:
            raise ValueError(f"unknown recipient {v!r}; one of {', '.join(RECIPIENTS)}")
        return v

    @field_validator("escalate_to")
    @classmethod
    def _escalate(cls, v: list[str]) -> list[str]:
        bad = [x for x in v if x not in RECIPIENTS or x == "member"]
        if bad:
            raise ValueError(f"unknown escalation target {bad[0]!r}; one of lead, group_lead, supervisor")
        return v

    @field_validator("for_roles")
    @classmethod
    def _roles(cls, v: list[str] | None) -> list[str] | None:
        bad = [x for x in v or () if x not in MEMBER_ROLES]
        if bad:
            raise ValueError(f"unknown team role {bad[0]!r}; one of {', '.join(MEMBER_ROLES)}")
        return v

    @model_validator(mode="after")
    def _signals(self) -> Kind:
        known = SUBJECTS[self.subject]
        for field, values in (("starts", [self.starts]), ("met_by", self.met_by), ("cancelled_by", self.cancelled_by)):
            for v in values:
                if v not in known:
                    raise ValueError(f"{field}: unknown trigger {v!r} for a {self.subject} deadline; "
                                     f"one of {', '.join(sorted(known))}")
        if self.remind == "member" and self.subject not in ("member", "campaign_member"):
            raise ValueError("remind: 'member' is only for member deadlines")
        return self


class CheckBack(BaseModel):
    """When an anonymous reporter is told to check back (they cannot be told anything)."""

    model_config = ConfigDict(extra="forbid")
    until: str = "accept"  # while the case waits for acceptance: this kind's due date
    overdue_working_days: int = Field(default=5, ge=1)  # …once that has passed: this long from now
    later_working_days: int = Field(default=10, ge=1)  # later stages: this long from now


class HolidayYear(BaseModel):
    """``[holidays.YEAR]``: the State Council's notice for a year. ``off``: the public holidays
    (every day off, weekends within them included or not); ``on``: the make-up working days (调休),
    weekend days that are worked."""

    model_config = ConfigDict(extra="forbid")
    off: list[date] = Field(default_factory=list)
    on: list[date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _days(self) -> HolidayYear:
        both = set(self.off) & set(self.on)
        if both:
            raise ValueError(f"{min(both).isoformat()} is both off and on")
        weekdays = [d for d in self.on if d.weekday() < 5]
        if weekdays:
            raise ValueError(f"on: {weekdays[0].isoformat()} is a weekday already; list only weekend days "
                             "that are worked")
        return self


class PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kinds: dict[str, Kind]
    check_back: CheckBack = Field(default_factory=CheckBack)
    holidays: dict[int, HolidayYear] = Field(default_factory=dict)

    @field_validator("holidays")
    @classmethod
    def _in_their_year(cls, v: dict[int, HolidayYear]) -> dict[int, HolidayYear]:
        for year, days in v.items():
            for d in (*days.off, *days.on):
                if d.year != year:
                    raise ValueError(f"{year}: {d.isoformat()} is not in {year}")
        return v

    @model_validator(mode="after")
    def _refs(self) -> PolicyFile:
        if self.check_back.until not in self.kinds:
            raise ValueError(f"check_back.until: unknown kind {self.check_back.until!r}")
        return self


class DeadlinePolicy:
    """The loaded, validated policy with the time zone it counts days in."""

    def __init__(self, data: PolicyFile, tz: ZoneInfo) -> None:
        self.kinds = data.kinds
        self.check_back = data.check_back
        self.tz = tz
        # Working days: the file's holiday tables first, then the library's data.
        self.calendar: Calendar = calendar_from({y: (h.off, h.on) for y, h in data.holidays.items()})

    def kind(self, name: str) -> Kind | None:
        return self.kinds.get(name)

    def due(self, kind: str, start: datetime) -> datetime:
        """The one computation of a due date: ``working_days`` of ``kind`` after ``start``."""
        return add_working_days(start, self.kinds[kind].working_days, self.tz, self.calendar)

    def shift(self, due: datetime, working_days: int) -> datetime:
        """A due date moved by whole working days: an approved extension (延期), or the working
        days a suspension (中止) stood still."""
        return add_working_days(due, working_days, self.tz, self.calendar) if working_days > 0 else due

    def started_by(self, trigger: str, *, source: str | None = None, named: bool = False,
                   member_role: str | None = None) -> list[tuple[str, Kind]]:
        out = []
        for name, k in self.kinds.items():
            if k.starts != trigger:
                continue
            if k.sources is not None and source not in k.sources:
                continue
            if k.named_only and not named:
                continue
            if k.for_roles is not None and member_role not in k.for_roles:
                continue
            out.append((name, k))
        return out

    def met_by(self, signal: str) -> set[str]:
        return {name for name, k in self.kinds.items() if signal in k.met_by}

    def cancelled_by(self, signal: str) -> set[str]:
        return {name for name, k in self.kinds.items() if signal in k.cancelled_by}

    def owed_by(self, kind: str, member_role: str) -> bool:
        k = self.kinds.get(kind)
        return k is not None and (k.for_roles is None or member_role in k.for_roles)

    def check_back_date(self, since: datetime, now: datetime, waiting_for_acceptance: bool) -> datetime:
        cb = self.check_back
        if waiting_for_acceptance:
            when = self.due(cb.until, since)
            if when >= now:
                return when
            return add_working_days(now, cb.overdue_working_days, self.tz, self.calendar)
        return add_working_days(now, cb.later_working_days, self.tz, self.calendar)


def load_policy(path: Path | None, tz: ZoneInfo) -> DeadlinePolicy:
    p = path or DEFAULT_POLICY
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
        return DeadlinePolicy(PolicyFile.model_validate(data), tz)
    except OSError as exc:
        raise PolicyError(f"{p}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{p}: not valid TOML ({exc})") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise PolicyError(f"{p}: {problems}") from None
