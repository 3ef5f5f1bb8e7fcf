"""Admitted tasks as preemption and reservation see them: what each holds, in which queue, on which nodes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Slot:
    """What a task holds on one node: cpu millicores, memory bytes, devices, pod slots (its pods there)."""

    cluster: str
    node: str
    cpu: int
    memory: int
    devices: int
    pods: int = 0


@dataclass(frozen=True)
class Holder:
    """A task that holds capacity (and quota, when it has a queue): placed, dispatched or running."""

    uid: str
    key: str
    """``namespace/name``, for messages."""
    queue: str | None
    priority: int
    admitted: float
    """When it was admitted (seconds on the caller's clock); the most recent is preempted first."""
    identifier: str
    amounts: Mapping[str, int] = field(default_factory=dict)
    """What it counts against its queue's quota (see ``amounts.request_of``)."""
    slots: tuple[Slot, ...] = ()
    """Where its replicas are; freeing them is what a preemption gives back."""
