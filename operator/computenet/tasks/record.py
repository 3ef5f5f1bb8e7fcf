"""A ComputeTask as the operator holds it in memory.

The record is rebuilt from the object on every kopf event and on restart, so the truth lives in
the object (spec and status); memory only caches it. Status fields are camelCase dicts, ready to
be written back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from computenet.api.constants import Phase
from computenet.api.task import ComputeTaskSpec


@dataclass
class TaskRecord:
    uid: str
    namespace: str
    name: str
    created: dt.datetime
    generation: int | None
    spec: ComputeTaskSpec
    template: dict[str, Any]
    status: dict[str, Any] = field(default_factory=dict)
    deleting: bool = False
    pending_reason: str = ""
    """The last explanation written for a task that does not fit (events only when it changes)."""
    lost_since: dt.datetime | None = None
    dispatching: bool = False
    """A dispatch coroutine is in flight; the scheduler leaves the task alone meanwhile."""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def phase(self) -> Phase:
        return Phase(self.status.get("phase") or Phase.PENDING)

    @property
    def attempt(self) -> int:
        return int(self.status.get("attempt") or 0)

    @property
    def identifier(self) -> str | None:
        placement = self.status.get("placement") or {}
        return placement.get("identifier")

    @property
    def wants_placement(self) -> bool:
        return not self.deleting and not self.dispatching and self.phase in (Phase.PENDING, Phase.OFFERED)
