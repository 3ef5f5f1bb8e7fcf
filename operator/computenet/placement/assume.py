"""Assumed reservations: resources a decision took, held until the member shows the pods.

Between a decision and the member reporting the task's pods bound to nodes there is a window
(dispatch, the member's scheduler, the watch) in which the snapshot still shows those resources
free. Without assumptions a burst of tasks would all pick the same free slot. So after each
decision the caller assumes its node slots; every later `place` with these assumptions sees them
taken, node by node. An assumption ends in one of three ways:

- `confirm(uid)`: the member reported the task's pods, i.e. the builder now counts their
  requests. Call it once the snapshot you place on includes them, or the slot looks free again
  for a moment.
- `forget(uid)`: the decision was abandoned (dispatch failed, task deleted or re-queued).
- `expire(now)`: the member never confirmed within the TTL; the slot is released rather than
  leaked. Call it before each scheduling pass; the clock is the caller's.

Assumptions refer to nodes by cluster and name (and snapshot row, checked): a node that vanished
or was replaced simply stops being reserved.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from computenet.placement.decision import Decision, NodeSlot
from computenet.placement.overlay import Overlay
from computenet.placement.resources import Usage
from computenet.placement.snapshot import Snapshot

DEFAULT_TTL_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class Assumption:
    task_uid: str
    identifier: str
    per_replica: Usage
    nodes: tuple[NodeSlot, ...]
    expires_at: float


class Assumptions:
    def __init__(self, ttl: float = DEFAULT_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._items: dict[str, Assumption] = {}
        self._version = 0
        self._cache: tuple[Snapshot, int, str | None, Overlay] | None = None

    def assume(self, decision: Decision, *, now: float, ttl: float | None = None) -> Assumption | None:
        """Hold the chosen node slots of `decision` (replacing any earlier assumption of the task)."""
        if decision.chosen is None:
            return None
        held = Assumption(
            task_uid=decision.task_uid,
            identifier=decision.chosen.identifier,
            per_replica=decision.per_replica,
            nodes=decision.assignment,
            expires_at=now + (self.ttl if ttl is None else ttl),
        )
        self._items[held.task_uid] = held
        self._version += 1
        return held

    def confirm(self, task_uid: str) -> bool:
        """The member reported the task's pods; their requests are now in the snapshot."""
        return self._drop(task_uid)

    def forget(self, task_uid: str) -> bool:
        """The decision will not be carried out."""
        return self._drop(task_uid)

    def expire(self, now: float) -> tuple[str, ...]:
        """Drop assumptions past their expiry; returns the task uids released."""
        gone = tuple(uid for uid, a in self._items.items() if a.expires_at <= now)
        for uid in gone:
            self._drop(uid)
        return gone

    def _drop(self, task_uid: str) -> bool:
        found = self._items.pop(task_uid, None) is not None
        self._version += found
        return found

    def get(self, task_uid: str) -> Assumption | None:
        return self._items.get(task_uid)

    def __contains__(self, task_uid: object) -> bool:
        return task_uid in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Assumption]:
        return iter(list(self._items.values()))

    def overlay(self, snapshot: Snapshot, exclude: str | None = None) -> Overlay:
        """What the assumptions hold on `snapshot`'s nodes, cached until either changes."""
        if exclude not in self._items:
            exclude = None
        cached = self._cache
        if cached is not None and cached[0] is snapshot and cached[1] == self._version and cached[2] == exclude:
            return cached[3]
        built = self._build(snapshot, exclude)
        self._cache = (snapshot, self._version, exclude, built)
        return built

    def _build(self, snapshot: Snapshot, exclude: str | None) -> Overlay:
        nodes, clusters = snapshot.nodes, snapshot.vocabulary.clusters
        per_row: dict[int, Usage] = {}
        per_ident = np.zeros((3, len(snapshot)), dtype=np.int64)
        for held in self._items.values():
            if held.task_uid == exclude:
                continue
            placed = 0
            for slot in held.nodes:
                r = slot.row
                if r < len(nodes.names) and nodes.names[r] == slot.node and clusters[nodes.cluster[r]] == slot.cluster:
                    per_row[r] = per_row.get(r, Usage()) + held.per_replica * slot.replicas
                    placed += slot.replicas
            i = snapshot.index.get(held.identifier)
            if i is not None:
                use = held.per_replica * placed
                per_ident[:, i] += (use.cpu, use.memory, use.accelerators)
        rows = np.array(sorted(per_row), dtype=np.int64)
        usage = [per_row[int(r)] for r in rows]
        return Overlay(
            rows=rows,
            cpu=np.array([u.cpu for u in usage], dtype=np.int64),
            memory=np.array([u.memory for u in usage], dtype=np.int64),
            devices=np.array([u.accelerators for u in usage], dtype=np.int64),
            clusters=np.unique(nodes.cluster[rows]),
            ident_cpu=per_ident[0],
            ident_memory=per_ident[1],
            ident_devices=per_ident[2],
        )
