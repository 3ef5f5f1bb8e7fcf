"""Everything one decision derives from (snapshot, demand, assumptions), each computed once.

Filters and scores are small because the shared derivations live here: which node kinds suit the
task (architecture, accelerator, taints), which label sets and nodes satisfy its nodeSelector,
nodeName and required node affinity, the model columns a gang may land on, latency and transfer
time to its data, and its price per hour. The fit results (`fit.ensure`) are stored here too, so
the Price filter and the scores reuse what the Resources filter computed, yet each plugin still
works alone on any identifiers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property

import numpy as np

from computenet.placement.accelerators import HOSTNAME_LABEL, lookup
from computenet.placement.affinity import PreferredAffinity, RequiredAffinity
from computenet.placement.affinity_columns import (
    TermColumns,
    any_term,
    any_term_per_label_set,
    rows_named,
    term_columns,
)
from computenet.placement.arrays import BoolArray, FloatArray, IntArray, ranges
from computenet.placement.demand import Demand
from computenet.placement.devices import (
    FEW_ROWS,
    DeviceAnswers,
    DeviceTable,
    Needs,
    shared_answers,
    shared_table,
    slots_at,
    table_slots,
)
from computenet.placement.overlay import Overlay, empty_overlay
from computenet.placement.resources import GIB, VENDOR_RESOURCES, vendor_of
from computenet.placement.slices import offers
from computenet.placement.snapshot import Snapshot
from computenet.placement.transfer import Moves, moves

NOT_COMPUTED = -2
NO_FIT = -1


FEW_IDENTIFIERS = 32
"""Up to this many identifiers, gathering their entries beats one pass over every entry of the snapshot."""


class Context:
    def __init__(self, snapshot: Snapshot, demand: Demand, overlay: Overlay | None = None) -> None:
        self.snapshot = snapshot
        self.demand = demand
        self.overlay = overlay if overlay is not None else empty_overlay(len(snapshot))
        self.replicas = demand.replicas
        self.need = demand.per_replica
        n = len(snapshot)
        self.fit_model: IntArray = np.full(n, NOT_COMPUTED, dtype=np.int64)
        """Per identifier: the model id the gang would run on (0 for cpu-only), or NO_FIT."""
        self.fit_upper: IntArray = np.zeros(n, dtype=np.int64)
        self.fit_lower: IntArray = np.zeros(n, dtype=np.int64)
        self.fit_utilization: FloatArray = np.zeros(n)
        self.fit_price: FloatArray = np.full(n, np.nan)

    # ---- node kinds ----

    @cached_property
    def kind_arch_ok(self) -> BoolArray:
        wanted = self.demand.constraints.architectures
        arch = self.snapshot.vocabulary.kind_columns[0]
        if not wanted:
            return np.ones(len(arch), dtype=bool)
        names = self.snapshot.vocabulary.archs
        return np.isin(arch, [i for i, a in enumerate(names) if a in wanted])

    @cached_property
    def model_ok(self) -> BoolArray:
        """Per model id: whether the task's devices may be of this model (vendor, any-of models, whole or slices).

        Units that are slices or shared replicas (``slices.offers``) serve only a task that asks for them.
        """
        models = self.snapshot.vocabulary.models
        acc = self.demand.accelerators
        if not self.need.accelerators or acc is None:
            return np.ones(len(models), dtype=bool)
        return np.array(
            [
                r is not None
                and (acc.vendor is None or vendor_of(r) == acc.vendor)
                and (acc.resource is None or r == acc.resource)
                and offers(r, name, acc.slices, acc.models)
                for r, name in models
            ],
            dtype=bool,
        )

    @cached_property
    def kind_accelerator_ok(self) -> BoolArray:
        _, model, memory, _ = self.snapshot.vocabulary.kind_columns
        ok = self.model_ok[model]
        acc = self.demand.accelerators
        if self.need.accelerators and acc is not None and acc.min_memory_mib:
            ok = ok & (memory >= acc.min_memory_mib)
        return ok

    @cached_property
    def kind_tolerated(self) -> BoolArray:
        return self.snapshot.vocabulary.kind_tolerated(tuple(self.demand.tolerations))

    @cached_property
    def kind_ok(self) -> BoolArray:
        return self.kind_arch_ok & self.kind_accelerator_ok & self.kind_tolerated

    # ---- labels, names and node affinity ----
    #
    # kube-scheduler admits a node only if the pod's nodeSelector, nodeName and required node
    # affinity all hold (and the identifier's partition selector chose the node in the first
    # place). `label_ok` says per label set whether that is possible at all, `rows_selected` per
    # node row whether it holds. The NodeSelector and NodeAffinity filters report the two halves
    # separately, so a rejection names the constraint that failed.

    @cached_property
    def hostname(self) -> str | None:
        return self.demand.node_selector.get(HOSTNAME_LABEL)

    @cached_property
    def selector_label_ok(self) -> BoolArray | None:
        """Per label set: does it satisfy the pod nodeSelector (hostname aside)? None: no selector."""
        selector = {k: v for k, v in self.demand.node_selector.items() if k != HOSTNAME_LABEL}
        if not selector:
            return None
        vocabulary = self.snapshot.vocabulary
        ok = np.ones(len(vocabulary.label_sets), dtype=bool)
        for key, value in selector.items():  # `nodes.selects`, one label column per pair (columns are kept)
            codes, values = vocabulary.label_column(key)
            ok &= codes == (values.index(value) if value in values else -2)
        return ok

    @cached_property
    def required(self) -> RequiredAffinity | None:
        """The pod's required node affinity, parsed; None when it has none."""
        affinity = self.demand.node_affinity
        if affinity is None or affinity.required is None:
            return None
        return RequiredAffinity.of(affinity.required)

    @cached_property
    def required_columns(self) -> tuple[TermColumns, ...]:
        required = self.required
        return () if required is None else tuple(term_columns(self.snapshot, t) for t in required.terms)

    @cached_property
    def preferred(self) -> PreferredAffinity:
        """The pod's preferred node affinity, parsed (no terms when it has none)."""
        affinity = self.demand.node_affinity
        return PreferredAffinity.of(affinity.preferred if affinity is not None else ())

    @cached_property
    def preferred_columns(self) -> tuple[tuple[int, TermColumns], ...]:
        return tuple((w, term_columns(self.snapshot, t)) for w, t in self.preferred.terms)

    @cached_property
    def label_ok(self) -> BoolArray | None:
        """Per label set: whether its nodes may satisfy nodeSelector, nodeName and required affinity.

        None when the pod constrains nodes by none of them. Exact for nodes without a
        hostname, name or nodeName condition; `rows_selected` is exact for every node.
        """
        size = len(self.snapshot.vocabulary.label_sets)
        if self.required is None:
            if self.selector_label_ok is None and self.hostname is None and self.demand.node_name is None:
                return None
            return self.selector_label_ok if self.selector_label_ok is not None else np.ones(size, dtype=bool)
        affine = any_term_per_label_set(self.required_columns, size)
        return affine if self.selector_label_ok is None else affine & self.selector_label_ok

    @cached_property
    def by_label_set(self) -> bool:
        """Whether `label_ok` decides every node exactly: the pod constrains no node by name."""
        return (
            self.hostname is None
            and self.demand.node_name is None
            and all(t.per_row is None for t in self.required_columns)
        )

    @cached_property
    def named_rows(self) -> BoolArray | None:
        """Over all node rows: the nodeSelector hostname and the nodeName, if the pod names a node."""
        nodes, mask = self.snapshot.nodes, None
        for wanted, column, hashes in (
            (self.hostname, nodes.hostnames, nodes.host_hash),
            (self.demand.node_name, nodes.names, nodes.name_hash),
        ):
            if wanted is not None:
                named = rows_named(column, hashes, (wanted,))
                mask = named if mask is None else mask & named
        return mask

    def rows_by_selector(self, rows: IntArray) -> BoolArray | None:
        """Per node row: do the pod's nodeSelector and nodeName select it? None when it has neither."""
        ok = None if self.selector_label_ok is None else self.selector_label_ok[self.snapshot.nodes.labels[rows]]
        if self.named_rows is not None:
            ok = self.named_rows[rows] if ok is None else ok & self.named_rows[rows]
        return ok

    def rows_by_affinity(self, rows: IntArray) -> BoolArray | None:
        """Per node row: does the required node affinity hold? None when the pod has none."""
        if self.required is None:
            return None
        return any_term(self.snapshot, self.required_columns, rows)

    def rows_selected(self, rows: IntArray) -> BoolArray | None:
        """Per node row: whether the pod may run there (nodeSelector, nodeName, required affinity).

        None when the pod constrains nodes by none of them.
        """
        if self.by_label_set:  # one lookup per row, the verdicts of nodeSelector and affinity already joined
            label_ok = self.label_ok
            return None if label_ok is None else label_ok[self.snapshot.nodes.labels[rows]]
        by_selector, by_affinity = self.rows_by_selector(rows), self.rows_by_affinity(rows)
        if by_selector is None or by_affinity is None:
            return by_affinity if by_selector is None else by_selector
        return by_selector & by_affinity

    @cached_property
    def unevaluated(self) -> tuple[str, ...]:
        """The pod's constraints placement did not evaluate, for the decision to name."""
        extra = ("preferred node affinity (invalid)",) if self.preferred.errors else ()
        return (*self.demand.unevaluated, *extra)

    # ---- DRA devices ----
    #
    # A task whose pod template claims devices through ResourceClaimTemplates fits a node only
    # where the node's free devices satisfy every replica's claims (see `devices`). What the claims
    # ask depends on the identifier (its member's classes, its namespace's templates), save for the
    # task's own templates (from the hub), which travel with it and are evaluated in their place.

    @cached_property
    def claims(self) -> bool:
        """Whether the pod template claims DRA devices."""
        return bool(self.demand.claims)

    @cached_property
    def device_answers(self) -> DeviceAnswers:
        """What the claims ask of each identifier: one answer per distinct catalog outcome (see `devices`)."""
        return shared_answers(self.snapshot.identifiers, self.demand.claims, self.demand.claim_templates)

    def device_needs(self, ident: int) -> Needs | str:
        """What the claims ask of identifier `ident` per driver, or why placement cannot tell."""
        answers = self.device_answers
        return answers.answers[int(answers.of[ident])]

    @cached_property
    def device_table(self) -> DeviceTable:
        """The snapshot's published devices as arrays (shared by the decisions on snapshots that share them)."""
        return shared_table(self.snapshot.nodes.devices)

    @property
    def device_rows(self) -> IntArray:
        """Sorted rows of the nodes that publish any DRA device."""
        return self.device_table.rows

    @cached_property
    def device_entries(self) -> IntArray:
        """Sorted entries holding a node that publishes DRA devices (remembered by the shared table)."""
        return self.device_table.entries(self.snapshot)

    def entries_with_devices(self, entries: IntArray) -> BoolArray:
        """Per entry: whether one of its nodes publishes DRA devices."""
        return np.isin(entries, self.device_entries)

    def _group_slots(self, answer: int, allocatable: bool, cap: int, at: IntArray) -> IntArray:
        """Per row of `device_table` in `at`: replicas (at most `cap`) the needs `answer` fit.

        After assumptions unless `allocatable`. Kept for every row once counted for many (see `slots_at`).
        """
        cache: dict[tuple[int, bool, int], IntArray] = self.__dict__.setdefault("_slots_by_answer", {})
        found = cache.get((answer, allocatable, cap))
        if found is not None:
            return found[at]
        needs = self.device_answers.answers[answer]
        assert not isinstance(needs, str)  # only resolved answers are asked for
        table, held = self.device_table, self.overlay.devices
        if len(at) * FEW_ROWS < len(table.rows):
            return slots_at(table, needs, held, cap, at, allocatable=allocatable)
        found = cache[(answer, allocatable, cap)] = table_slots(table, needs, held, cap, allocatable=allocatable)
        return found[at]

    def device_slots(
        self, rows: IntArray, idents: IntArray, *, allocatable: bool = False, cap: int | None = None
    ) -> IntArray:
        """Per row (of identifier `idents[i]`): replicas whose claims its free devices hold, at most `cap`.

        `cap` is the gang size unless given. Assumed devices are taken off; with `allocatable`, every
        device counts as free. Rows without devices, and identifiers whose claims do not resolve, hold none.
        """
        cap = self.replicas if cap is None else cap
        out = np.zeros(len(rows), dtype=np.int64)
        at, hit = self.device_table.locate(rows)
        answers = self.device_answers
        if len(answers.answers) == 1 and hit.all():  # the common case: one answer, rows that all hold devices
            if not isinstance(answers.answers[0], str):
                out = self._group_slots(0, allocatable, cap, at)
            return out
        where = np.flatnonzero(hit)
        if not len(where):
            return out
        groups = answers.of[idents[where]]
        present = np.flatnonzero(np.bincount(groups, minlength=len(answers.answers)))  # no sort: rows are many
        for group in present.tolist():
            if not isinstance(answers.answers[group], str):
                mine = where if len(present) == 1 else where[groups == group]
                out[mine] = self._group_slots(group, allocatable, cap, at[mine])
        return out

    # ---- entries ----

    def entries_of(self, ids: IntArray) -> tuple[IntArray, IntArray]:
        """Entries of the identifiers `ids`, with each entry's position in `ids`."""
        return ranges(self.snapshot.entries.ident_indptr, ids)

    def any_entry(self, ids: IntArray, kind_mask: BoolArray) -> BoolArray:
        """Per identifier in `ids`: whether it has a schedulable node of a kind in `kind_mask`.

        Counted over every entry at once: entries are few (about one per node kind per
        identifier), and one pass is cheaper than gathering the entries of `ids`, unless they are
        few (`FEW_IDENTIFIERS`: a decision among a few named ones).
        """
        e = self.snapshot.entries
        if len(ids) <= FEW_IDENTIFIERS:
            entries, pos = self.entries_of(ids)
            some: BoolArray = np.bincount(pos[kind_mask[e.kind[entries]]], minlength=len(ids)) > 0
            return some
        has: BoolArray = np.bincount(e.ident[kind_mask[e.kind]], minlength=len(self.snapshot)) > 0
        return has[ids]

    def lookup(self, table: Mapping[str, int], names: Iterable[str]) -> BoolArray:
        """A mask over interned ids (regions, providers, ...) that is True for `names`."""
        mask = np.zeros(len(table) + 1, dtype=bool)  # the extra slot stays False for "not interned"
        mask[[table[n] for n in names if n in table]] = True
        return mask

    # ---- model columns ----

    @cached_property
    def columns(self) -> IntArray:
        """Model ids a gang may land on, by name (cpu-only tasks: the single column 0)."""
        if not self.need.accelerators:
            return np.zeros(1, dtype=np.int64)
        vocabulary = self.snapshot.vocabulary
        ids = [m for m in range(len(vocabulary.models)) if self.model_ok[m]]
        return np.array(sorted(ids, key=vocabulary.model_name), dtype=np.int64)

    @cached_property
    def entry_column(self) -> IntArray:
        """Per entry: the model column of its kind if the task can use the kind at all, else -1."""
        kind = self.snapshot.entries.kind
        return np.where(self.kind_ok[kind], self.column_of_kind[kind], -1)

    @cached_property
    def column_of_kind(self) -> IntArray:
        """Per kind: its model's column, or -1 when the task cannot use the kind's model."""
        model = self.snapshot.vocabulary.kind_columns[1]
        if not self.need.accelerators:
            return np.zeros(len(model), dtype=np.int64)
        lookup = np.full(len(self.snapshot.vocabulary.models), -1, dtype=np.int64)
        lookup[self.columns] = np.arange(len(self.columns))
        return lookup[model]

    @cached_property
    def device_label(self) -> str:
        """How rejections name the task's devices: "nvidia.com/gpu (NVIDIA-H100-80GB-HBM3)"."""
        acc = self.demand.accelerators
        if acc is None:
            return "accelerators"
        resources = {lookup(m).resource if lookup(m) else None for m in acc.models}  # type: ignore[union-attr]
        resource = acc.resource or (VENDOR_RESOURCES.get(acc.vendor) if acc.vendor else None)
        if resource is None and len(resources) == 1:
            resource = resources.pop()
        resource = resource or "accelerators"
        return f"{resource} ({'|'.join(acc.models)})" if acc.models else resource

    # ---- data locality and price ----

    @cached_property
    def data_region(self) -> int | None:
        data = self.demand.data
        return None if data is None else self.snapshot.vocabulary.regions.get(data.region)

    @cached_property
    def latency_ms(self) -> FloatArray:
        """Per identifier: latency to the task's data region; 0 in-region unless stated; NaN unknown."""
        table = self.snapshot.table
        if self.data_region is None:
            return np.full(len(self.snapshot), np.nan)
        latency = table.latency_ms[:, self.data_region].copy()
        latency[np.isnan(latency) & (table.region == self.data_region)] = 0.0
        return latency

    @cached_property
    def data_moves(self) -> Moves:
        """Per identifier: the bytes, seconds and egress cost of bringing the task's data into its region."""
        return moves(self.snapshot, self.demand.data)

    @property
    def transfer_seconds(self) -> FloatArray:
        """Per identifier: time to move the task's data there (see `transfer`); 0 in-region; NaN unknown."""
        return self.data_moves.seconds

    def total_cost(self, ids: IntArray) -> FloatArray:
        """Per identifier: price per hour x the data's `hours`, plus the data's egress cost when comparable.

        The egress cost is added only where it is known and quoted in the identifier's own currency
        (otherwise money in two currencies would be added up); nothing is added without data.
        """
        data = self.demand.data
        price = self.fit_price[ids]
        if data is None or not data.located():
            return price
        m = self.data_moves
        cost, quoted = m.cost[ids], m.currency[ids]
        comparable = (quoted == self.snapshot.table.currency[ids]) & ~np.isnan(cost)
        return np.asarray(price * data.hours + np.where(comparable, cost, 0.0), dtype=np.float64)

    def price(self, ids: IntArray, models: IntArray) -> FloatArray:
        """Price per hour of the whole task on each identifier with the given device model; NaN unknown."""
        t, need = self.snapshot.table, self.need
        per_replica = need.cpu / 1000 * t.price_cpu[ids] + need.memory / GIB * t.price_memory[ids]
        if need.accelerators:
            device = t.price_devices[ids, np.maximum(models, 0)]
            per_replica = per_replica + need.accelerators * np.where(models > 0, device, np.nan)
        return np.asarray(per_replica * self.replicas, dtype=np.float64)
