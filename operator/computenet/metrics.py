"""Prometheus metrics: event counters and histograms, plus gauges read from memory at scrape time.

Gauges that describe members, pools and the queue come from `StateCollector`, which reads the
operator's in-memory state on every scrape: nothing is cached between scrapes, so a removed
identifier disappears from the metrics at once. Labels are bounded: identifier, pool, resource,
accelerator model, region, namespace, phase; never a task, pod, node or uid. Units are base units
(seconds, bytes, cores); counters end in `_total`. The list with meanings is in docs/metrics.md, and
tests/unit/test_metrics_docs.py keeps it equal to what the registry exposes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from computenet.api.constants import Phase
from computenet.leader.gauge import leader_gauge

PREFIX = "computenet"
GIB = 1 << 30

# Placement is milliseconds; dispatch latency spans a burst's queueing, up to minutes.
PLACEMENT_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.002,
    0.003,
    0.004,
    0.005,
    0.0075,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    1.0,
)
DISPATCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


@dataclass
class ResourceView:
    """Amounts of one identifier or pool, in base units (cpu in cores, memory in bytes)."""

    capacity: dict[str, float] = field(default_factory=dict)
    allocatable: dict[str, float] = field(default_factory=dict)
    allocated: dict[str, float] = field(default_factory=dict)
    free: dict[str, float] = field(default_factory=dict)


@dataclass
class AcceleratorView:
    capacity: int = 0
    allocatable: int = 0
    allocated: int = 0
    free: int = 0
    largest_free_slot: int = 0


@dataclass
class IdentifierView:
    name: str
    region: str
    ready: bool
    reachable: bool
    nodes: dict[str, int]  # total, ready, schedulable
    resources: ResourceView
    accelerators: dict[str, AcceleratorView]
    watch_restarts: int
    watch_errors: int


@dataclass
class PoolView:
    name: str
    members_ready: int
    members_total: int
    resources: ResourceView
    accelerators: dict[str, AcceleratorView]
    tflops: dict[str, float]
    unknown_models: int


@dataclass
class QueueView:
    tasks_by_phase: dict[tuple[str, str], int]  # (namespace, phase) -> count
    depth: int
    oldest_pending_age_s: float
    stuck: dict[str, int] = field(default_factory=dict)  # phase -> tasks past the phase's expected bound


@dataclass
class StateSources:
    """Callables the collector reads at scrape time (the runtime plugs itself in here)."""

    identifiers: Callable[[], Iterable[IdentifierView]] = lambda: ()
    pools: Callable[[], Iterable[PoolView]] = lambda: ()
    queue: Callable[[], QueueView] = lambda: QueueView({}, 0, 0.0)


class StateCollector(Collector):
    """Gauges of members, pools and the queue, built fresh from memory on every scrape."""

    def __init__(self, sources: StateSources) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        yield from self._identifiers(list(self.sources.identifiers()))
        yield from self._pools(list(self.sources.pools()))
        yield from self._queue(self.sources.queue())

    def _identifiers(self, views: list[IdentifierView]) -> Iterator[Metric]:
        ready = GaugeMetricFamily(
            f"{PREFIX}_identifier_ready",
            "1 if the identifier is Ready for placement.",
            labels=["identifier", "region"],
        )
        reachable = GaugeMetricFamily(
            f"{PREFIX}_identifier_reachable",
            "1 if the member's API server answers.",
            labels=["identifier", "region"],
        )
        nodes = GaugeMetricFamily(
            f"{PREFIX}_identifier_nodes",
            "Nodes of the identifier by state (total, ready, schedulable).",
            labels=["identifier", "region", "state"],
        )
        res = _resource_family(
            "identifier",
            "Resources of the identifier's nodes in base units (cores, bytes), by view.",
            ["identifier", "region"],
        )
        acc = _accelerator_family("identifier", ["identifier", "region"])
        slot = GaugeMetricFamily(
            f"{PREFIX}_identifier_largest_free_slot",
            "Most devices of a model free on one node.",
            labels=["identifier", "region", "model"],
        )
        restarts = CounterMetricFamily(
            f"{PREFIX}_member_watch_restarts",
            "Watch streams (re)started against the identifier's member.",
            labels=["identifier"],
        )
        errors = CounterMetricFamily(
            f"{PREFIX}_member_watch_errors",
            "Failed list or watch requests against the identifier's member.",
            labels=["identifier"],
        )
        for v in views:
            ready.add_metric([v.name, v.region], float(v.ready))
            reachable.add_metric([v.name, v.region], float(v.reachable))
            for state, count in v.nodes.items():
                nodes.add_metric([v.name, v.region, state], count)
            _add_resources(res, [v.name, v.region], v.resources)
            for model, a in v.accelerators.items():
                _add_accelerators(acc, [v.name, v.region, model], a)
                slot.add_metric([v.name, v.region, model], a.largest_free_slot)
            restarts.add_metric([v.name], v.watch_restarts)
            errors.add_metric([v.name], v.watch_errors)
        yield from (ready, reachable, nodes, res, acc, slot, restarts, errors)

    def _pools(self, views: list[PoolView]) -> Iterator[Metric]:
        members = GaugeMetricFamily(
            f"{PREFIX}_pool_members",
            "Identifiers selected by the pool, by state (ready, total).",
            labels=["pool", "state"],
        )
        res = _resource_family(
            "pool", "Resources of the pool's identifiers in base units (cores, bytes), by view.", ["pool"]
        )
        acc = _accelerator_family("pool", ["pool"])
        tflops = GaugeMetricFamily(
            f"{PREFIX}_pool_peak_tflops",
            "Normalized peak dense TFLOPS of the pool's allocatable accelerators, by precision.",
            labels=["pool", "precision"],
        )
        unknown = GaugeMetricFamily(
            f"{PREFIX}_pool_unknown_model_devices",
            "Devices of models missing from the accelerator table (not counted in TFLOPS).",
            labels=["pool"],
        )
        for v in views:
            members.add_metric([v.name, "ready"], v.members_ready)
            members.add_metric([v.name, "total"], v.members_total)
            _add_resources(res, [v.name], v.resources)
            for model, a in v.accelerators.items():
                _add_accelerators(acc, [v.name, model], a)
            for precision, value in v.tflops.items():
                tflops.add_metric([v.name, precision], value)
            unknown.add_metric([v.name], v.unknown_models)
        yield from (members, res, acc, tflops, unknown)

    def _queue(self, q: QueueView) -> Iterator[Metric]:
        phases = GaugeMetricFamily(
            f"{PREFIX}_tasks",
            "ComputeTasks by namespace and phase (every phase, 0 included, for each namespace with tasks).",
            labels=["namespace", "phase"],
        )
        # Every phase of a namespace is exported, zeros too, so "running now" reads 0 rather than no data.
        known = [str(p) for p in Phase]
        for ns in sorted({ns for ns, _ in q.tasks_by_phase}):
            other = sorted(p for n, p in q.tasks_by_phase if n == ns and p not in known)
            for phase in [*known, *other]:
                phases.add_metric([ns, phase], q.tasks_by_phase.get((ns, phase), 0))
        depth = GaugeMetricFamily(f"{PREFIX}_queue_depth", "Tasks waiting for placement (Pending, not suspended).")
        depth.add_metric([], q.depth)
        oldest = GaugeMetricFamily(
            f"{PREFIX}_queue_oldest_pending_age_seconds", "Age of the oldest task waiting for placement."
        )
        oldest.add_metric([], q.oldest_pending_age_s)
        stuck = GaugeMetricFamily(
            f"{PREFIX}_tasks_stuck",
            "Tasks whose phase has not moved for longer than the phase's expected bound (every phase, 0 included).",
            labels=["phase"],
        )
        for phase in known:
            stuck.add_metric([phase], q.stuck.get(phase, 0))
        yield from (phases, depth, oldest, stuck)


_VIEWS = ("capacity", "allocatable", "allocated", "free")


def _resource_family(scope: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{scope}_resource", doc, labels=[*labels, "resource", "view"])


def _accelerator_family(scope: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(
        f"{PREFIX}_{scope}_accelerators",
        f"Accelerator devices of the {scope} per model, by view (capacity, allocatable, allocated, free).",
        labels=[*labels, "model", "view"],
    )


def _add_resources(family: GaugeMetricFamily, labels: list[str], view: ResourceView) -> None:
    for name in _VIEWS:
        for resource, amount in getattr(view, name).items():
            family.add_metric([*labels, resource, name], amount)


def _add_accelerators(family: GaugeMetricFamily, labels: list[str], a: AcceleratorView) -> None:
    for name in _VIEWS:
        family.add_metric([*labels, name], getattr(a, name))


class ByteSecondsCounter(Counter):
    """Counts byte-seconds (the base unit) while callers pass GiB-seconds, the unit of a task's usage."""

    def inc(self, amount: float = 1, exemplar: dict[str, str] | None = None) -> None:
        super().inc(amount * GIB, exemplar)


@dataclass
class Metrics:
    """Every metric the operator exports, registered on one registry (a fresh one per operator)."""

    registry: CollectorRegistry
    placement_duration: Histogram
    placement_cpu: Histogram
    dispatch_latency: Histogram
    status_write_wait: Histogram
    tasks_submitted: Counter
    tasks_finished: Counter
    failovers: Counter
    usage_gpu_seconds: Counter
    usage_core_seconds: Counter
    usage_memory_gib_seconds: Counter  # takes GiB-seconds, exports byte-seconds
    cost: Counter
    leader: Gauge
    agent_report_delay: Histogram
    sources: StateSources
    queue_quota: Gauge
    queue_usage: Gauge
    queue_borrowed: Gauge
    queue_tasks: Gauge
    queue_spend: Gauge
    queue_budget: Gauge
    spend: Counter
    preemptions: Counter
    reserved_capacity: Gauge
    hub_validations: Counter
    data_moved_bytes: Counter
    data_cost: Counter

    @classmethod
    def create(cls) -> Metrics:
        reg = CollectorRegistry(auto_describe=True)
        sources = StateSources()
        reg.register(StateCollector(sources))
        usage_labels = ["pool", "identifier", "namespace"]
        return cls(
            registry=reg,
            placement_duration=Histogram(
                f"{PREFIX}_placement_duration_seconds",
                "Time to decide where a task runs (one placement pass).",
                buckets=PLACEMENT_BUCKETS,
                registry=reg,
            ),
            placement_cpu=Histogram(
                f"{PREFIX}_placement_cpu_seconds",
                "CPU time of the operator's thread to decide where one task runs (no wait for a core).",
                buckets=PLACEMENT_BUCKETS,
                registry=reg,
            ),
            agent_report_delay=Histogram(
                f"{PREFIX}_agent_report_delay_seconds",
                "From a member agent stamping its report to the hub's placement state holding it (agent's clock).",
                buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
                registry=reg,
            ),
            dispatch_latency=Histogram(
                f"{PREFIX}_dispatch_latency_seconds",
                "From a task's creation to its remote Job existing in the member.",
                labelnames=["identifier"],
                buckets=DISPATCH_BUCKETS,
                registry=reg,
            ),
            status_write_wait=Histogram(
                f"{PREFIX}_status_write_wait_seconds",
                "From a status of ours being due (queued, or released from its hold) to the hub having it.",
                labelnames=["kind"],
                buckets=DISPATCH_BUCKETS,
                registry=reg,
            ),
            tasks_submitted=Counter(
                f"{PREFIX}_tasks_submitted",
                "ComputeTasks seen for the first time.",
                labelnames=["namespace"],
                registry=reg,
            ),
            tasks_finished=Counter(
                f"{PREFIX}_tasks_finished",
                "ComputeTasks that reached a terminal phase.",
                labelnames=["namespace", "phase"],
                registry=reg,
            ),
            failovers=Counter(
                f"{PREFIX}_failovers",
                "Tasks re-dispatched away from a lost member.",
                labelnames=["identifier", "namespace"],
                registry=reg,
            ),
            usage_gpu_seconds=Counter(
                f"{PREFIX}_usage_accelerator_seconds",
                "Accelerator-seconds used by finished tasks, by model.",
                labelnames=[*usage_labels, "model"],
                registry=reg,
            ),
            usage_core_seconds=Counter(
                f"{PREFIX}_usage_cpu_core_seconds",
                "CPU core-seconds requested by finished tasks.",
                labelnames=usage_labels,
                registry=reg,
            ),
            usage_memory_gib_seconds=ByteSecondsCounter(
                f"{PREFIX}_usage_memory_byte_seconds",
                "Memory byte-seconds requested by finished tasks.",
                labelnames=usage_labels,
                registry=reg,
            ),
            cost=Counter(
                f"{PREFIX}_cost",
                "Cost of finished tasks from the identifier's prices, by currency.",
                labelnames=[*usage_labels, "currency"],
                registry=reg,
            ),
            leader=leader_gauge(reg),
            sources=sources,
            queue_quota=Gauge(
                f"{PREFIX}_queue_quota",
                "A ComputeQueue's nominal quota per resource (cores, bytes, devices of a model).",
                labelnames=["queue", "pool", "resource"],
                registry=reg,
            ),
            queue_usage=Gauge(
                f"{PREFIX}_queue_usage",
                "What a queue's admitted tasks hold per resource (cores, bytes, devices of a model).",
                labelnames=["queue", "pool", "resource"],
                registry=reg,
            ),
            queue_borrowed=Gauge(
                f"{PREFIX}_queue_borrowed",
                "What a queue holds above its nominal quota, borrowed from idle quota of its pool.",
                labelnames=["queue", "pool", "resource"],
                registry=reg,
            ),
            queue_tasks=Gauge(
                f"{PREFIX}_queue_tasks",
                "A queue's tasks by state: admitted (holding quota) or waiting.",
                labelnames=["queue", "state"],
                registry=reg,
            ),
            queue_spend=Gauge(
                f"{PREFIX}_queue_spend",
                "A queue's spend in the current budget period (calendar month, UTC).",
                labelnames=["queue", "currency"],
                registry=reg,
            ),
            queue_budget=Gauge(
                f"{PREFIX}_queue_budget",
                "A queue's budget per period.",
                labelnames=["queue", "currency"],
                registry=reg,
            ),
            data_moved_bytes=Counter(
                f"{PREFIX}_data_moved_bytes",
                "Bytes the mover Jobs copied between stores to stage tasks' inputs, and tasks' pods pushed as "
                "outputs, by provider and queue.",
                labelnames=["provider", "queue"],
                registry=reg,
            ),
            data_cost=Counter(
                f"{PREFIX}_data_cost",
                "Egress tasks' data moves cost (GiB x the source store's egressPricePerGiB; outputs leaving the "
                "compute's region at that region's store's), by the source store's provider, queue (empty: none) "
                "and currency.",
                labelnames=["provider", "queue", "currency"],
                registry=reg,
            ),
            spend=Counter(
                f"{PREFIX}_spend",
                "Cost accrued by running tasks as they run, by queue (empty: none), namespace and provider.",
                labelnames=["queue", "namespace", "provider", "currency"],
                registry=reg,
            ),
            preemptions=Counter(
                f"{PREFIX}_preemptions",
                "Tasks preempted, by the queue they were admitted through.",
                labelnames=["queue"],
                registry=reg,
            ),
            reserved_capacity=Gauge(
                f"{PREFIX}_reserved_capacity",
                "Capacity held on an identifier for a starving task or a preemptor (cores, bytes, devices).",
                labelnames=["identifier", "resource"],
                registry=reg,
            ),
            hub_validations=Counter(
                f"{PREFIX}_hub_validations",
                "Dry-run creates of a task's workload on the hub, by verdict (valid, invalid, or unavailable).",
                labelnames=["result"],
                registry=reg,
            ),
        )
