"""The immutable, node-level view of the pool that one placement decision reads.

A snapshot is a set of read-only NumPy columns plus the interned vocabulary that gives their
integers meaning. Snapshots share every column that did not change since the previous one, so
the builder can hand out a fresh snapshot many times per second (see `builder`). Identifiers are
ordered by name, which makes every tie in placement break the same way on every run.

Layout, for readers of the filters:
- `nodes`: one row per node of every member (`NodeColumns`).
- `table`: one row per identifier: readiness, region, provider, class, prices, network.
- `entries`: per identifier, its schedulable nodes grouped by kind, in CSR form (`ident_indptr`
  into entries, `indptr` into `rows`), with a `summary` row each (see `summary`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import Any

import numpy as np

from computenet.placement.arrays import BoolArray, FloatArray, IntArray, distinct, frozen, ranges, spans
from computenet.placement.devices import NodeDevices, ServedDevices
from computenet.placement.identifiers import Identifier
from computenet.placement.nodes import Taint, Toleration, tolerated
from computenet.placement.summary import (
    ACC_ALLOC,
    ACC_MAX,
    ACC_SUM,
    COUNT,
    CPU_ALLOC,
    CPU_SUM,
    MEM_ALLOC,
    MEM_SUM,
    label_heads,
    level_order,
    level_table,
    nodes_at_least,
    summarize,
)

ModelKey = tuple[str | None, str | None]
"""(accelerator resource, model name); (None, None) is "no accelerator", (resource, None) unlabelled."""
TaintSet = tuple[tuple[str, str, str], ...]
LabelSet = frozenset[tuple[str, str]]
KindKey = tuple[int, int, int, int]
"""(architecture id, model id, device memory MiB for matching, taint set id)."""


@dataclass(frozen=True, slots=True)
class NodeColumns:
    """Node facts by row. Free amounts are a base shared between snapshots plus a small patch.

    Between two snapshots usually only a few nodes' requests change; copying a million-row
    column for that would make every snapshot cost a full pass. Instead the changed rows ride
    in a sorted patch on top of the previous base, and the builder folds the patch into a new
    base once it grows (see `builder`). Read free amounts only through `free`.
    """

    cluster: IntArray
    kind: IntArray
    labels: IntArray
    schedulable: IntArray
    cpu_alloc: IntArray
    memory_alloc: IntArray
    acc_alloc: IntArray
    pods_alloc: IntArray
    """Allocatable pod slots (`nodes.UNLIMITED_PODS` when the node reports none)."""
    name_hash: IntArray
    """Per row, `hash(names[row])` (this process's string hash; 0 for a free row): where a name may be."""
    host_hash: IntArray
    """Per row, `hash(hostnames[row])`."""
    base_free: IntArray
    """(rows x 4): devices, cpu, memory, pod slots free at the last compaction; may be negative."""
    patch_rows: IntArray
    """Sorted rows whose free amounts changed since `base_free` was computed."""
    patch_free: IntArray
    names: tuple[str, ...]
    hostnames: tuple[str, ...]
    devices: Mapping[int, tuple[NodeDevices, ...]]
    """DRA devices by row, for the few rows whose node has any (see `devices`); read-only."""
    served: Mapping[int, ServedDevices] = field(default_factory=lambda: MappingProxyType({}))
    """Rows whose accelerator resource DRA devices of a class serve (KEP-5004, `devices.served_accelerator`)."""

    def free(self, rows: IntArray) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """Free (devices, cpu, memory, pod slots) on `rows`, as fresh arrays the caller may change."""
        values = self.free_amounts(rows)
        return values[:, 0], values[:, 1], values[:, 2], values[:, 3]

    def free_amounts(self, rows: IntArray) -> IntArray:
        """(len(rows) x 4): free devices, cpu, memory and pod slots on `rows`, a fresh array."""
        values = self.base_free.take(rows, axis=0)  # a fresh array, twice as fast as `base_free[rows]`
        if len(self.patch_rows) and len(rows):
            at = np.minimum(np.searchsorted(self.patch_rows, rows), len(self.patch_rows) - 1)
            hit = self.patch_rows[at] == rows
            values[hit] = self.patch_free[at[hit]]
        return values

    def free_devices(self, rows: IntArray) -> IntArray:
        """Free devices on `rows` (``free_amounts(rows)[:, 0]``), reading that column alone; a fresh array.

        Rows in ascending order (an entry's nodes, identifier by identifier) find the few patched rows
        among them, rather than each looking itself up in the patch.
        """
        width = self.base_free.shape[1]  # the flat view's `take`: the column's would copy it first
        values: IntArray = self.base_free.reshape(-1).take(rows * width)
        if not len(self.patch_rows) or not len(rows):
            return values
        if bool(np.all(rows[1:] >= rows[:-1])):
            lo = np.searchsorted(rows, self.patch_rows, side="left")
            where, patched = spans(lo, np.searchsorted(rows, self.patch_rows, side="right"))
            values[where] = self.patch_free[patched, 0]
            return values
        at = np.minimum(np.searchsorted(self.patch_rows, rows), len(self.patch_rows) - 1)
        hit = self.patch_rows[at] == rows
        values[hit] = self.patch_free[at[hit], 0]
        return values


TOLERATION_SETS_KEPT = 256
"""How many toleration sets a snapshot's vocabulary keeps the per-kind answer of (``kind_tolerated``)."""


@dataclass(frozen=True)
class Vocabulary:
    """What the interned integers in the columns stand for, frozen at snapshot time."""

    clusters: tuple[str, ...]
    archs: tuple[str, ...]
    models: tuple[ModelKey, ...]
    taint_sets: tuple[TaintSet, ...]
    label_sets: tuple[LabelSet, ...]
    kinds: tuple[KindKey, ...]
    regions: Mapping[str, int]
    providers: Mapping[str, int]
    currencies: Mapping[str, int]
    classes: Mapping[str, int]

    @cached_property
    def _tolerated(self) -> dict[tuple[Toleration, ...], BoolArray]:
        return {}

    def kind_tolerated(self, tolerations: tuple[Toleration, ...]) -> BoolArray:
        """Per kind: are its nodes' blocking taints all tolerated by ``tolerations`` (read-only).

        Kept per toleration set for the snapshot's life (at most ``TOLERATION_SETS_KEPT``): a burst of
        tasks from one template asks once, not once per decision and taint set.
        """
        found = self._tolerated.get(tolerations)
        if found is None:
            sets = self.taint_sets
            ok = np.array([tolerated([Taint(*t) for t in taints], tolerations) for taints in sets], dtype=bool)
            found = ok[self.kind_columns[3]]
            found.flags.writeable = False
            if len(self._tolerated) >= TOLERATION_SETS_KEPT:
                self._tolerated.clear()
            self._tolerated[tolerations] = found
        return found

    @cached_property
    def kind_columns(self) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """(arch, model, memory MiB, taint set) per kind, for vectorised kind predicates."""
        table = np.array(self.kinds, dtype=np.int64).reshape(-1, 4)
        return table[:, 0], table[:, 1], table[:, 2], table[:, 3]

    @cached_property
    def label_maps(self) -> tuple[Mapping[str, str], ...]:
        """Each label set as a mapping (hostname excluded, see `store`), for selector matching."""
        return tuple(dict(labels) for labels in self.label_sets)

    def label_column(self, key: str) -> tuple[IntArray, tuple[str, ...]]:
        """One label across label sets: per set, the index of its value in `values`, or -1 if absent.

        Lets a selector requirement be decided per distinct value instead of per label set.
        Computed once per key and vocabulary (a vocabulary outlives many snapshots).
        """
        cache: dict[str, tuple[IntArray, tuple[str, ...]]] = self.__dict__.setdefault("_label_columns", {})
        found = cache.get(key)
        if found is None:
            values: dict[str, int] = {}
            codes = np.fromiter(
                (-1 if (v := m.get(key)) is None else values.setdefault(v, len(values)) for m in self.label_maps),
                dtype=np.int64,
                count=len(self.label_maps),
            )
            found = cache[key] = (codes, tuple(values))
        return found

    def model_name(self, model: int) -> str:
        resource, name = self.models[model]
        return name or (f"unlabelled {resource}" if resource else "none")


@dataclass(frozen=True, slots=True)
class IdentifierTable:
    ready: IntArray
    cluster: IntArray
    region: IntArray
    provider: IntArray
    currency: IntArray
    compute_class: IntArray
    failures: IntArray
    bandwidth_gbps: FloatArray
    price_cpu: FloatArray
    price_memory: FloatArray
    price_devices: FloatArray
    """(identifiers x models) price per device-hour; NaN where unknown."""
    latency_ms: FloatArray
    """(identifiers x regions); NaN where unknown."""
    members: IntArray
    schedulable: IntArray
    egress_per_gib: FloatArray
    """Price of moving one GiB out of the identifier's store; NaN: it declares no store."""
    egress_currency: IntArray
    """The currency of `egress_per_gib` (interned); -1 without a store."""
    levels: IntArray
    """Topology levels the identifier declares (`Identifier.levels`); 0: none."""


@dataclass(frozen=True, slots=True)
class EntryTable:
    ident: IntArray
    kind: IntArray
    indptr: IntArray
    rows: IntArray
    ident_indptr: IntArray
    columns: IntArray
    """The entries' summaries (`summary.summarize`) column by column, summary.WIDTH x len(entries): a
    decision over thousands of entries reads a few whole columns, which NumPy does several times
    faster from contiguous rows than from strided ones."""
    levels: IntArray
    """Per entry: its nodes by free devices (`summary.level_table`), len(entries) x LEVELS x LEVEL_WIDTH."""
    by_row: IntArray
    """`rows` sorted: with `row_owner`, the inverse of the entries' CSR (which entries hold a node row)."""
    row_owner: IntArray
    """The entry of each of `by_row`. Built with the entries (a sort of every row, some milliseconds at
    a million nodes) and kept while they are: a decision under assumptions looks its nodes up here."""
    label_indptr: IntArray
    """With `label_sets`, the distinct label sets of each entry's nodes in CSR form: entry e's are
    ``label_sets[label_indptr[e]:label_indptr[e + 1]]``, ascending. Built with the entries (a sort
    of every row, some milliseconds at a million nodes): labels change only with the node columns
    the entries are built from, and node constraints decide most entries from these few sets."""
    label_sets: IntArray
    level_rows: IntArray
    """Each entry's rows (in the spans of `indptr`) ordered by free-device level, most first
    (`summary.level_order`): entry e's rows with k devices free or more are the first
    ``levels[e, k:, L_COUNT].sum()`` of its span. Recomputed with the level tables of changed entries."""

    label_heads: IntArray
    """Aligned with `label_sets`: each (entry, label set)'s roomiest row, the first of that label set in
    `level_rows` (`summary.label_heads`). Whether one of its nodes of some label sets has room
    for a replica is asked of these rows first. Recomputed with the level order."""
    label_head_free: IntArray
    """(len(label_sets) x 4): the free amounts of each of `label_heads` (`NodeColumns.free_amounts`), kept
    in their order: read for thousands of entries at once, a contiguous column instead of a random row each."""

    def head_free(self, at: IntArray) -> tuple[IntArray, IntArray]:
        """(rows, free amounts) of the label heads at positions `at` of `label_sets`; the amounts a fresh array."""
        free: IntArray = self.label_head_free.take(at, axis=0)
        return self.label_heads[at], free

    def reading_order(self, entries: IntArray, devices: int) -> tuple[IntArray, IntArray, IntArray]:
        """(order, start, stop): where the rows of `entries` that may hold a replica asking `devices` lie.

        Entry k's are ``order[start[k]:stop[k]]``. A replica asking for devices is read in level
        order (`level_rows`), roomiest first, and only the nodes with that many free or more (from
        ``LEVELS - 1`` on, every node of the last level: the caller's slots tell them apart); the
        others hold none, with or without assumptions, which only take free amounts away. Otherwise
        every row, in `rows`.
        """
        start = self.indptr[entries]
        if devices > 0:
            return self.level_rows, start, start + nodes_at_least(self.levels, entries, devices)
        return self.rows, start, self.indptr[entries + 1]

    def refreshed(self, dirty: IntArray, nodes: NodeColumns) -> EntryTable:
        """The same entries with the summaries, level tables, level order and label heads of `dirty` recomputed."""
        columns, levels, level_rows = self.columns.copy(), self.levels.copy(), self.level_rows.copy()
        columns[:, dirty] = summarize(self.indptr, self.rows, dirty, nodes).T
        levels[dirty] = level_table(self.indptr, self.rows, dirty, nodes)
        at, owner = ranges(self.indptr, dirty)
        ordered = level_order(self.indptr, self.rows, dirty, nodes)
        level_rows[at] = ordered
        heads, head_free = self.label_heads.copy(), self.label_head_free.copy()
        at, _ = ranges(self.label_indptr, dirty)
        heads[at] = label_heads(ordered, owner, nodes.labels)
        head_free[at] = nodes.free_amounts(heads[at])
        return replace(
            self,
            columns=frozen(columns),
            levels=frozen(levels),
            level_rows=frozen(level_rows),
            label_heads=frozen(heads),
            label_head_free=frozen(head_free),
        )


@dataclass(frozen=True, slots=True)
class ModelCapacity:
    model: str
    resource: str
    allocatable: int
    free: int
    largest_free_slot: int
    nodes_by_free: tuple[int, ...]
    """nodes_by_free[k - 1]: schedulable nodes with at least k devices of this model free (k = 1..8)."""


@dataclass(frozen=True, slots=True)
class Capacity:
    """An identifier's schedulable capacity, for its status; amounts as in `resources`."""

    nodes: int
    schedulable_nodes: int
    allocatable: Mapping[str, int]
    free: Mapping[str, int]
    accelerators: tuple[ModelCapacity, ...]


_POOLS_KEPT = 8
"""Pools whose member indices a snapshot remembers (see `Snapshot.indices`)."""
_FEW_NAMES = 16
"""Sets of at most this many names are looked up each time rather than remembered (`Snapshot.indices`)."""
CARRIED_MEMOS = ("_entry_sums", "_preferred_best")
"""Per-entry answers decisions remember on a snapshot (`fit`, the NodeAffinity score) that a next
snapshot differing in free amounts only starts from (`Snapshot.carry_memos`)."""


@dataclass(frozen=True, eq=False)
class Snapshot:
    generation: int
    identifiers: tuple[Identifier, ...]
    index: Mapping[str, int]
    nodes: NodeColumns
    vocabulary: Vocabulary
    table: IdentifierTable
    entries: EntryTable

    def __len__(self) -> int:
        return len(self.identifiers)

    def carry_memos(self, last: Snapshot) -> None:
        """Let decisions here start from what decisions on `last` remembered per entry (`carried`).

        Only when the two differ in free amounts alone: the same node columns but free amounts (a
        change of pods' requests), the same entries, identifiers and DRA devices, and free amounts
        of one base, so that the rows whose free amounts may differ are the two patches' rows. What
        `last` remembered of an entry holding none of them holds here too. `last`'s memos are kept
        by reference (not `last` itself, so no chain of snapshots stays alive).
        """
        a, b = self.nodes, last.nodes
        same = (
            a.base_free is b.base_free
            and a.names is b.names
            and a.cluster is b.cluster
            and a.kind is b.kind
            and a.labels is b.labels
            and a.schedulable is b.schedulable
            and a.devices is b.devices
            and a.served is b.served
            and self.entries.rows is last.entries.rows
            and self.entries.indptr is last.entries.indptr
            and self.identifiers is last.identifiers
            and self.vocabulary is last.vocabulary
        )
        if not same:
            return
        memos = {name: last.__dict__.setdefault(name, {}) for name in CARRIED_MEMOS}
        changed = np.union1d(a.patch_rows, b.patch_rows)
        self.__dict__["_carry"] = (memos, changed)

    def carried(self, name: str, key: object) -> tuple[Any, BoolArray] | None:
        """The previous snapshot's memo `name`[key] (see `carry_memos`), and per entry whether it is stale here.

        None when there is no previous snapshot to carry from, or it remembered nothing under `key`.
        """
        carry = self.__dict__.get("_carry")
        if carry is None:
            return None
        memos, changed = carry
        found = memos[name].get(key)
        if found is None:
            return None
        stale: BoolArray | None = self.__dict__.get("_stale_entries")
        if stale is None:
            stale = np.zeros(len(self.entries.kind), dtype=bool)
            stale[self.entries_of_rows(changed)] = True
            self.__dict__["_stale_entries"] = stale
        return found, stale

    def entries_of_rows(self, rows: IntArray) -> IntArray:
        """Sorted, unique entries holding any of the node `rows` (a node may sit in several partitions)."""
        by_row, owner = self.entries.by_row, self.entries.row_owner
        at, _ = spans(np.searchsorted(by_row, rows, side="left"), np.searchsorted(by_row, rows, side="right"))
        return distinct(owner[at])

    def identifier(self, name: str) -> Identifier:
        return self.identifiers[self.index[name]]

    def indices(self, names: frozenset[str]) -> IntArray:
        """Sorted snapshot indices of those of `names` that are identifiers here (a pool's members).

        Remembered for the last few pools asked about: the tasks of one pool ask with equal sets,
        and a pool of thousands of names is otherwise a Python loop per decision. A set of a few
        names costs nothing to look up and is not remembered, so that it takes no pool's place
        (``topology`` decides a winning domain among its one chosen identifier).
        """
        if len(names) <= _FEW_NAMES:
            index = self.index
            return np.array(sorted(index[n] for n in names if n in index), dtype=np.int64)
        cache: dict[frozenset[str], IntArray] = self.__dict__.setdefault("_indices", {})
        found = cache.get(names)
        if found is None:
            index = self.index
            found = np.fromiter((index[n] for n in names if n in index), dtype=np.int64)
            found.sort()
            found.flags.writeable = False
            if len(cache) >= _POOLS_KEPT:
                del cache[next(iter(cache))]
            cache[names] = found
        return found

    def node_rows(self, name: str) -> IntArray:
        """Rows of an identifier's schedulable nodes."""
        e = self.entries
        i = self.index[name]
        lo, hi = int(e.ident_indptr[i]), int(e.ident_indptr[i + 1])
        return e.rows[int(e.indptr[lo]) : int(e.indptr[hi])]

    def capacity(self, name: str) -> Capacity:
        """Totals over the identifier's schedulable nodes: what its status reports as free."""
        e, i = self.entries, self.index[name]
        lo, hi = int(e.ident_indptr[i]), int(e.ident_indptr[i + 1])
        block = e.columns[:, lo:hi].T
        models: dict[int, list[int]] = {}
        for entry, row in zip(range(lo, hi), block, strict=True):
            model = self.vocabulary.kinds[int(e.kind[entry])][1]
            if model:
                totals = models.setdefault(model, [0, 0, 0])
                totals[0] += int(row[ACC_ALLOC])
                totals[1] += int(row[ACC_SUM])
                totals[2] = max(totals[2], int(row[ACC_MAX]))
        accelerators = []
        nodes = self.node_rows(name)
        for model, (alloc, free, largest) in sorted(models.items()):
            mine = nodes[self.vocabulary.kind_columns[1][self.nodes.kind[nodes]] == model]
            devices = np.maximum(self.nodes.free(mine)[0], 0)
            resource = self.vocabulary.models[model][0] or ""
            hosts = tuple(int((devices >= k).sum()) for k in range(1, 9))
            accelerators.append(ModelCapacity(self.vocabulary.model_name(model), resource, alloc, free, largest, hosts))
        return Capacity(
            nodes=int(self.table.members[i]),
            schedulable_nodes=int(block[:, COUNT].sum()),
            allocatable={"cpu": int(block[:, CPU_ALLOC].sum()), "memory": int(block[:, MEM_ALLOC].sum())},
            free={"cpu": int(block[:, CPU_SUM].sum()), "memory": int(block[:, MEM_SUM].sum())},
            accelerators=tuple(accelerators),
        )
