"""DRA devices as placement sees them: what a node offers, what a task's claims ask, and how many fit.

Kubernetes Dynamic Resource Allocation (``resource.k8s.io/v1``) publishes devices in ResourceSlices
and lets pods claim them through ResourceClaims made from ResourceClaimTemplates. The member layer
reduces those objects to the typed facts below; placement only counts:

- `NodeDevices`: per node, devices of one driver, model and shape (attributes and capacity, what a
  selector can see), in total and free (a device is taken while an allocated claim lists it, the
  allocator's ``deviceInUse``);
- `DeviceCatalog`: per identifier, the member's DeviceClasses and the ResourceClaimTemplates of the
  identifier's target namespace, their CEL selectors compiled (`dra_cel`);
- `PodClaim`: the pod template's ``spec.resourceClaims``;
- the task's own templates: the ResourceClaimTemplates of the task's namespace on the hub, which
  travel to the member with the workload, so they take precedence over the member's.

`device_need` resolves the claims of a task against one identifier's catalog into device counts
per replica, keyed by the filter a device must pass (`DeviceFilter`: the class's selectors, then
the request's), or says why it cannot: a template or class that does not exist, a selector that
does not compile, a feature placement does not evaluate (the member's allocator would, so placing
blind is refused). `table_slots` then tells, per node, how many replicas the node's free devices
hold.

Mirrors the structured allocator of k8s.io/dynamic-resource-allocation v0.36.3
(``structured/internal/stable/allocator_stable.go``: ExactCount takes ``count`` devices, All takes
every matching device of the node and fails when one is in use; a device is matched by the class's
selectors, then the request's, ``isSelectable``/``selectorsMatch``), as driven by the
DynamicResources plugin of kube-scheduler v1.36.3 (``pkg/scheduler/framework/plugins/dynamicresources``).
Where upstream's allocator meets a CEL runtime error on a device (a missing attribute, say), it
aborts the pod's scheduling attempt with that error; placement does not count a node holding such a
device for that claim (the member's scheduler could not allocate there) and says why.

Requests with different filters may compete for the same devices: a node holds `n` replicas when,
for every set of the task's filters, the free devices passing any of them hold `n` times what those
filters ask together (Hall's condition for the allocation as a transportation problem; exact for up
to `_SUBSETS_UP_TO` distinct filters, the single filters and all of them together beyond).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from computenet.placement.arrays import BoolArray, IntArray, distinct, ranges
from computenet.placement.dra_cel import DeviceShape, Selector, all_match

ANY_DRIVER = ""
"""The key of a need that any device satisfies (a DeviceClass and a request without selectors)."""


@dataclass(frozen=True, slots=True)
class NodeDevices:
    """Devices one driver publishes for one node, of one model ("" when no attribute names it) and shape.

    `shape` None: only the driver is known (the device matches selectors on ``device.driver`` only).
    """

    driver: str
    model: str
    total: int
    free: int
    shape: DeviceShape | None = None

    @property
    def seen(self) -> DeviceShape:
        """What a selector sees of these devices."""
        return self.shape if self.shape is not None else DeviceShape(self.driver)


@dataclass(frozen=True, slots=True)
class DeviceClass:
    """A member's DeviceClass: its compiled selectors (none: every device), or why placement cannot use it.

    A non-empty `problem` names the selector that does not compile (``spec.selectors[i].cel.expression``).
    """

    name: str
    selectors: tuple[Selector, ...] = ()
    problem: str = ""
    extended_resource: str | None = None
    """``spec.extendedResourceName``: the extended resource whose requests the class serves (KEP-5004)."""
    created: str = ""
    """``metadata.creationTimestamp`` (RFC 3339, UTC): the newer of two classes serving one name wins."""


@dataclass(frozen=True, slots=True)
class DeviceRequest:
    """One request of a claim: `count` devices of a class (ExactCount), or all of them (`all`)."""

    name: str
    device_class: str
    count: int = 1
    all: bool = False
    problem: str = ""
    """What placement cannot evaluate in this request (a selector that does not compile, firstAvailable, ...)."""
    selectors: tuple[Selector, ...] = ()


@dataclass(frozen=True, slots=True)
class ClaimTemplate:
    """A ResourceClaimTemplate: of the identifier's target namespace, or of the task's namespace on the hub."""

    name: str
    requests: tuple[DeviceRequest, ...] = ()
    problem: str = ""


@dataclass(frozen=True)
class DeviceCatalog:
    """What an identifier's member says about DRA: its classes and the templates its tasks may name.

    A non-empty `problem` says why the member's DRA objects are not known (not readable, not served).
    """

    classes: Mapping[str, DeviceClass] = field(default_factory=dict)
    templates: Mapping[str, ClaimTemplate] = field(default_factory=dict)
    problem: str = ""


@dataclass(frozen=True, slots=True)
class PodClaim:
    """One entry of the pod template's ``resourceClaims``: a template's name, or an existing claim's."""

    name: str
    template: str | None = None
    claim: str | None = None


@dataclass(frozen=True, slots=True)
class Need:
    """Devices passing one filter that one replica claims: `count`, plus all of them if `all`."""

    count: int = 0
    all: bool = False


Needs = Mapping[str, Need]
"""Per filter key (see `DeviceFilter`), what one replica claims."""


@dataclass(frozen=True, eq=False)
class DeviceFilter:
    """What a device must pass to serve a request: its class's selectors, then the request's.

    `key` names it in needs and assumptions: `ANY_DRIVER` without selectors, the driver's name when
    the only selectors are ``device.driver == "<name>"``, else the expressions in JSON.
    """

    key: str
    label: str
    selectors: tuple[Selector, ...] = ()
    driver: str | None = None

    def matches(self, shape: DeviceShape) -> bool | str:
        """True or False, or the CEL runtime error the member's allocator would meet on this device."""
        if self.driver is not None:
            return shape.driver == self.driver
        return all_match(self.selectors, shape)


_FILTERS: dict[str, DeviceFilter] = {ANY_DRIVER: DeviceFilter(ANY_DRIVER, "any-driver")}
"""Every filter a need has named, by key: assumptions hold devices by key, and later decisions
evaluate those keys against devices (few: the tasks of a pool name the same few templates)."""


_DRIVER_IS = re.compile(r"""^\s*device\.driver\s*==\s*(?:"([^"\\]*)"|'([^'\\]*)')\s*$""")
_IS_DRIVER = re.compile(r"""^\s*(?:"([^"\\]*)"|'([^'\\]*)')\s*==\s*device\.driver\s*$""")


def _driver_of(selector: Selector) -> str | None:
    """The driver a ``device.driver == "<name>"`` selector (either side) admits; None for anything else."""
    match = _DRIVER_IS.match(selector.expression) or _IS_DRIVER.match(selector.expression)
    if match is None:
        return None
    return match[1] if match[1] is not None else match[2]


_BY_EXPRESSIONS: dict[tuple[str, tuple[str, ...]], DeviceFilter] = {}
"""`device_filter`'s answer per (class name, expressions): a thousand members' catalogs compile the same
selectors into distinct objects, and each answer is the filter `_FILTERS` keeps for good."""


def device_filter(device_class: str, selectors: tuple[Selector, ...]) -> DeviceFilter:
    """The filter of a request of class `device_class` whose class and own selectors are `selectors`."""
    if not selectors:
        return _FILTERS[ANY_DRIVER]
    asked = (device_class, tuple(s.expression for s in selectors))
    known = _BY_EXPRESSIONS.get(asked)
    if known is not None:
        return known
    found = _BY_EXPRESSIONS[asked] = _device_filter(device_class, selectors)
    return found


def _device_filter(device_class: str, selectors: tuple[Selector, ...]) -> DeviceFilter:
    drivers = {_driver_of(s) for s in selectors}
    if len(drivers) == 1 and None not in drivers:
        driver = drivers.pop()
        assert driver is not None
        key, label = driver, driver
    else:
        driver = None
        key = json.dumps([s.expression for s in selectors])
        shown = "; ".join(_short(s.expression) for s in selectors)
        label = f"DeviceClass {device_class!r} (selectors: {shown})"
    found = _FILTERS.get(key)
    if found is None:
        found = _FILTERS[key] = DeviceFilter(key, label, selectors, driver)
    return found


def filter_of(key: str) -> DeviceFilter | None:
    """The filter a need's key names (None for a key no need of this process has named)."""
    return _FILTERS.get(key)


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 80 else flat[:77] + "..."


def device_need(
    catalog: DeviceCatalog | None, claims: Iterable[PodClaim], own: Mapping[str, ClaimTemplate] | None = None
) -> Needs | str:
    """What the claims ask of an identifier, per filter; or why placement cannot tell (naming the claim).

    `own` are the task's templates by name (those that travel with its workload): a template found
    there is the one evaluated, whatever the member's target namespace holds; the member's classes
    still decide which devices pass.
    """
    own = own or {}
    needs: dict[str, Need] = {}
    for claim in claims:
        where = f"resourceClaims {claim.name!r}"
        if claim.template is None:
            named = f"names ResourceClaim {claim.claim!r}" if claim.claim else "names no resourceClaimTemplateName"
            return f"{where} {named}: placement evaluates only claims made from a resourceClaimTemplateName"
        if catalog is None:
            return f"{where}: the member's DRA devices are not known to the operator"
        if catalog.problem:
            return f"{where}: {catalog.problem}"
        template = own.get(claim.template) or catalog.templates.get(claim.template)
        if template is None:
            return (
                f"{where}: ResourceClaimTemplate {claim.template!r} does not exist in the target namespace, "
                "nor in the task's namespace on the hub (from where it would travel with the workload)"
            )
        if template.problem:
            return f"{where}: ResourceClaimTemplate {claim.template!r} {template.problem}"
        for request in template.requests:
            at = f"{where}, request {request.name!r}"
            if request.problem:
                return f"{at}: {request.problem}"
            device_class = catalog.classes.get(request.device_class)
            if device_class is None:
                return f"{at}: DeviceClass {request.device_class!r} does not exist in the member"
            if device_class.problem:
                return f"{at}: DeviceClass {request.device_class!r} {device_class.problem}"
            key = device_filter(device_class.name, device_class.selectors + request.selectors).key
            held = needs.get(key, Need())
            needs[key] = Need(held.count + (0 if request.all else request.count), held.all or request.all)
    return needs


@dataclass(frozen=True, slots=True)
class DeviceAnswers:
    """What one task's claims ask of every identifier of a snapshot, in few distinct answers.

    `of[i]` is the index in `answers` of identifier i's answer: its needs, or why placement cannot
    tell. Identifiers whose members hold alike classes and templates share an answer.
    """

    of: IntArray
    answers: tuple[Needs | str, ...]


_ANSWERS: list[tuple[tuple[object, ...], tuple[PodClaim, ...], tuple[ClaimTemplate, ...], DeviceAnswers]] = []
"""The answers for the last few (identifiers, claims): snapshots share their identifiers until one of
them changes, and the tasks of a pool name the same few templates, so the claims of a task are
resolved against a thousand catalogs once, not once per decision (matched by identity, kept referenced)."""
_ANSWERS_KEPT = 8


def shared_answers(
    identifiers: tuple[Any, ...], claims: tuple[PodClaim, ...], own: tuple[ClaimTemplate, ...] = ()
) -> DeviceAnswers:
    """`device_need` of `claims` (with the task's `own` templates) against each identifier's `devices` catalog.

    Remembered (see `_ANSWERS`).
    """
    for known, asked, owned, found in _ANSWERS:
        if known is identifiers and asked == claims and owned == own:
            return found
    by_name = {t.name: t for t in own}
    index: dict[object, int] = {}
    answers: list[Needs | str] = []
    groups, catalogs = catalog_groups(identifiers)
    per_group = np.zeros(len(catalogs), dtype=np.int64)
    for g, catalog in enumerate(catalogs):  # in order of first use, so answers keep that order too
        answer = device_need(catalog, claims, by_name)
        key: object = answer if isinstance(answer, str) else tuple(sorted(answer.items()))
        at = index.get(key)
        if at is None:
            at = index[key] = len(answers)
            answers.append(answer)
        per_group[g] = at
    found = DeviceAnswers(per_group[groups], tuple(answers))
    _ANSWERS.insert(0, (identifiers, claims, own, found))
    del _ANSWERS[_ANSWERS_KEPT:]
    return found


_GROUPS: list[tuple[tuple[Any, ...], tuple[IntArray, tuple[DeviceCatalog | None, ...]]]] = []
"""The catalog groups of the last few identifier tuples (matched by identity, kept referenced)."""


def catalog_groups(identifiers: tuple[Any, ...]) -> tuple[IntArray, tuple[DeviceCatalog | None, ...]]:
    """(per identifier: its group, one catalog per group in order of first use): equal catalogs share a group.

    Each member has its own catalog object, yet most members hold the same classes and templates:
    `device_need` reads only a catalog's classes, templates and problem, so catalogs equal in
    those answer alike, and a task's claims are resolved once per group, not once per member.
    A catalog whose contents cannot be hashed is a group of its own. Remembered per tuple of
    identifiers (snapshots share it until an identifier changes).
    """
    for known, found in _GROUPS:
        if known is identifiers:
            return found
    by_object: dict[int, int] = {}
    by_content: dict[object, int] = {}
    catalogs: list[DeviceCatalog | None] = []
    groups = np.zeros(len(identifiers), dtype=np.int64)
    for i, ident in enumerate(identifiers):
        catalog = ident.devices
        g = by_object.get(id(catalog))
        if g is None:
            content = _content(catalog)
            g = by_content.get(content)
            if g is None:
                g = by_content[content] = len(catalogs)
                catalogs.append(catalog)
            by_object[id(catalog)] = g
        groups[i] = g
    found = (groups, tuple(catalogs))
    _GROUPS.insert(0, (identifiers, found))
    del _GROUPS[_ANSWERS_KEPT:]
    return found


def _content(catalog: DeviceCatalog | None) -> object:
    """What `device_need` reads of a catalog, hashable; the catalog's identity if its parts are not."""
    if catalog is None:
        return None
    try:
        content = (tuple(sorted(catalog.classes.items())), tuple(sorted(catalog.templates.items())), catalog.problem)
        hash(content)
    except TypeError:
        return ("catalog", id(catalog))
    return content


def label(key: str) -> str:
    """How messages name the devices of a filter key: the driver, or the class and its selectors."""
    found = _FILTERS.get(key)
    return found.label if found is not None else key


def describe(needs: Needs, classes: Iterable[str] = ()) -> str:
    """How a rejection names the devices: "1 gpu.example.com device" or "all any-driver devices"."""
    parts = []
    for key, need in sorted(needs.items()):
        name = label(key)
        if need.count:
            parts.append(f"{need.count} {name} device{'' if need.count == 1 else 's'}")
        if need.all:
            parts.append(f"all {name} devices")
    return " + ".join(parts) or "no devices"


class _Shapes:
    """Every device shape placement has seen, numbered once (append-only), and what each filter says of them.

    Tables come and go as devices are claimed and released, but shapes stay: a filter is evaluated
    on a shape once per process, not once per table (devices with a uuid each are each a shape).
    """

    def __init__(self) -> None:
        self.ids: dict[DeviceShape, int] = {}
        self.shapes: list[DeviceShape] = []
        self.passes: dict[str, tuple[BoolArray, BoolArray]] = {}
        self.errors: dict[str, str] = {}

    def id(self, shape: DeviceShape) -> int:
        found = self.ids.get(shape)
        if found is None:
            found = self.ids[shape] = len(self.shapes)
            self.shapes.append(shape)
        return found

    def of(self, key: str) -> tuple[BoolArray, BoolArray]:
        """Per shape id: whether filter `key` admits it, and whether evaluating it fails (a runtime error).

        A key no need of this process named admits every shape (assumed devices count against all).
        """
        flt = _FILTERS.get(key)
        if flt is None:
            return np.ones(len(self.shapes), dtype=bool), np.zeros(len(self.shapes), dtype=bool)
        ok, bad = self.passes.get(key, (np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)))
        if len(ok) < len(self.shapes):
            results = [flt.matches(s) for s in self.shapes[len(ok) :]]
            errors = [r for r in results if isinstance(r, str)]
            if errors and key not in self.errors:
                self.errors[key] = errors[0]
            ok = np.concatenate([ok, np.array([r is True for r in results], dtype=bool)])
            bad = np.concatenate([bad, np.array([isinstance(r, str) for r in results], dtype=bool)])
            self.passes[key] = (ok, bad)
        return ok, bad


_SHAPES = _Shapes()


@dataclass(frozen=True)
class DeviceTable:
    """The devices of every node that has any, as arrays: one row per such node, one entry per (node, shape).

    Built once per set of published devices (snapshots share it until a node's devices change), from
    the previous table where a node's devices are the same objects. A filter is evaluated once per
    distinct shape (devices of one model share theirs, `_Shapes`), and what it admits per node is
    counted in a few vector operations, remembered per filter (`counts`).
    """

    rows: IntArray
    """Sorted snapshot rows of the nodes publishing devices."""
    indptr: IntArray
    """Per row i, its entries are indptr[i]:indptr[i + 1]."""
    shape: IntArray
    """Per entry: its shape id (`_Shapes`)."""
    total: IntArray
    """Per entry: devices published."""
    free: IntArray
    """Per entry: devices no allocated claim lists."""
    index: IntArray
    """By node row (up to the largest in `rows`, then one more): its index in `rows`, or -1."""
    source: Mapping[int, tuple[NodeDevices, ...]] = field(default_factory=dict, repr=False)
    """The mapping the table was built from (the next table reuses the rows whose devices it shares)."""
    _counts: dict[tuple[str, ...], tuple[IntArray, IntArray, IntArray]] = field(default_factory=dict, repr=False)
    _entries: list[tuple[object, object, IntArray]] = field(default_factory=list, repr=False)
    _slots: dict[tuple[tuple[tuple[str, Need], ...], int, bool], IntArray] = field(default_factory=dict, repr=False)
    _rooms: list[tuple[object, object, object, tuple[IntArray, IntArray, IntArray]]] = field(
        default_factory=list, repr=False
    )
    """What the Devices filter found per identifier for a few (entries, claims) without assumptions, uncapped."""

    @property
    def at(self) -> IntArray:
        """Per entry: its node's index in `rows`."""
        found: IntArray | None = self.__dict__.get("_at")
        if found is None:
            found = np.repeat(np.arange(len(self.rows), dtype=np.int64), np.diff(self.indptr))
            self.__dict__["_at"] = found
        return found

    def entries(self, snapshot: Any) -> IntArray:
        """Sorted entries of `snapshot` holding a node of this table (remembered while its entries stay)."""
        for rows, indptr, found in self._entries:
            if rows is snapshot.entries.rows and indptr is snapshot.entries.indptr:
                return found
        fresh: IntArray = snapshot.entries_of_rows(self.rows)
        self._entries.insert(0, (snapshot.entries.rows, snapshot.entries.indptr, fresh))
        del self._entries[2:]
        return fresh

    def locate(self, rows: IntArray) -> tuple[IntArray, BoolArray]:
        """For node `rows`: their index in this table (0 where absent), and whether they are in it at all."""
        at = self.index.take(rows, mode="clip")  # rows past the last are clipped onto its trailing -1
        hit = at >= 0
        return np.maximum(at, 0, out=at), hit

    def passes(self, key: str) -> tuple[BoolArray, BoolArray]:
        """Per shape id: whether filter `key` admits it, and whether it fails there (see `_Shapes.of`)."""
        return _SHAPES.of(key)

    def counts(self, keys: tuple[str, ...]) -> tuple[IntArray, IntArray, IntArray]:
        """Per row: devices any filter of `keys` admits (total, free), and devices on which one fails."""
        found = self._counts.get(keys)
        if found is None:
            admits = np.zeros(len(_SHAPES.shapes), dtype=bool)
            fails = np.zeros(len(_SHAPES.shapes), dtype=bool)
            for key in keys:
                ok, bad = self.passes(key)
                admits |= ok
                fails |= bad
            n, at = len(self.rows), self.at
            mine, bad_entries = admits[self.shape], fails[self.shape]
            found = self._counts[keys] = (
                np.bincount(at[mine], weights=self.total[mine], minlength=n).astype(np.int64),
                np.bincount(at[mine], weights=self.free[mine], minlength=n).astype(np.int64),
                np.bincount(at[bad_entries], weights=self.total[bad_entries], minlength=n).astype(np.int64),
            )
        return found

    def fails(self, keys: tuple[str, ...]) -> bool:
        """Whether a filter of `keys` fails on some device of this table."""
        return bool(self.counts(keys)[2].any())

    def error(self, keys: Iterable[str]) -> str:
        """The runtime error of the first filter of `keys` failing on a device here ("" if none does)."""
        for key in keys:
            bad = self.passes(key)[1]
            failing = np.flatnonzero(bad[self.shape])
            if len(failing):
                found = _FILTERS[key].matches(_SHAPES.shapes[int(self.shape[failing[0]])])
                return found if isinstance(found, str) else ""
        return ""

    def overlaps(self, held_key: str, keys: tuple[str, ...]) -> bool:
        """Whether devices filter `held_key` admits may be devices one of `keys` admits (some shape passes both)."""
        ok = self.passes(held_key)[0]
        return any(bool((ok & self.passes(key)[0]).any()) for key in keys)


def table_of(by_row: Mapping[int, tuple[NodeDevices, ...]], previous: DeviceTable | None = None) -> DeviceTable:
    """The devices of `by_row` (node row -> its devices) as a `DeviceTable`.

    Rows whose devices are the very objects `previous` was built from are copied from it in a few
    vector operations; only the others are read device by device.
    """
    rows = np.array(sorted(by_row), dtype=np.int64)
    n = len(rows)
    lengths = np.zeros(n, dtype=np.int64)
    reused_from = np.full(n, -1, dtype=np.int64)
    fresh: list[tuple[int, int, int, int]] = []  # (row index, shape id, total, free)
    before = previous.source if previous is not None else {}
    for i, row in enumerate(rows.tolist()):
        devices = by_row[row]
        if previous is not None and before.get(row) is devices:
            j = int(previous.index[row]) if row < len(previous.index) else -1
            if j >= 0:
                reused_from[i] = j
                lengths[i] = previous.indptr[j + 1] - previous.indptr[j]
                continue
        lengths[i] = len(devices)
        fresh.extend((i, _SHAPES.id(d.seen), d.total, d.free) for d in devices)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    size = int(indptr[-1])
    shape = np.zeros(size, dtype=np.int64)
    total = np.zeros(size, dtype=np.int64)
    free = np.zeros(size, dtype=np.int64)
    reused = np.flatnonzero(reused_from >= 0)
    if previous is not None and len(reused):
        source, _ = ranges(previous.indptr, reused_from[reused])
        target, _ = ranges(indptr, reused)
        shape[target], total[target], free[target] = (
            previous.shape[source],
            previous.total[source],
            previous.free[source],
        )
    if fresh:
        built = np.array(fresh, dtype=np.int64)
        mine = np.flatnonzero(reused_from < 0)
        target, _ = ranges(indptr, mine)
        shape[target], total[target], free[target] = built[:, 1], built[:, 2], built[:, 3]
    index = np.full(int(rows[-1]) + 2 if n else 1, -1, dtype=np.int64)
    index[rows] = np.arange(n)
    return DeviceTable(rows, indptr, shape, total, free, index, by_row)


_TABLES: list[tuple[Mapping[int, tuple[NodeDevices, ...]], DeviceTable]] = []
"""The tables of the last few device mappings: snapshots share their mapping until a node's devices
change, so one table serves every decision in between (matched by identity, and kept referenced)."""
_KEPT = 2


def shared_table(by_row: Mapping[int, tuple[NodeDevices, ...]]) -> DeviceTable:
    """`table_of(by_row)`, built once per mapping, from the last table where nodes kept their devices."""
    for known, table in _TABLES:
        if known is by_row:
            return table
    table = table_of(by_row, _TABLES[0][1] if _TABLES else None)
    _TABLES.insert(0, (by_row, table))
    del _TABLES[_KEPT:]
    return table


def _held(table: DeviceTable, held: Mapping[int, Mapping[str, int]], keys: tuple[str, ...], at: IntArray) -> IntArray:
    """Per table row of `at`, devices assumptions hold under filters that may take what `keys` admit."""
    out = np.zeros(len(at), dtype=np.int64)
    if not held:
        return out
    rows = np.fromiter(held, dtype=np.int64, count=len(held))
    where, hit = table.locate(rows)
    overlapping: dict[str, bool] = {}  # per held key: whether it may take what `keys` admit
    per_index: dict[int, int] = {}
    for i, row in zip(where[hit].tolist(), rows[hit].tolist(), strict=True):
        count = 0
        for key, n in held[row].items():
            found = overlapping.get(key)
            if found is None:
                found = overlapping[key] = table.overlaps(key, keys)
            count += n if found else 0
        if count:
            per_index[i] = per_index.get(i, 0) + count
    if not per_index:
        return out
    indices = np.fromiter(per_index, dtype=np.int64, count=len(per_index))
    counts = np.fromiter(per_index.values(), dtype=np.int64, count=len(per_index))
    order = np.argsort(indices)
    indices, counts = indices[order], counts[order]
    slot = np.minimum(np.searchsorted(indices, at), len(indices) - 1)
    mine = indices[slot] == at
    out[mine] = counts[slot[mine]]
    return out


_SUBSETS_UP_TO = 6
"""Up to this many distinct filters in one task, every set of them is checked (2^n - 1 sets)."""


def _groups(keys: list[str]) -> list[tuple[str, ...]]:
    if len(keys) <= _SUBSETS_UP_TO:
        return [group for size in range(1, len(keys) + 1) for group in combinations(keys, size)]
    return [(key,) for key in keys] + [tuple(keys)]


def table_slots(
    table: DeviceTable, needs: Needs, held: Mapping[int, Mapping[str, int]], cap: int, *, allocatable: bool = False
) -> IntArray:
    """Per table row: replicas (at most `cap`) whose claims the node's devices satisfy at once.

    `held` is what assumptions hold per node row and filter key. With `allocatable`, every device
    counts as free (the most the member's scheduler could ever put there). For every set of the
    needs' filters, the free devices passing any of them must hold what the set asks per replica
    (see the module docstring). All-mode needs every matching device of the node, free, and at
    least one: a node holds one such replica at most. A node where a filter fails on a device holds
    none.

    What the table's devices hold without assumptions is remembered per (needs, cap); the few rows
    assumptions touch are then counted again.
    """
    key = (tuple(sorted(needs.items())), cap, allocatable)
    base = table._slots.get(key)
    if base is None:
        base = table._slots[key] = _slots(table, needs, {}, cap, allocatable, np.arange(len(table.rows)))
    if allocatable or not held:
        return base
    rows = np.fromiter(held, dtype=np.int64, count=len(held))
    at, hit = table.locate(rows)
    at = distinct(at[hit])
    if not len(at):
        return base
    out = base.copy()
    out[at] = _slots(table, needs, held, cap, allocatable, at)
    return out


FEW_ROWS = 8
"""`slots_at` counts the rows asked alone when they are fewer than 1/FEW_ROWS of the table's."""


def slots_at(
    table: DeviceTable,
    needs: Needs,
    held: Mapping[int, Mapping[str, int]],
    cap: int,
    at: IntArray,
    *,
    allocatable: bool = False,
) -> IntArray:
    """``table_slots(table, needs, held, cap, allocatable=allocatable)[at]`` for the table rows `at`.

    When the table does not yet remember the (needs, cap) answer for all its rows and `at` is a
    small part of them (the nodes of the few identifiers a gang is assigned to), only those rows are
    counted: the same numbers, without a pass over every node holding devices for one decision.
    When it does, the remembered answer is read for `at` and only the rows of `at` holding assumed
    devices are counted again (`table_slots` would copy the answer for every row first).
    """
    key = (tuple(sorted(needs.items())), cap, allocatable)
    base = table._slots.get(key)
    if base is None and len(at) * FEW_ROWS >= len(table.rows):
        return table_slots(table, needs, held, cap, allocatable=allocatable)[at]
    if base is None:
        return _slots(table, needs, {} if allocatable else held, cap, allocatable, at)
    out: IntArray = base[at]
    if allocatable or not held:
        return out
    rows = np.fromiter(held, dtype=np.int64, count=len(held))
    where, hit = table.locate(rows)
    mine = np.flatnonzero(np.isin(at, where[hit]))  # the rows asked that assumptions hold devices on
    if len(mine):
        out[mine] = _slots(table, needs, held, cap, allocatable, at[mine])
    return out


def _slots(
    table: DeviceTable,
    needs: Needs,
    held: Mapping[int, Mapping[str, int]],
    cap: int,
    allocatable: bool,
    at: IntArray,
) -> IntArray:
    """`table_slots` for the table rows `at`."""
    size = len(at)
    slots = np.full(size, cap, dtype=np.int64)
    keys = sorted(needs)
    totals: dict[str, IntArray] = {}
    for key in keys:
        total, free, failing = (a[at] for a in table.counts((key,)))
        totals[key] = total
        slots = np.where(failing > 0, 0, slots)
        if needs[key].all:
            free = total if allocatable else np.maximum(free - _held(table, held, (key,), at), 0)
            whole = (total > 0) & (free >= total)
            slots = np.where(whole, np.minimum(slots, 1), 0)
    for group in _groups(keys):
        per = np.zeros(size, dtype=np.int64)
        for key in group:
            per += needs[key].count
            if needs[key].all:
                per += totals[key]
        total, free, _ = (a[at] for a in table.counts(group))
        room = total if allocatable else np.maximum(free - _held(table, held, group, at), 0)
        slots = np.where(per > 0, np.minimum(slots, room // np.maximum(per, 1)), slots)
    return np.maximum(slots, 0)


def node_slots(
    devices: tuple[NodeDevices, ...], needs: Needs, held: Mapping[str, int], cap: int, *, allocatable: bool = False
) -> int:
    """`table_slots` for one node's devices (0 without any)."""
    if not devices:
        return 0
    return int(table_slots(table_of({0: devices}), needs, {0: held}, cap, allocatable=allocatable)[0])


def admitted(devices: Iterable[NodeDevices], keys: Iterable[str]) -> tuple[int, int]:
    """(total, free) of `devices` that one of the filters `keys` admits."""
    filters = [f for f in (_FILTERS.get(k) for k in keys) if f is not None]
    total = free = 0
    for d in devices:
        if any(f.matches(d.seen) is True for f in filters):
            total += d.total
            free += d.free
    return total, free


def hold(devices: tuple[NodeDevices, ...], needs: Needs, replicas: int) -> tuple[tuple[str, int], ...]:
    """What `replicas` replicas claim on a node, per filter key (All-mode needs take what the filter admits)."""
    out = []
    for key, need in sorted(needs.items()):
        per = need.count + (admitted(devices, (key,))[0] if need.all else 0)
        if per * replicas:
            out.append((key, per * replicas))
    return tuple(out)


# ---- KEP-5004: extended resources served by DRA devices ----
#
# A DeviceClass with ``spec.extendedResourceName`` (and every class, through its implicit name
# ``deviceclass.resource.kubernetes.io/<class>``) serves pods' requests for that extended resource
# from DRA devices (DRAExtendedResource, beta and on in 1.36). Ported from kube-scheduler v1.36.3:
# ``pkg/scheduler/framework/plugins/dynamicresources/extendeddynamicresources.go``
# (``filterExtendedResources``), ``noderesources/fit.go`` (``shouldDelegateResourceToDRA``),
# ``pkg/scheduler/util/utils.go`` (``IsDRAExtendedResourceName``) and k8s.io/dynamic-resource-allocation
# v0.36.3 ``deviceclass/extendedresourcecache`` (which class serves a name). On each node, a request
# is served by the device plugin when the node's allocatable has the resource (more than zero), by
# DRA devices of the class otherwise: never by both, so devices are counted once (kueue#9868).

DEVICE_CLASS_PREFIX = "deviceclass.resource.kubernetes.io/"
"""``resourceapi.ResourceDeviceClassPrefix``: the implicit extended resource name of every class."""

_QUALIFIED = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")


def is_extended_resource_name(name: str) -> bool:
    """``v1helper.IsExtendedResourceName``: a domain-prefixed name outside ``kubernetes.io/``.

    The name must also be valid as ``requests.<name>`` (a qualified name).
    """
    if "/" not in name or "kubernetes.io/" in name or name.startswith("requests."):
        return False
    prefix, _, rest = f"requests.{name}".partition("/")
    return 0 < len(prefix) <= 253 and 0 < len(rest) <= 63 and _QUALIFIED.match(rest) is not None


def is_dra_extended_resource_name(name: str) -> bool:
    """``IsDRAExtendedResourceName``: an extended resource name, or a class's implicit one."""
    return is_extended_resource_name(name) or name.startswith(DEVICE_CLASS_PREFIX)


def extended_resource_classes(classes: Iterable[DeviceClass]) -> dict[str, DeviceClass]:
    """Which class serves each extended resource name (``ExtendedResourceCache``).

    Every class serves its implicit name; an explicit ``extendedResourceName`` claimed by several
    classes goes to the newest (``creationTimestamp``), the lower name breaking a tie.
    """
    found: dict[str, DeviceClass] = {}
    for c in classes:
        found[DEVICE_CLASS_PREFIX + c.name] = c
    for c in classes:
        if not c.extended_resource:
            continue
        held = found.get(c.extended_resource)
        if held is None or c.created > held.created or (c.created == held.created and c.name < held.name):
            found[c.extended_resource] = c
    return found


@dataclass(frozen=True, slots=True)
class ExtendedSupply:
    """How one node serves a pod's extended resource requests (``filterExtendedResources``).

    `dra` maps each DeviceClass to the devices it must allocate per pod (ExactCount of the
    request); `plugin` names the resources the node's allocatable serves (the device plugin's,
    checked by NodeResourcesFit); `missing` those neither serves (the pod does not fit the node).
    """

    dra: Mapping[str, int] = field(default_factory=dict)
    plugin: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


def extended_supply(
    requests: Mapping[str, int], allocatable: Mapping[str, int], served: Mapping[str, DeviceClass]
) -> ExtendedSupply:
    """How a node with `allocatable` serves a pod's `requests` (resource -> amount).

    `served` is `extended_resource_classes` of the member's classes. A request of zero asks
    nothing. A resource the node's allocatable has (more than zero) is the device plugin's, even
    when a class serves it too: the node's DRA devices are not counted for it. Otherwise a class
    serving it asks its devices through DRA, as many as the pod requests (upstream asks per
    container, ``createRequestsAndMappings``; the pod's effective request is their total).
    """
    dra: dict[str, int] = {}
    plugin: list[str] = []
    missing: list[str] = []
    for name, amount in sorted(requests.items()):
        if amount == 0 or not is_dra_extended_resource_name(name):
            continue
        backed = served.get(name)
        if backed is not None and allocatable.get(name, 0) == 0:
            dra[backed.name] = dra.get(backed.name, 0) + amount
        elif name in allocatable:
            plugin.append(name)
        else:
            missing.append(name)
    return ExtendedSupply(dra, tuple(plugin), tuple(missing))


def extended_needs(supply: ExtendedSupply, classes: Mapping[str, DeviceClass]) -> Needs:
    """The devices `supply.dra` asks, keyed like a claim's needs (the class's selectors)."""
    needs: dict[str, Need] = {}
    for name, count in sorted(supply.dra.items()):
        key = device_filter(name, classes[name].selectors).key
        needs[key] = Need(needs.get(key, Need()).count + count)
    return needs


def counted_once(
    devices: tuple[NodeDevices, ...], allocatable: Mapping[str, int], served: Mapping[str, DeviceClass]
) -> tuple[NodeDevices, ...]:
    """A node's DRA devices less those a class serves as an extended resource its allocatable has.

    The device plugin's count stands for them: the same GPUs are never counted twice.
    """
    shadowed = [
        device_filter(c.name, c.selectors)
        for name, c in served.items()
        if c.extended_resource == name and allocatable.get(name, 0) > 0
    ]
    if not shadowed:
        return devices
    return tuple(d for d in devices if not any(f.matches(d.seen) is True for f in shadowed))


@dataclass(frozen=True, slots=True)
class ServedDevices:
    """A node's accelerator resource served by DRA devices of one class (KEP-5004), as placement counts it.

    `resource` is the class's ``extendedResourceName`` the node's allocatable lacks; `total` and
    `free` count the node's devices the class admits (free: no allocated claim lists them); `model`
    is theirs when they all share one, else "" (a task naming a model never lands there).
    """

    resource: str
    device_class: str
    model: str
    total: int
    free: int
    key: str = ANY_DRIVER
    """The class's filter key (`DeviceFilter`): how assumptions hold its devices for claims to see."""

    def taken_by(self, devices: tuple[NodeDevices, ...], held: Iterable[tuple[str, int]]) -> int:
        """Of the devices claims hold on the node (per filter key), those this class could serve too."""
        mine = _FILTERS.get(self.key)
        if mine is None:
            return 0
        shared = [d for d in devices if mine.matches(d.seen) is True]
        out = 0
        for key, count in held:
            flt = _FILTERS.get(key)
            if key == self.key or (flt is not None and any(flt.matches(d.seen) is True for d in shared)):
                out += count
        return out


def served_accelerator(
    devices: tuple[NodeDevices, ...], allocatable: Mapping[str, int], served: Mapping[str, DeviceClass]
) -> ServedDevices | None:
    """The accelerator resource a node serves through DRA devices, or None (``filterExtendedResources``).

    A class's explicit ``extendedResourceName`` that the node's allocatable lacks (or has at zero) is
    served by the class's devices on the node, one device per unit requested (upstream's
    ``createRequestsAndMappings`` asks ExactCount devices per container request; over a pod's
    containers, init containers and sidecars that totals the pod's effective request). A node whose
    allocatable has the resource serves it through its device plugin only (None here: its DRA
    devices are not counted a second time). Implicit names (``deviceclass.resource.kubernetes.io/``)
    name no accelerator a task asks for, so they are not offered. Of several served resources with
    devices on the node, the one with the most devices (then the lowest name), as placement keeps one
    accelerator resource per node.
    """
    if not devices:
        return None
    best: ServedDevices | None = None
    for name, c in sorted(served.items()):
        if c.extended_resource != name or allocatable.get(name, 0) > 0:
            continue
        flt = device_filter(c.name, c.selectors)
        mine = [d for d in devices if flt.matches(d.seen) is True]
        total = sum(d.total for d in mine)
        if not total or (best is not None and total <= best.total):
            continue
        models = {d.model for d in mine}
        model = models.pop() if len(models) == 1 else ""
        best = ServedDevices(name, c.name, model, total, sum(d.free for d in mine), flt.key)
    return best
