"""The mutable node table behind the snapshot builder: one row per node of every member.

Keeping all nodes of all members in a few NumPy arrays costs about 100 bytes per node instead of
a few kilobytes of Python objects, and lets one decision look at any subset of nodes with vector
operations. Rows of removed nodes are reused. Strings are interned: a node's static facts
collapse into a *kind* (architecture, accelerator model, device memory, blocking taints), the
unit at which filters decide before any row is read.

Labels are interned without `kubernetes.io/hostname`, which is unique per node and would defeat
the sharing; selectors on the hostname are matched against `hostnames` instead.

Memory (issue #12: 100,000 nodes of 1,000 pull members): what a snapshot freezes is shared with
the store, not copied. The static table is column-major, so each frozen column is a view of the
store's own; node names are a tuple handed to the snapshot as is. The store copies either only
when it next writes to it (copy on write), so a pool between changes holds one copy, not two.
Hostnames are kept apart only once some node's hostname label differs from its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from computenet.placement.accelerators import HOSTNAME_LABEL, accelerator_facts, matching_memory_mib
from computenet.placement.arrays import EMPTY_INT, IntArray, Interner, frozen
from computenet.placement.nodes import BLOCKING_EFFECTS, PODS, UNLIMITED_PODS, NodeLike
from computenet.placement.resources import CPU, MEMORY
from computenet.placement.snapshot import KindKey, LabelSet, ModelKey, NodeColumns, TaintSet

NO_MODEL: ModelKey = (None, None)
FREE_ROW = -1
STATIC = ("cluster", "kind", "labels", "schedulable", "cpu_alloc", "memory_alloc", "acc_alloc", "pods_alloc")
CLUSTER, KIND, LABELS, SCHEDULABLE, CPU_ALLOC, MEMORY_ALLOC, ACC_ALLOC, PODS_ALLOC = range(len(STATIC))
REQUESTED_CPU, REQUESTED_MEMORY, REQUESTED_DEVICES, REQUESTED_PODS = range(4)
MIN_PATCH = 4096
"""Free-amount patches are folded into a new base beyond this many rows, or 1/16 of all rows."""
MIN_ROWS = 1024
GROWTH = 4
"""Tables grow by a quarter (1/GROWTH) of their rows: at most a quarter of them stand empty."""


@dataclass(frozen=True, slots=True)
class Change:
    """What an upsert changed: `static` touches membership and kinds, `values` only free amounts."""

    row: int
    static: bool
    values: bool


class _Strings:
    """A column of strings by row, shared with its last frozen tuple until the next write."""

    def __init__(self, values: list[str] | tuple[str, ...] = ()) -> None:
        self._values: list[str] | tuple[str, ...] = list(values)

    def __getitem__(self, row: int) -> str:
        return self._values[row]

    def __len__(self) -> int:
        return len(self._values)

    def _writable(self) -> list[str]:
        if isinstance(self._values, tuple):
            self._values = list(self._values)
        return self._values

    def __setitem__(self, row: int, value: str) -> None:
        self._writable()[row] = value

    def append(self, value: str) -> None:
        self._writable().append(value)

    def copy(self) -> _Strings:
        return _Strings(self._values)

    def frozen(self) -> tuple[str, ...]:
        if not isinstance(self._values, tuple):
            self._values = tuple(self._values)
        return self._values


class NodeStore:
    def __init__(self) -> None:
        self.clusters: Interner[str] = Interner()
        self.archs: Interner[str] = Interner("")
        self.models: Interner[ModelKey] = Interner(NO_MODEL)
        self.taint_sets: Interner[TaintSet] = Interner(())
        self.label_sets: Interner[LabelSet] = Interner(frozenset())
        self.kinds: Interner[KindKey] = Interner()
        self.rows: dict[str, dict[str, int]] = {}
        self.names = _Strings()
        self._hostnames: _Strings | None = None
        """Hostname labels by row, once one differs from its node's name (until then, the names)."""
        self.static = np.zeros((0, len(STATIC)), dtype=np.int64, order="F")
        """Column-major, so that a column is contiguous and the snapshot can share it (see `freeze`)."""
        self._static_shared = False
        """Whether the last snapshot's columns are views of `static`: copy it before writing."""
        self.requested = np.zeros((0, 4), dtype=np.int64)
        self._free_rows: list[int] = []
        self._changed: set[int] = set()
        """Rows whose free amounts changed since the last base (see `freeze`)."""
        self.static_version = 0
        self.values_version = 0

    def _row(self, cluster: str, name: str) -> int:
        rows = self.rows.setdefault(cluster, {})
        row = rows.get(name)
        if row is None:
            if self._free_rows:
                row = self._free_rows.pop()
            else:
                row = len(self.names)
                if row >= len(self.static):
                    self._grow(max(MIN_ROWS, len(self.static) + len(self.static) // GROWTH))
                self.names.append("")
                if self._hostnames is not None:
                    self._hostnames.append("")
            rows[name] = row
        return row

    def _grow(self, capacity: int) -> None:
        static = np.zeros((capacity, len(STATIC)), dtype=np.int64, order="F")
        static[:, CLUSTER] = FREE_ROW
        static[: len(self.static)] = self.static
        requested = np.zeros((capacity, 4), dtype=np.int64)
        requested[: len(self.requested)] = self.requested
        self.static, self.requested = static, requested
        self._static_shared = False

    def _writable_static(self) -> IntArray:
        if self._static_shared:
            self.static = self.static.copy(order="F")
            self._static_shared = False
        return self.static

    def hostname(self, row: int) -> str:
        return self.names[row] if self._hostnames is None else self._hostnames[row]

    def _set_names(self, row: int, name: str, hostname: str) -> None:
        self.names[row] = name
        if self._hostnames is None and hostname != name:
            self._hostnames = self.names.copy()
        if self._hostnames is not None:
            self._hostnames[row] = hostname

    def upsert(self, cluster: str, node: NodeLike, requested: Mapping[str, int]) -> Change:
        row = self._row(cluster, node.name)
        labels = node.labels
        acc = accelerator_facts(labels, node.allocatable)
        resource = acc.resource if acc else None
        taints = tuple(sorted((t.key, t.value, t.effect) for t in node.taints if t.effect in BLOCKING_EFFECTS))
        arch = self.archs.id(labels.get("kubernetes.io/arch", ""))
        model = self.models.id((acc.resource, acc.model) if acc else NO_MODEL)
        kind = self.kinds.id((arch, model, matching_memory_mib(acc) if acc else 0, self.taint_sets.id(taints)))
        label_set = self.label_sets.id(frozenset((k, v) for k, v in labels.items() if k != HOSTNAME_LABEL))
        allocatable = node.allocatable
        static = [
            self.clusters.id(cluster),
            kind,
            label_set,
            int(node.ready and not node.unschedulable),
            allocatable.get(CPU, 0),
            allocatable.get(MEMORY, 0),
            allocatable.get(resource, 0) if resource else 0,
            allocatable.get(PODS, UNLIMITED_PODS),
        ]
        wanted = [
            requested.get(CPU, 0),
            requested.get(MEMORY, 0),
            requested.get(resource, 0) if resource else 0,
            requested.get(PODS, 0),
        ]
        hostname = labels.get(HOSTNAME_LABEL, node.name)
        static_changed = self.static[row].tolist() != static or self.names[row] != node.name
        static_changed |= self.hostname(row) != hostname
        values_changed = static_changed or self.requested[row].tolist() != wanted
        if static_changed:
            self._writable_static()[row] = static
            self._set_names(row, node.name, hostname)
            self.static_version += 1
        if values_changed:
            self.requested[row] = wanted
            self._changed.add(row)
            self.values_version += 1
        return Change(row, static_changed, values_changed)

    def find(self, cluster: str, name: str) -> int | None:
        return self.rows.get(cluster, {}).get(name)

    def add_requested(self, row: int, cpu: int, memory: int, devices: int, pods: int = 0) -> None:
        self.requested[row] += (cpu, memory, devices, pods)
        self._changed.add(row)
        self.values_version += 1

    def remove(self, cluster: str, name: str) -> int | None:
        row = self.rows.get(cluster, {}).pop(name, None)
        if row is None:
            return None
        static = self._writable_static()
        static[row] = 0
        static[row, CLUSTER] = FREE_ROW
        self.requested[row] = 0
        self._set_names(row, "", "")
        self._free_rows.append(row)
        self.static_version += 1
        self.values_version += 1
        return row

    def accelerator_resource(self, row: int) -> str | None:
        kind = self.kinds.values[int(self.static[row, KIND])]
        return self.models.values[kind[1]][0]

    def labels_of(self, row: int) -> dict[str, str]:
        labels = dict(self.label_sets.values[int(self.static[row, LABELS])])
        labels[HOSTNAME_LABEL] = self.hostname(row)
        return labels

    def freeze(self, last: NodeColumns | None, static_changed: bool) -> NodeColumns:
        """Immutable node columns; without static changes only the changed rows' free amounts are new."""
        size = len(self.names)
        if last is None or static_changed or len(last.names) != size:
            self._changed.clear()
            columns = {name: frozen(self.static[:size, k]) for k, name in enumerate(STATIC)}
            self._static_shared = True
            names = self.names.frozen()
            return NodeColumns(
                **columns,
                base_free=self._free(np.arange(size, dtype=np.int64)),
                patch_rows=EMPTY_INT,
                patch_free=np.zeros((0, 4), dtype=np.int64),
                names=names,
                hostnames=names if self._hostnames is None else self._hostnames.frozen(),
            )
        rows = np.array(sorted(self._changed), dtype=np.int64)
        base = last.base_free
        if len(rows) > max(MIN_PATCH, size // 16):
            self._changed.clear()
            base, rows = self._free(np.arange(size, dtype=np.int64)), EMPTY_INT
        return NodeColumns(
            cluster=last.cluster,
            kind=last.kind,
            labels=last.labels,
            schedulable=last.schedulable,
            cpu_alloc=last.cpu_alloc,
            memory_alloc=last.memory_alloc,
            acc_alloc=last.acc_alloc,
            pods_alloc=last.pods_alloc,
            base_free=base,
            patch_rows=frozen(rows),
            patch_free=self._free(rows),
            names=last.names,
            hostnames=last.hostnames,
        )

    def _free(self, rows: IntArray) -> IntArray:
        """(devices, cpu, memory, pods) free on `rows`: allocatable minus requested."""
        alloc = self.static[rows][:, [ACC_ALLOC, CPU_ALLOC, MEMORY_ALLOC, PODS_ALLOC]]
        used = self.requested[rows][:, [REQUESTED_DEVICES, REQUESTED_CPU, REQUESTED_MEMORY, REQUESTED_PODS]]
        return frozen(alloc - used)
