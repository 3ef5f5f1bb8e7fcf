"""The mutable node columns behind the snapshot builder: one row per node of every member.

Keeping all nodes of all members in a few NumPy columns costs about 100 bytes per node instead
of a few kilobytes of Python objects, and lets one decision look at any subset of nodes with
vector operations. Rows of removed nodes are reused. Strings are interned: a node's static facts
collapse into a *kind* (architecture, accelerator model, device memory, blocking taints), the
unit at which filters decide before any row is read.

Labels are interned without `kubernetes.io/hostname`, which is unique per node and would defeat
the sharing; selectors on the hostname are matched against `hostnames` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from computenet.placement.accelerators import HOSTNAME_LABEL, accelerator_facts, matching_memory_mib
from computenet.placement.arrays import IntArray, Interner
from computenet.placement.nodes import BLOCKING_EFFECTS, NodeLike
from computenet.placement.resources import CPU, MEMORY

ModelKey = tuple[str | None, str | None]
"""(accelerator resource, model name); (None, None) is "no accelerator", (resource, None) unlabelled."""
TaintSet = tuple[tuple[str, str, str], ...]
LabelSet = frozenset[tuple[str, str]]
KindKey = tuple[int, int, int, int]
"""(architecture id, model id, device memory MiB for matching, taint set id)."""

NO_MODEL: ModelKey = (None, None)
FREE_ROW = -1

_INT_COLUMNS = ("cpu_alloc", "memory_alloc", "acc_alloc", "cpu_req", "memory_req", "acc_req")
_ID_COLUMNS = ("cluster", "kind", "labels", "schedulable")


@dataclass(frozen=True, slots=True)
class Change:
    """What an upsert changed: `static` touches membership and kinds, `values` only free amounts."""

    row: int
    static: bool
    values: bool


class NodeStore:
    def __init__(self) -> None:
        self.clusters: Interner[str] = Interner()
        self.archs: Interner[str] = Interner("")
        self.models: Interner[ModelKey] = Interner(NO_MODEL)
        self.taint_sets: Interner[TaintSet] = Interner(())
        self.label_sets: Interner[LabelSet] = Interner(frozenset())
        self.kinds: Interner[KindKey] = Interner()
        self.rows: dict[str, dict[str, int]] = {}
        self.names: list[str] = []
        self.hostnames: list[str] = []
        self.columns: dict[str, IntArray] = {}
        self._free: list[int] = []
        self._grow(1024)
        self.static_version = 0
        self.values_version = 0

    def _grow(self, capacity: int) -> None:
        old = len(self.names)
        for name in (*_INT_COLUMNS, *_ID_COLUMNS):
            column = np.zeros(capacity, dtype=np.int64)
            if name == "cluster":
                column[:] = FREE_ROW
            if name in self.columns:
                column[:old] = self.columns[name][:old]
            self.columns[name] = column
        self.capacity = capacity

    def _row(self, cluster: str, name: str) -> int:
        rows = self.rows.setdefault(cluster, {})
        row = rows.get(name)
        if row is None:
            if self._free:
                row = self._free.pop()
            else:
                row = len(self.names)
                if row >= self.capacity:
                    self._grow(self.capacity * 2)
                self.names.append("")
                self.hostnames.append("")
            rows[name] = row
        return row

    def upsert(self, cluster: str, node: NodeLike, requested: Mapping[str, int]) -> Change:
        row = self._row(cluster, node.name)
        labels = node.labels
        acc = accelerator_facts(labels, node.allocatable)
        model = self.models.id((acc.resource, acc.model) if acc else NO_MODEL)
        taints = tuple(sorted((t.key, t.value, t.effect) for t in node.taints if t.effect in BLOCKING_EFFECTS))
        arch = self.archs.id(labels.get("kubernetes.io/arch", ""))
        memory = matching_memory_mib(acc) if acc else 0
        kind = self.kinds.id((arch, model, memory, self.taint_sets.id(taints)))
        resource = acc.resource if acc else None
        static = {
            "cluster": self.clusters.id(cluster),
            "kind": kind,
            "labels": self.label_sets.id(frozenset((k, v) for k, v in labels.items() if k != HOSTNAME_LABEL)),
            "schedulable": int(node.ready and not node.unschedulable),
            "cpu_alloc": node.allocatable.get(CPU, 0),
            "memory_alloc": node.allocatable.get(MEMORY, 0),
            "acc_alloc": node.allocatable.get(resource, 0) if resource else 0,
        }
        values = {
            "cpu_req": requested.get(CPU, 0),
            "memory_req": requested.get(MEMORY, 0),
            "acc_req": requested.get(resource, 0) if resource else 0,
        }
        hostname = labels.get(HOSTNAME_LABEL, node.name)
        static_changed = self._write(row, static) or self.names[row] != node.name or self.hostnames[row] != hostname
        self.names[row] = node.name
        self.hostnames[row] = hostname
        values_changed = self._write(row, values) or static_changed
        self.static_version += static_changed
        self.values_version += values_changed
        return Change(row, static_changed, values_changed)

    def _write(self, row: int, values: Mapping[str, int]) -> bool:
        changed = False
        for name, value in values.items():
            column = self.columns[name]
            if column[row] != value:
                column[row] = value
                changed = True
        return changed

    def find(self, cluster: str, name: str) -> int | None:
        return self.rows.get(cluster, {}).get(name)

    def add_requested(self, row: int, cpu: int, memory: int, devices: int) -> None:
        for column, amount in (("cpu_req", cpu), ("memory_req", memory), ("acc_req", devices)):
            self.columns[column][row] += amount
        self.values_version += 1

    def remove(self, cluster: str, name: str) -> int | None:
        row = self.rows.get(cluster, {}).pop(name, None)
        if row is None:
            return None
        for column in (*_INT_COLUMNS, *_ID_COLUMNS):
            self.columns[column][row] = FREE_ROW if column == "cluster" else 0
        self.names[row] = self.hostnames[row] = ""
        self._free.append(row)
        self.static_version += 1
        self.values_version += 1
        return row

    def accelerator_resource(self, row: int) -> str | None:
        kind = self.kinds.values[int(self.columns["kind"][row])]
        return self.models.values[kind[1]][0]
