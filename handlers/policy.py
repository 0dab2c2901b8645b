"""The time-limit policy table: configuration, not constants in code
(``storage/policy/default.toml``, or the file named by ``LIANZU_POLICY_FILE``)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_POLICY = Path(__file__).resolve().parent.parent / "storage" / "policy" / "default.toml"


class PolicyError(ValueError):
    pass


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = ""
    trigger: str  # "case:<state>" or "assignment:confirmed"
    working_days: int = Field(ge=0)
    sources: list[str] | None = None
    named_only: bool = False
    remind_before: list[int] = Field(default_factory=list)
    escalate_to: list[str] = Field(default_factory=lambda: ["lead", "supervisor"])
    escalate_every: int = Field(default=1, ge=1)


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: dict[str, Rule]

    def for_trigger(self, trigger: str, source: str | None = None, named: bool | None = None) -> list[tuple[str, Rule]]:
        out = []
        for kind, rule in self.rules.items():
            if rule.trigger != trigger:
                continue
            if rule.sources is not None and source not in rule.sources:
                continue
            if rule.named_only and not named:
                continue
            out.append((kind, rule))
        return out


@cache
def load_policy(path: Path | None = None) -> Policy:
    p = path or DEFAULT_POLICY
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
        return Policy.model_validate(data)
    except OSError as exc:
        raise PolicyError(f"{p}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{p}: not valid TOML ({exc})") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise PolicyError(f"{p}: {problems}") from None
