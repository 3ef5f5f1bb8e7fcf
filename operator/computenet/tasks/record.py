"""A ComputeTask as the operator holds it in memory.

The record is rebuilt from the object on every admission and on restart, so the truth lives in
the object (spec and status); memory only caches it. ``status`` is the typed status model: it is
what the lifecycle transitions read and return and what the writer puts on the hub.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from computenet.api.constants import Phase
from computenet.api.task import ComputeTaskSpec, ComputeTaskStatus, raw_pod_spec
from computenet.placement.devices import ClaimTemplate

_PHASES = {p.value: p for p in Phase}
"""Status phases are stored as their strings; a dict lookup turns one back (``Phase(s)`` costs ~1 us)."""
WAITING_PHASES = frozenset({Phase.PENDING, Phase.OFFERED})
"""The phases of a task that waits for a placement."""


@dataclass
class TaskRecord:
    uid: str
    namespace: str
    name: str
    created: dt.datetime
    generation: int | None
    spec: ComputeTaskSpec
    template: dict[str, Any]
    """``spec.template`` as written (a Job template), or {} when the task carries another kind."""
    status: ComputeTaskStatus = field(default_factory=ComputeTaskStatus)
    workload: dict[str, Any] = field(default_factory=dict)
    """``spec.workload`` as written (``{apiVersion, kind, metadata, spec}``), or {} for a Job."""
    claim_templates: tuple[ClaimTemplate, ...] = ()
    """The ResourceClaimTemplates of the task's namespace on the hub that its pods name, as the hub's
    watch last saw them: they travel with the workload, and placement evaluates them (``tasks.claim_templates``)."""
    deleting: bool = False
    gone: bool = False
    """Deleted from the hub: nothing is written for it any more."""
    dispatching: bool = False
    """A create is in flight; the scheduler and the fencing leave the task alone meanwhile."""
    failures: int = 0
    """Consecutive retryable answers to the create of attempt `failures_attempt` (drives the backoff)."""
    failures_attempt: int = 0
    phase_since: dt.datetime | None = None
    """When the phase last changed, as this process saw it (for the stuck-task gauge)."""

    @property
    def pod_spec(self) -> Mapping[str, Any]:
        """The workload's pod spec as written (the Job template's, or the workload object's), or {}."""
        pod = raw_pod_spec({"template": self.template or None, "workload": self.workload or None})
        return pod if pod is not None else {}

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def phase(self) -> Phase:
        return _PHASES.get(self.status.phase or "", Phase.PENDING)

    @property
    def attempt(self) -> int:
        return self.status.attempt

    @property
    def identifier(self) -> str | None:
        return self.status.placement.identifier if self.status.placement else None

    @property
    def wants_placement(self) -> bool:
        return not self.deleting and not self.dispatching and self.phase in WAITING_PHASES
