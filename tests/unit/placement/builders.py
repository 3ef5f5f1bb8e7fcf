"""Readable builders for placement tests: nodes, identifiers, pools and tasks.

pool(
    identifier("h100-east").region("us-east-1").price(gpu=("NVIDIA-H100-80GB-HBM3", 3.0)).nodes(
        node("n1").gpus(8, "NVIDIA-H100-80GB-HBM3").cpu("64").memory("512Gi"),
    ),
)
task().gpus(8, "NVIDIA-H100-80GB-HBM3").cpu("8").memory("64Gi").replicas(2).build()
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Self

from computenet.placement import (
    AcceleratorDemand,
    ComputeClass,
    Data,
    DataPiece,
    Demand,
    Identifier,
    Network,
    Node,
    PodSetDemand,
    Pricing,
    Snapshot,
    SnapshotBuilder,
    Store,
    Strategy,
    Taint,
    Toleration,
    Weights,
)
from computenet.placement.accelerators import lookup
from computenet.placement.devices import (
    ClaimTemplate,
    DeviceCatalog,
    DeviceClass,
    DeviceRequest,
    NodeDevices,
    PodClaim,
    extended_resource_classes,
    served_accelerator,
)
from computenet.placement.dra_cel import AttributeValue, DeviceShape, Environment, Selector
from computenet.placement.slices import SliceRequest
from computenet.quantity import parse_quantity

H100 = "NVIDIA-H100-80GB-HBM3"
A100 = "NVIDIA-A100-SXM4-80GB"
A100_40 = "NVIDIA-A100-SXM4-40GB"
L4 = "NVIDIA-L4"
MI300X = "AMD-Instinct-MI300X"
GPU_TAINT = Taint("nvidia.com/gpu", "present", "NoSchedule")
TOLERATE_GPU = Toleration("nvidia.com/gpu", "Exists")

_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "K": 10**3, "M": 10**6, "G": 10**9}


def millicores(value: str | int) -> int:
    text = str(value)
    return int(text[:-1]) if text.endswith("m") else round(float(text) * 1000)


def bytes_of(value: str | int) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]i?)?", str(value))
    assert match, value
    return round(float(match[1]) * _UNITS.get(match[2] or "", 1))


class NodeBuilder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.allocatable: dict[str, int] = {"cpu": 32000, "memory": 128 * 2**30}
        self.requested: dict[str, int] = {}
        self.labels: dict[str, str] = {"kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name}
        self.taints: list[Taint] = []
        self.ready, self.unschedulable = True, False
        self._device = ""
        self.devices: list[NodeDevices] = []

    def cpu(self, cores: str | int) -> Self:
        self.allocatable["cpu"] = millicores(cores)
        return self

    def memory(self, amount: str | int) -> Self:
        self.allocatable["memory"] = bytes_of(amount)
        return self

    def gpus(self, count: int, model: str | None = H100, *, memory_mib: int | None = None) -> Self:
        known = lookup(model)
        vendor = known.vendor if known else "nvidia"
        self._device = "amd.com/gpu" if vendor == "amd" else "nvidia.com/gpu"
        self.allocatable[self._device] = count
        if model is not None:
            key = "amd.com/gpu.product-name" if vendor == "amd" else "nvidia.com/gpu.product"
            self.labels[key] = model
        if memory_mib is not None:
            self.labels["nvidia.com/gpu.memory"] = str(memory_mib)
        return self

    def units(self, resource: str, count: int, **labels: str) -> Self:
        """`count` units of a device-plugin resource (MIG slices, shared replicas ...) and the labeller's labels."""
        self._device = resource
        self.allocatable[resource] = count
        self.labels.update(labels)
        return self

    def arch(self, arch: str) -> Self:
        self.labels["kubernetes.io/arch"] = arch
        return self

    def label(self, key: str, value: str) -> Self:
        self.labels[key] = value
        return self

    def taint(self, taint: Taint = GPU_TAINT) -> Self:
        self.taints.append(taint)
        return self

    def pods(self, slots: int) -> Self:
        """Allocatable ``pods`` (kube-scheduler's pod-count limit of the node)."""
        self.allocatable["pods"] = slots
        return self

    def used(self, *, cpu: str | int = 0, memory: str | int = 0, gpus: int = 0, pods: int = 0) -> Self:
        self.requested = {"cpu": millicores(cpu), "memory": bytes_of(memory)}
        if gpus:
            self.requested[self._device] = gpus
        if pods:
            self.requested["pods"] = pods
        return self

    def dra(
        self,
        driver: str,
        total: int,
        *,
        free: int | None = None,
        model: str = "",
        attributes: dict[str, AttributeValue] | None = None,
        capacity: dict[str, str] | None = None,
    ) -> Self:
        """DRA devices of `driver` published for the node (a ResourceSlice), `free` of them unclaimed.

        With `attributes` or `capacity` ("80Gi"), the devices carry them for CEL selectors to see.
        """
        shape = None
        if attributes is not None or capacity is not None:
            shape = DeviceShape(
                driver,
                tuple(sorted((attributes or {}).items())),
                tuple(sorted((k, parse_quantity(v)) for k, v in (capacity or {}).items())),
            )
        self.devices.append(NodeDevices(driver, model, total, total if free is None else free, shape))
        return self

    def not_ready(self) -> Self:
        self.ready = False
        return self

    def cordoned(self) -> Self:
        self.unschedulable = True
        return self

    def build(self) -> Node:
        return Node(
            self.name, dict(self.allocatable), dict(self.requested), dict(self.labels), tuple(self.taints),
            self.ready, self.unschedulable, tuple(self.devices),
        )  # fmt: skip


def node(name: str) -> NodeBuilder:
    return NodeBuilder(name)


class IdentifierBuilder:
    def __init__(self, name: str, cluster: str | None) -> None:
        self.ident = Identifier(name=name, cluster=cluster or name, uri=f"cpi://test/{name}", region="us-east-1")
        self.node_builders: list[NodeBuilder] = []

    def _set(self, **changes: Any) -> Self:
        self.ident = replace(self.ident, **changes)
        return self

    def region(self, region: str) -> Self:
        return self._set(region=region)

    def provider(self, provider: str) -> Self:
        return self._set(provider=provider)

    def compute_class(self, klass: str) -> Self:
        return self._set(compute_class=ComputeClass(klass))

    def not_ready(self, reason: str = "MemberUnreachable") -> Self:
        return self._set(ready=False, not_ready_reason=reason)

    def failures(self, count: int) -> Self:
        return self._set(recent_failures=count)

    def selector(self, **labels: str) -> Self:
        return self._set(node_selector=labels)

    def price(
        self,
        gpus: dict[str, float] | None = None,
        *,
        currency: str = "USD",
        cpu: float = 0.0,
        gib: float = 0.0,
    ) -> Self:
        """Prices per hour: per device of each model, per cpu core, per GiB of memory."""
        return self._set(pricing=Pricing(currency, cpu, gib, dict(gpus or {})))

    def network(self, latency_ms: dict[str, float] | None = None, *, bandwidth_gbps: float | None = None) -> Self:
        return self._set(network=Network(dict(latency_ms or {}), bandwidth_gbps))

    def store(self, egress_per_gib: float, currency: str = "USD") -> Self:
        """The object store near its compute, and what moving one GiB out of it costs."""
        return self._set(store=Store(egress_per_gib, currency))

    def dra(
        self,
        classes: Mapping[str, str | tuple[str, ...] | None] | None = None,
        templates: dict[str, tuple[DeviceRequest, ...]] | None = None,
        *,
        unevaluated: dict[str, str] | None = None,
        problem: str = "",
        serving: Mapping[str, str] | None = None,
    ) -> Self:
        """The member's DeviceClasses and the target namespace's templates.

        A class maps to its driver (its one selector is ``device.driver == "<driver>"``), to None (no
        selectors: any device), or to a tuple of CEL expressions. `serving` gives classes their
        ``extendedResourceName`` (class -> resource, KEP-5004).
        """
        serving = serving or {}
        known = {
            name: DeviceClass(name, class_selectors(given), extended_resource=serving.get(name))
            for name, given in (classes or {}).items()
        }
        known |= {name: DeviceClass(name, (), why) for name, why in (unevaluated or {}).items()}
        kept = {name: ClaimTemplate(name, requests) for name, requests in (templates or {}).items()}
        return self._set(devices=DeviceCatalog(known, kept, problem))

    def levels(self, *levels: tuple[str, str]) -> Self:
        """Its interconnect levels, coarsest first, as (name, node label)."""
        return self._set(levels=tuple(levels))

    def nodes(self, *builders: NodeBuilder) -> Self:
        self.node_builders.extend(builders)
        return self


def identifier(name: str, cluster: str | None = None) -> IdentifierBuilder:
    return IdentifierBuilder(name, cluster)


def pool(*identifiers: IdentifierBuilder, clusters: dict[str, list[NodeBuilder]] | None = None) -> Snapshot:
    """A snapshot of the identifiers; nodes given per identifier belong to its cluster."""
    return builder_of(*identifiers, clusters=clusters).snapshot()


def builder_of(
    *identifiers: IdentifierBuilder, clusters: dict[str, list[NodeBuilder]] | None = None
) -> SnapshotBuilder:
    b = SnapshotBuilder()
    for ib in identifiers:
        b.upsert_identifier(ib.ident)
        catalog = ib.ident.devices
        served = extended_resource_classes(catalog.classes.values()) if catalog is not None else {}
        for nb in ib.node_builders:
            built = nb.build()  # as the operator's placement view hands nodes over (`tasks.placement_view`)
            b.upsert_node(ib.ident.cluster, built, None, served_accelerator(built.devices, built.allocatable, served))
    for cluster, nodes in (clusters or {}).items():
        for nb in nodes:
            b.upsert_node(cluster, nb.build())
    return b


@dataclass
class TaskBuilder:
    demand: Demand = field(default_factory=lambda: Demand(uid="t1", name="t1", tolerations=(TOLERATE_GPU,)))

    def _set(self, **changes: Any) -> TaskBuilder:
        self.demand = replace(self.demand, **changes)
        return self

    def _constrain(self, **changes: Any) -> TaskBuilder:
        return self._set(constraints=replace(self.demand.constraints, **changes))

    def uid(self, uid: str) -> TaskBuilder:
        return self._set(uid=uid, name=uid)

    def cpu(self, cores: str | int) -> TaskBuilder:
        return self._set(cpu=millicores(cores))

    def memory(self, amount: str | int) -> TaskBuilder:
        return self._set(memory=bytes_of(amount))

    def gpus(
        self,
        count: int,
        *models: str,
        vendor: str | None = None,
        min_memory_mib: int = 0,
        slices: SliceRequest | None = None,
    ) -> TaskBuilder:
        return self._set(accelerators=AcceleratorDemand(count, vendor, tuple(models), min_memory_mib, slices))

    def replicas(self, n: int) -> TaskBuilder:
        return self._set(replicas=n)

    def priority(self, p: int) -> TaskBuilder:
        return self._set(priority=p)

    def created(self, t: float) -> TaskBuilder:
        return self._set(created=t)

    def tolerations(self, *tolerations: Toleration) -> TaskBuilder:
        return self._set(tolerations=tolerations)

    def node_selector(self, labels: dict[str, str]) -> TaskBuilder:
        return self._set(node_selector=dict(labels))

    def architectures(self, *archs: str) -> TaskBuilder:
        return self._constrain(architectures=archs)

    def compute_class(self, klass: str) -> TaskBuilder:
        return self._constrain(compute_class=klass)

    def regions(self, *required: str, preferred: tuple[str, ...] = (), forbidden: tuple[str, ...] = ()) -> TaskBuilder:
        return self._constrain(regions_required=required, regions_preferred=preferred, regions_forbidden=forbidden)

    def providers(self, *allowed: str, denied: tuple[str, ...] = ()) -> TaskBuilder:
        return self._constrain(providers_allowed=allowed, providers_denied=denied)

    def max_price(self, per_hour: float, currency: str | None = None) -> TaskBuilder:
        return self._constrain(max_price_per_hour=per_hour, currency=currency)

    def max_latency(self, ms: float) -> TaskBuilder:
        return self._constrain(max_latency_ms=ms)

    def data(
        self,
        region: str,
        size: str | int = 0,
        *pieces: tuple[str | int, tuple[str, ...]],
        hours: float = 1.0,
        max_transfer_seconds: float | None = None,
        max_cost: float | None = None,
    ) -> TaskBuilder:
        """The task's data in `region`, or located by `pieces` (size, regions holding a copy), with its caps."""
        located = tuple(DataPiece(bytes_of(n), regions, f"input {i}") for i, (n, regions) in enumerate(pieces))
        return self._set(data=Data(region, bytes_of(size), located, hours, max_transfer_seconds, max_cost))

    def weights(self, **weights: float) -> TaskBuilder:
        return self._set(weights=Weights(**weights))

    def claims(self, *templates: str, existing: str | None = None) -> TaskBuilder:
        """resourceClaims from these ResourceClaimTemplates (and one naming an existing ResourceClaim)."""
        claims = [PodClaim(f"claim-{i}", template=t) for i, t in enumerate(templates)]
        if existing is not None:
            claims.append(PodClaim("existing", claim=existing))
        return self._set(claims=tuple(claims))

    def hub_templates(self, **templates: tuple[DeviceRequest, ...]) -> TaskBuilder:
        """The task's own ResourceClaimTemplates (its namespace's on the hub), by name, with their requests."""
        return self._set(claim_templates=tuple(ClaimTemplate(name, requests) for name, requests in templates.items()))

    def pod_set(
        self,
        role: str,
        count: int,
        *,
        gpus: int = 0,
        models: tuple[str, ...] = (),
        cpu: str | int = 0,
        memory: str | int = 0,
        node_selector: dict[str, str] | None = None,
    ) -> TaskBuilder:
        """Adds a pod set (role) of `count` pods, each with these requests; tolerates the GPU taint."""
        acc = AcceleratorDemand(gpus, None, models) if gpus else None
        added = PodSetDemand(
            role, count, millicores(cpu), bytes_of(memory), acc, dict(node_selector or {}), (TOLERATE_GPU,)
        )
        return self._set(pod_sets=(*self.demand.pod_sets, added))

    def spread(self) -> TaskBuilder:
        return self._set(strategy=Strategy.SPREAD)

    def suspended(self) -> TaskBuilder:
        return self._set(suspended=True)

    def build(self) -> Demand:
        return self.demand


CEL = Environment(parse_quantity)


def selectors(*expressions: str) -> tuple[Selector, ...]:
    """`expressions` compiled in the DRA CEL environment (each must compile)."""
    found = tuple(CEL.compile(e) for e in expressions)
    assert all(isinstance(f, Selector) for f in found), found
    return found  # type: ignore[return-value]


def class_selectors(given: str | tuple[str, ...] | None) -> tuple[Selector, ...]:
    if given is None:
        return ()
    if isinstance(given, str):
        return selectors(f'device.driver == "{given}"')
    return selectors(*given)


def request(
    device_class: str, count: int = 1, *, all: bool = False, problem: str = "", cel: tuple[str, ...] = ()
) -> DeviceRequest:
    """One request of a ResourceClaimTemplate, with its own CEL selectors `cel`."""
    return DeviceRequest("req", device_class, count, all, problem, selectors(*cel))


def task(uid: str = "t1") -> TaskBuilder:
    return TaskBuilder().uid(uid)
