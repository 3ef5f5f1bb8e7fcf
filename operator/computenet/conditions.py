"""Conditions as Kubernetes expects them: one per type, with a transition time that only moves on change.

Status is rewritten often (capacity changes, heartbeats); a condition whose status did not change
keeps its lastTransitionTime, so `kubectl describe` tells since when a member has been down.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from computenet.api.fields import format_time


@dataclass(frozen=True)
class Cond:
    type: str
    status: bool | None  # None is Unknown
    reason: str
    message: str

    @property
    def status_text(self) -> str:
        return "Unknown" if self.status is None else ("True" if self.status else "False")


def merge(
    previous: Iterable[Mapping[str, Any]] | None,
    updates: Iterable[Cond],
    now: dt.datetime,
    generation: int | None = None,
) -> list[dict[str, Any]]:
    """The new condition list: updated types replaced, others kept, transition times preserved."""
    by_type = {c["type"]: dict(c) for c in previous or () if "type" in c}
    for cond in updates:
        old = by_type.get(cond.type)
        changed = old is None or old.get("status") != cond.status_text
        entry: dict[str, Any] = {
            "type": cond.type,
            "status": cond.status_text,
            "reason": cond.reason,
            "message": cond.message,
            "lastTransitionTime": format_time(now) if changed or old is None else old.get("lastTransitionTime"),
        }
        if generation is not None:
            entry["observedGeneration"] = generation
        by_type[cond.type] = entry
    return sorted(by_type.values(), key=lambda c: str(c["type"]))


def find(conditions: Iterable[Mapping[str, Any]] | None, type_: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions or () if c.get("type") == type_), None)
