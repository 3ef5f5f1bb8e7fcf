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
from dataclasses import dataclass, replace

import numpy as np

from computenet.placement.decision import Decision, NodeSlot
from computenet.placement.overlay import Overlay, empty_overlay, same_layout
from computenet.placement.resources import Usage
from computenet.placement.snapshot import Snapshot

DEFAULT_TTL_SECONDS = 300.0
_LOG_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Assumption:
    task_uid: str
    identifier: str
    per_replica: Usage
    nodes: tuple[NodeSlot, ...]
    expires_at: float

    def each(self, slot: NodeSlot) -> Usage:
        """One replica's requests on `slot`: its pod set's, or the task's when it has one pod set."""
        return self.per_replica if slot.per_replica is None else slot.per_replica


_Key = tuple[str, str, str, int]
"""(identifier, cluster, node, row): where an assumption holds usage."""
_Held = tuple[int, int, int, int]
"""(devices, cpu millicores, memory bytes, pod slots) held on one node: the order of `summary.DIMS`."""


class Assumptions:
    """Live assumptions by task uid, with their usage summed per node as they come and go.

    The sums make each `place` in a burst cost in proportion to the nodes held, not to the
    number of assumptions times their nodes.
    """

    def __init__(self, ttl: float = DEFAULT_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._items: dict[str, Assumption] = {}
        self._held: dict[_Key, _Held] = {}
        self._log: list[tuple[_Key, _Held]] = []
        """Changes to `_held` since the cached overlay was built: merged in, not rebuilt."""
        self._cache: tuple[Snapshot, Overlay] | None = None
        self._with_devices: set[str] = set()
        """Tasks whose assumption holds DRA devices (few: their holdings are summed per overlay)."""

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
        self._drop(held.task_uid)
        self._items[held.task_uid] = held
        self._count(held, +1)
        if any(slot.devices for slot in held.nodes):
            self._with_devices.add(held.task_uid)
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
        held = self._items.pop(task_uid, None)
        if held is not None:
            self._count(held, -1)
        self._with_devices.discard(task_uid)
        return held is not None

    def _count(self, held: Assumption, sign: int) -> None:
        for key, usage in _usage(held).items():
            total = _scaled(self._held.get(key, (0, 0, 0, 0)), usage, sign)
            if any(total):
                self._held[key] = total
            else:
                self._held.pop(key, None)
            self._log.append((key, _scaled((0, 0, 0, 0), usage, sign)))
        if len(self._log) > _LOG_LIMIT:  # nobody is placing: rebuild on the next overlay instead
            self._log.clear()
            self._cache = None

    def get(self, task_uid: str) -> Assumption | None:
        return self._items.get(task_uid)

    def __contains__(self, task_uid: object) -> bool:
        return task_uid in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Assumption]:
        return iter(list(self._items.values()))

    def overlay(self, snapshot: Snapshot, exclude: str | None = None) -> Overlay:
        """What the assumptions (but `exclude`'s) hold on `snapshot`'s nodes.

        Kept per snapshot and brought up to date with the changes since, so that a burst of
        decisions on one snapshot pays for its own assumption only; `exclude`'s share is taken
        off a copy the same way.
        """
        cached = self._cache
        if cached is not None and cached[0] is snapshot:
            built = _merge(snapshot, cached[1], self._log) if self._log else cached[1]
        elif cached is not None and same_layout(cached[0], snapshot):  # a snapshot after pods changed
            carried = cached[1].on(snapshot)
            built = _merge(snapshot, carried, self._log) if self._log else carried
        else:
            built = _merge(snapshot, empty_overlay(len(snapshot)), list(self._held.items()))
        self._log.clear()
        self._cache = (snapshot, built)
        held = self._items.get(exclude) if exclude is not None else None
        if held is not None:
            changes = [(key, _scaled((0, 0, 0, 0), usage, -1)) for key, usage in _usage(held).items()]
            built = _merge(snapshot, built, changes)
        if self._with_devices - {exclude}:
            built = replace(built, devices=self._devices(snapshot, exclude))
        return built

    def _devices(self, snapshot: Snapshot, exclude: str | None) -> dict[int, dict[str, int]]:
        """DRA devices the assumptions (but `exclude`'s) hold, per node row of `snapshot` and driver key."""
        nodes, clusters = snapshot.nodes, snapshot.vocabulary.clusters
        out: dict[int, dict[str, int]] = {}
        for uid in self._with_devices:
            if uid == exclude:
                continue
            for slot in self._items[uid].nodes:
                row = slot.row
                if (
                    row < len(nodes.names)
                    and nodes.names[row] == slot.node
                    and clusters[nodes.cluster[row]] == slot.cluster
                ):
                    held = out.setdefault(row, {})
                    for key, count in slot.devices:
                        held[key] = held.get(key, 0) + count
        return out


def _scaled(base: _Held, usage: _Held, sign: int) -> _Held:
    return (base[0] + sign * usage[0], base[1] + sign * usage[1], base[2] + sign * usage[2], base[3] + sign * usage[3])


def _usage(held: Assumption) -> dict[_Key, _Held]:
    """Per node, what the assumption holds: `most` replicas' requests and as many pod slots."""
    out: dict[_Key, _Held] = {}
    for slot in held.nodes:
        use = held.each(slot) * slot.most  # where the member's scheduler may put them, not where we would
        key = (held.identifier, slot.cluster, slot.node, slot.row)  # pod sets may share a node: summed
        taken = (use.accelerators + slot.served, use.cpu, use.memory, slot.most)
        out[key] = _scaled(out.get(key, (0, 0, 0, 0)), taken, 1)
    return out


def _merge(snapshot: Snapshot, base: Overlay, changes: list[tuple[_Key, _Held]]) -> Overlay:
    """`base` plus `changes`, resolved to snapshot rows; nodes that vanished or were replaced hold nothing."""
    nodes, clusters = snapshot.nodes, snapshot.vocabulary.clusters
    rows, usage, idents = [], [], []
    for (ident, cluster, node, row), amounts in sorted(changes, key=lambda change: change[0][3]):
        if row < len(nodes.names) and nodes.names[row] == node and clusters[nodes.cluster[row]] == cluster:
            rows.append(row)
            usage.append(amounts)
            idents.append(snapshot.index.get(ident, -1))
    if not rows:
        return base
    as_array, at = np.array(usage, dtype=np.int64).reshape(-1, 4), np.array(rows, dtype=np.int64)
    return base.plus(at, as_array, np.array(idents, dtype=np.int64)).summarized(snapshot, at)
