"""Every channel Lianzu has, one line each. A channel package defines its ``SPEC``
(:class:`bot.channels.base.ChannelSpec`: name, when the settings turn it on, its delivery
limits, what its platform can see about a sender, how it starts, its settings); listing it
here is all the wiring it needs. See docs/developing.md, "Adding a channel"."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.channels import console
from bot.channels.base import ChannelSpec, Limits
from bot.telegram import spec as telegram
from bot.wecom import spec as wecom

if TYPE_CHECKING:
    from bot.settings import Settings

CHANNELS: tuple[ChannelSpec, ...] = (
    console.SPEC,
    telegram.SPEC,
    wecom.SPEC,
)


def delivery_limits(settings: Settings, specs: Iterable[ChannelSpec] | None = None) -> dict[str, Limits]:
    """Channel name → the limits the delivery worker keeps to (channels without any are not listed)."""
    return {c.name: c.limits(settings) for c in (CHANNELS if specs is None else specs) if c.limits is not None}


def platform_notes(specs: Iterable[ChannelSpec] | None = None) -> dict[str, str]:
    """Channel name → msgid of what its platform can see about a sender (for the tip wizard)."""
    return {c.name: c.platform_note for c in (CHANNELS if specs is None else specs)}


def forget_notes(specs: Iterable[ChannelSpec] | None = None) -> dict[str, str]:
    """Channel name → msgid of what /forget can and cannot remove there."""
    return {c.name: c.forget_note for c in (CHANNELS if specs is None else specs) if c.forget_note}
