"""Placement benchmark: decision latency over pools of 10 .. 10,000 identifiers of 100 nodes each.

Run: .venv/bin/python bench/bench_placement.py [--sizes 10,100,1000,10000] [--seed 1]
Prints one JSON line per size, e.g.
  {"bench": "placement", "identifiers": 1000, "nodes": 100000, "p50_ms": ..., "p99_ms": ..., ...}

Fields: p50_ms / p99_ms / decisions_per_s (wall clock) and cpu_p50_ms / cpu_p99_ms (process CPU
time, which excludes time spent preempted on a busy machine) for independent decisions on one snapshot (a fixed,
seeded mix of single-GPU, any-of, vendor-only, gang, cpu-only and constrained tasks, some of
which fit nowhere); burst_p50_ms / burst_p99_ms for a burst in which every decision is assumed
before the next; affinity_p50_ms / affinity_p99_ms for tasks whose pod template carries node
affinity (required In/NotIn/Gt/Lt terms on labels, a matchFields metadata.name term, preferred
terms that the NodeAffinity score weighs), with affinity_cpu_p50_ms / affinity_cpu_p99_ms their CPU
time. The affinity figures include every decision, the first ones too (affinity_first_cpu_ms is
the first alone): each entry's distinct label sets come with the snapshot (built with the entries),
and the first decision of each template (needs, node constraints, preferences) reads the rows of
the entries its constraints split, roomiest first and each only until they hold the gang (kept per
snapshot for the template's later tasks). The p99 of 30 decisions (at 10,000 identifiers) is 0.71 x
the slowest plus 0.29 x the second slowest (NumPy's linear interpolation): mostly the slowest.
podsets_cpu_p50_ms / podsets_cpu_p99_ms (CPU time) and podsets_placed_fraction for tasks of
several pod sets (a cpu-only leader beside a gang of 2 to 8 GPU workers of one model, as a JobSet's,
placed on one identifier together: `placement.pod_sets`); topology_cpu_p50_ms / topology_cpu_p99_ms
(CPU time) and topology_placed_fraction for gangs of 2 to 8 replicas of 8 GPUs that must (two
thirds) or should share one rack (`Demand.topology`, the racks' numeric node label); build_s (feeding every
node through the
SnapshotBuilder, first snapshot included), snapshot_ms (a new snapshot after 100 nodes' requests
changed), snapshot_mb (NumPy bytes held by one snapshot), rss_mb (the process's peak resident memory so far) and
load_avg_1m (the machine's load while measuring: read the wall-clock figures against it).
The pool: every identifier has 100 nodes, mostly 8-GPU nodes of one of eleven models plus cpu
nodes, randomly loaded, each in one of eight racks (a numeric label); one cluster in ten is split
into two identifiers by node selector.
With queues (``--queue-sizes``, default 1000 identifiers): one admission cycle of
``computenet.queueing.admit`` over 10,000 waiting tasks of 100 ComputeQueues sharing the pool (quota
per model, borrowing, fair order, reservations armed for a third of the queues), printed as
{"bench": "queues", ...}: decision_cpu_p99_ms (process CPU time of each placement inside the cycle,
the figure held to 5 ms; CPU time, as the machine running the bench is often shared),
admission_p99_ms (wall clock per task: quota, fair order, reservation and placement), cycle_s,
admitted (each admitted task is assumed before the next decision, as in a real pass), and
schedule_cpu_p99_ms: the same 10,000 tasks through ``placement.schedule`` without queues, the
baseline the cycle is compared with (the difference is what quotas and fair order cost).
With DRA (``--dra-sizes``, default 1000 identifiers), printed as {"bench": "placement-dra", ...}:
identifiers whose GPUs come through DRA (80 nodes of 8 devices each per identifier, published by
``gpu.nvidia.com`` with productName, architecture, cudaComputeCapability and driverVersion
attributes and a memory capacity, randomly claimed), each with its own catalog (DeviceClasses,
ResourceClaimTemplates); tasks claim one or two devices through templates, a third of them with CEL
selectors (a model, a memory capacity, a compute capability as semver, a ``cel.bind``).
dra_cpu_p50_ms / dra_cpu_p99_ms (process CPU time per decision), dra_selector_cpu_p99_ms (the
decisions with selectors), dra_burst_cpu_p99_ms (each decision assumed before the next) and
dra_first_ms (the first decision, which evaluates the selectors once per distinct device shape),
which the p50/p99 figures leave out, with the five decisions after it: the first builds the device
table (reading every node's devices in Python: most of it) and groups the members' catalogs
(selectors come compiled with the catalogs). Between them, these six make the first decision of
each of the five templates, which counts what every identifier's devices hold under the template's
claims (kept with the device table); dra_new_template_cpu_max_ms is the slowest of the five after
the first decision. The p50/p99
figures include the first decision of each (template, gang size) after them, which counts only
the nodes it assigns;
dra_after_claim_cpu_p50_ms (a decision right after one node's devices changed, as when a claim is
allocated: the device table is rebuilt from the previous one).
With ``--dra-uuids`` every device also has its own ``uuid`` attribute, as NVIDIA's driver publishes:
every device is then its own shape (a selector still runs once per shape as it reads it).
Not a test: it asserts nothing and is run by `make bench`.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import random
import resource
import sys
import time
from dataclasses import fields

import numpy as np

from computenet.placement import (
    AcceleratorDemand,
    Assumptions,
    ComputeClass,
    Constraints,
    Data,
    Demand,
    Identifier,
    Network,
    Node,
    PodSetDemand,
    Pricing,
    Snapshot,
    SnapshotBuilder,
    Taint,
    Toleration,
    Topology,
    place,
    schedule,
)
from computenet.placement.accelerators import MODELS
from computenet.placement.affinity import (
    NodeAffinity,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    PreferredSchedulingTerm,
)
from computenet.placement.devices import ClaimTemplate, DeviceCatalog, DeviceClass, DeviceRequest, NodeDevices, PodClaim
from computenet.placement.dra_cel import DeviceShape, Environment, Selector
from computenet.quantity import parse_quantity
from computenet.queueing import QueueQuota, Queues, ReclaimWithinPool, Reservations, Waiting, admit

GIB = 2**30
NODES_PER_IDENTIFIER = 100
REGIONS = [f"region-{i}" for i in range(12)]
PROVIDERS = ["aws", "gcp", "azure", "ovh", "coreweave", "lambda"]
GPU_MODELS = sorted(MODELS)
GPU_TAINT = Taint("nvidia.com/gpu", "present", "NoSchedule")
RACK_LABEL = "topology.example.com/rack"
ITERATIONS = {10: 2000, 100: 1000, 1000: 400, 10000: 60}
AFFINITY_ITERATIONS = {10: 500, 100: 300, 1000: 200, 10000: 30}
BURST = {10: 200, 100: 200, 1000: 100, 10000: 20}


def make_identifier(rng: random.Random, name: str, cluster: str, selector: dict[str, str]) -> Identifier:
    region = rng.choice(REGIONS)
    latency = {r: float(rng.choice([5, 20, 40, 80, 150])) for r in rng.sample(REGIONS, 4) if r != region}
    prices = {m: round(rng.uniform(0.3, 8.0), 2) for m in GPU_MODELS}
    return Identifier(
        name=name,
        cluster=cluster,
        uri=f"cpi://{rng.choice(PROVIDERS)}/{region}/{name}",
        ready=rng.random() > 0.05,
        provider=rng.choice(PROVIDERS),
        region=region,
        compute_class=rng.choice([ComputeClass.AI, ComputeClass.AI, ComputeClass.GENERAL, ComputeClass.HPC]),
        pricing=Pricing("USD", round(rng.uniform(0.01, 0.05), 3), round(rng.uniform(0.002, 0.01), 4), prices),
        network=Network(latency, rng.choice([1.0, 10.0, 25.0, 100.0])),
        recent_failures=rng.choice([0, 0, 0, 1, 2, 5]),
        node_selector=selector,
    )


def make_nodes(rng: random.Random, prefix: str, count: int, extra: dict[str, str]) -> list[Node]:
    """A cluster share: 80% GPU nodes of one or two models, 20% cpu nodes, randomly loaded."""
    models = rng.sample(GPU_MODELS, rng.choice([1, 1, 2]))
    arch = "arm64" if rng.random() < 0.1 else "amd64"
    nodes = []
    for i in range(count):
        labels = {"kubernetes.io/arch": arch, RACK_LABEL: str(i % 8), **extra}
        if i < count * 0.8:
            model = models[i % len(models)]
            resource_name = "amd.com/gpu" if model.startswith("AMD") else "nvidia.com/gpu"
            labels["amd.com/gpu.product-name" if model.startswith("AMD") else "nvidia.com/gpu.product"] = model
            gpus = rng.choice([0, 0, 1, 2, 4, 6, 7, 8, 8])
            allocatable = {"cpu": 96000, "memory": 1024 * GIB, resource_name: 8}
            requested = {"cpu": gpus * 11000, "memory": gpus * 120 * GIB, resource_name: gpus}
            taints: tuple[Taint, ...] = (GPU_TAINT,)
        else:
            cores = rng.choice([0, 8, 16, 32, 48, 60])
            allocatable = {"cpu": 64000, "memory": 256 * GIB}
            requested = {"cpu": cores * 1000, "memory": cores * 4 * GIB}
            taints = ()
        nodes.append(Node(f"{prefix}-{i}", allocatable, requested, labels, taints, rng.random() > 0.01))
    return nodes


def make_pool(n: int, seed: int) -> tuple[SnapshotBuilder, list[tuple[str, str]]]:
    rng = random.Random(seed)
    builder, names = SnapshotBuilder(), list[tuple[str, str]]()
    i = 0
    while i < n:
        cluster = f"c{i:05d}"
        if i % 10 == 9 and i + 1 < n:  # one cluster in ten: two partitions of 100 nodes each
            for part in ("a", "b"):
                builder.upsert_identifier(make_identifier(rng, f"id-{i:05d}", cluster, {"partition": part}))
                builder.upsert_nodes(
                    cluster, make_nodes(rng, f"{cluster}{part}", NODES_PER_IDENTIFIER, {"partition": part})
                )
                names.extend((cluster, f"{cluster}{part}-{k}") for k in range(0, NODES_PER_IDENTIFIER, 7))
                i += 1
        else:
            builder.upsert_identifier(make_identifier(rng, f"id-{i:05d}", cluster, {}))
            builder.upsert_nodes(cluster, make_nodes(rng, cluster, NODES_PER_IDENTIFIER, {}))
            names.extend((cluster, f"{cluster}-{k}") for k in range(0, NODES_PER_IDENTIFIER, 7))
            i += 1
    return builder, names


def make_tasks(count: int, seed: int) -> list[Demand]:
    rng = random.Random(seed)
    tolerate = (Toleration("nvidia.com/gpu", "Exists"),)
    tasks = []
    for i in range(count):
        kind = rng.random()
        base: dict[str, object] = {"uid": f"task-{i}", "tolerations": tolerate}
        if kind < 0.3:  # one replica of a named model
            base |= {
                "cpu": 8000,
                "memory": 64 * GIB,
                "accelerators": AcceleratorDemand(rng.choice([1, 2, 4, 8]), models=(rng.choice(GPU_MODELS),)),
            }
        elif kind < 0.45:  # any-of two models, or any NVIDIA GPU with enough memory
            models = tuple(rng.sample(GPU_MODELS, 2)) if rng.random() < 0.5 else ()
            base |= {
                "cpu": 4000,
                "memory": 32 * GIB,
                "accelerators": AcceleratorDemand(
                    rng.choice([1, 2, 4]),
                    "nvidia" if not models else None,
                    models,
                    rng.choice([0, 40 * 1024]),
                ),
            }
        elif kind < 0.65:  # gangs
            base |= {
                "replicas": rng.choice([2, 4, 8, 16]),
                "cpu": 8000,
                "memory": 100 * GIB,
                "accelerators": AcceleratorDemand(rng.choice([4, 8]), models=(rng.choice(GPU_MODELS),)),
            }
        elif kind < 0.85:  # cpu-only
            base |= {
                "replicas": rng.choice([1, 1, 4]),
                "cpu": rng.choice([1000, 4000, 16000]),
                "memory": rng.choice([2, 16, 64]) * GIB,
            }
        else:  # constrained: regions, price cap, latency to data, architecture
            base |= {
                "cpu": 8000,
                "memory": 64 * GIB,
                "accelerators": AcceleratorDemand(rng.choice([1, 8]), models=(rng.choice(GPU_MODELS),)),
                "constraints": Constraints(
                    regions_required=tuple(rng.sample(REGIONS, 6)),
                    max_price_per_hour=rng.choice([10.0, 40.0, None]),
                    max_latency_ms=rng.choice([None, 50.0]),
                    architectures=rng.choice([(), ("amd64",)]),
                ),
                "data": Data(rng.choice(REGIONS), rng.choice([0, 10**11, 10**12])),
            }
        tasks.append(Demand(**base))  # type: ignore[arg-type]
    return tasks


def _req(key: str, operator: str, *values: str) -> NodeSelectorRequirement:
    return NodeSelectorRequirement(key, operator, values)


def make_affinity_tasks(count: int, seed: int, identifiers: int) -> list[Demand]:
    """Tasks with node affinity in their pod template: the NodeAffinity filter and score at work."""
    rng = random.Random(seed)
    tolerate = (Toleration("nvidia.com/gpu", "Exists"),)
    tasks = []
    for i in range(count):
        kind = rng.random()
        model = rng.choice(GPU_MODELS)
        gpu = {"cpu": 8000, "memory": 64 * GIB, "accelerators": AcceleratorDemand(rng.choice([1, 4, 8]))}
        terms: tuple[NodeSelectorTerm, ...] | None
        if kind < 0.3:  # cpu-only, arm64 only
            terms = (NodeSelectorTerm((_req("kubernetes.io/arch", "In", "arm64"),)),)
            base: dict[str, object] = {"cpu": 4000, "memory": 8 * GIB}
        elif kind < 0.55:  # any of two products, not in partition b
            models = (model, rng.choice(GPU_MODELS))
            terms = (
                NodeSelectorTerm((_req("nvidia.com/gpu.product", "In", *models), _req("partition", "NotIn", "b"))),
            )
            base = dict(gpu)
        elif kind < 0.8:  # racks 3..6 (Gt and Lt), or the arm64 nodes (terms ORed)
            racks = NodeSelectorTerm((_req(RACK_LABEL, "Gt", "2"), _req(RACK_LABEL, "Lt", "7")))
            terms = (racks, NodeSelectorTerm((_req("kubernetes.io/arch", "In", "arm64"),)))
            base = dict(gpu)
        elif kind < 0.9:  # pinned to a named node (matchFields metadata.name)
            name = f"c{rng.randrange(identifiers):05d}-{rng.randrange(NODES_PER_IDENTIFIER)}"
            terms = (NodeSelectorTerm(match_fields=(_req("metadata.name", "In", name),)),)
            base = {"cpu": 1000, "memory": GIB}
        else:
            terms = None
            base = dict(gpu)
        preferred = (
            PreferredSchedulingTerm(50, NodeSelectorTerm((_req("kubernetes.io/arch", "In", "amd64"),))),
            PreferredSchedulingTerm(20, NodeSelectorTerm((_req(RACK_LABEL, "Gt", "5"),))),
        )
        affinity = NodeAffinity(required=terms, preferred=preferred if rng.random() < 0.5 else ())
        tasks.append(Demand(uid=f"affine-{i}", tolerations=tolerate, node_affinity=affinity, **base))  # type: ignore[arg-type]
    return tasks


def nbytes(snapshot: Snapshot) -> int:
    total = 0
    for part in (snapshot.nodes, snapshot.table, snapshot.entries):
        for f in fields(part):
            value = getattr(part, f.name)
            total += value.nbytes if isinstance(value, np.ndarray) else 0
    return total


def percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.array(samples), q))


def make_pod_set_tasks(count: int, seed: int) -> list[Demand]:
    """A leader (cpu only) and a gang of GPU workers of one model: a JobSet's two roles."""
    rng = random.Random(seed)
    tolerate = (Toleration("nvidia.com/gpu", "Exists"),)
    out = []
    for i in range(count):
        workers = AcceleratorDemand(rng.choice([4, 8]), models=(rng.choice(GPU_MODELS),))
        sets = (
            PodSetDemand("leader", 1, 2000, 8 * GIB, tolerations=tolerate),
            PodSetDemand("workers", rng.choice([2, 4, 8]), 8000, 64 * GIB, workers, tolerations=tolerate),
        )
        out.append(Demand(uid=f"jobset-{i}", pod_sets=sets))
    return out


def make_topology_tasks(count: int, seed: int) -> list[Demand]:
    """Gangs of 2 to 8 replicas of 8 GPUs of one model that must (two thirds) or should share one rack."""
    rng = random.Random(seed)
    tolerate = (Toleration("nvidia.com/gpu", "Exists"),)
    out = []
    for i in range(count):
        out.append(
            Demand(
                uid=f"rack-{i}",
                replicas=rng.choice([2, 4, 8]),
                cpu=8000,
                memory=64 * GIB,
                accelerators=AcceleratorDemand(8, models=(rng.choice(GPU_MODELS),)),
                tolerations=tolerate,
                topology=Topology(RACK_LABEL, required=rng.random() < 2 / 3),
            )
        )
    return out


def run(size: int, seed: int) -> dict[str, object]:
    gc.collect()
    start = time.perf_counter()
    builder, sample_nodes = make_pool(size, seed)
    snapshot = builder.snapshot()
    build_s = time.perf_counter() - start

    rng = random.Random(seed + 1)
    incremental = []
    for _ in range(5):
        for cluster, node in rng.sample(sample_nodes, min(100, len(sample_nodes))):
            builder.add_requested(cluster, node, {"cpu": 1000, "memory": GIB})
        t0 = time.perf_counter()
        builder.snapshot()
        incremental.append((time.perf_counter() - t0) * 1000)
    snapshot = builder.snapshot()

    tasks = make_tasks(ITERATIONS[size] + 10, seed + 2)
    for demand in tasks[:10]:  # warm up
        place(snapshot, demand)
    timings, cpu, placed = [], [], 0
    gc.disable()
    try:
        for demand in tasks[10:]:
            t0, c0 = time.perf_counter(), time.process_time()
            decision = place(snapshot, demand)
            cpu.append((time.process_time() - c0) * 1000)
            timings.append((time.perf_counter() - t0) * 1000)
            placed += decision.chosen is not None
        assumptions, burst = Assumptions(), []
        for demand in make_tasks(BURST[size], seed + 3):
            t0 = time.perf_counter()
            decision = place(snapshot, demand, assumptions=assumptions)
            assumptions.assume(decision, now=0.0)
            burst.append((time.perf_counter() - t0) * 1000)
        affine, affine_cpu = [], []
        for demand in make_affinity_tasks(AFFINITY_ITERATIONS[size], seed + 4, size):
            t0, c0 = time.perf_counter(), time.process_time()
            place(snapshot, demand)
            affine_cpu.append((time.process_time() - c0) * 1000)
            affine.append((time.perf_counter() - t0) * 1000)
        roles_cpu, roles_placed = [], 0
        for demand in make_pod_set_tasks(AFFINITY_ITERATIONS[size], seed + 5):
            c0 = time.process_time()
            roles_placed += place(snapshot, demand).chosen is not None
            roles_cpu.append((time.process_time() - c0) * 1000)
        racks_cpu, racks_placed = [], 0
        for demand in make_topology_tasks(AFFINITY_ITERATIONS[size], seed + 6):
            c0 = time.process_time()
            racks_placed += place(snapshot, demand).chosen is not None
            racks_cpu.append((time.process_time() - c0) * 1000)
    finally:
        gc.enable()
    return {
        "bench": "placement",
        "identifiers": size,
        "nodes": size * NODES_PER_IDENTIFIER,
        "decisions": len(timings),
        "p50_ms": round(percentile(timings, 50), 3),
        "p99_ms": round(percentile(timings, 99), 3),
        "decisions_per_s": round(len(timings) / (sum(timings) / 1000), 1),
        "cpu_p50_ms": round(percentile(cpu, 50), 3),
        "cpu_p99_ms": round(percentile(cpu, 99), 3),
        "placed_fraction": round(placed / len(timings), 3),
        "burst_p50_ms": round(percentile(burst, 50), 3),
        "burst_p99_ms": round(percentile(burst, 99), 3),
        "affinity_p50_ms": round(percentile(affine, 50), 3),
        "affinity_p99_ms": round(percentile(affine, 99), 3),
        "affinity_cpu_p50_ms": round(percentile(affine_cpu, 50), 3),
        "affinity_cpu_p99_ms": round(percentile(affine_cpu, 99), 3),
        "affinity_first_cpu_ms": round(affine_cpu[0], 3),
        "podsets_cpu_p50_ms": round(percentile(roles_cpu, 50), 3),
        "podsets_cpu_p99_ms": round(percentile(roles_cpu, 99), 3),
        "podsets_placed_fraction": round(roles_placed / len(roles_cpu), 3),
        "topology_cpu_p50_ms": round(percentile(racks_cpu, 50), 3),
        "topology_cpu_p99_ms": round(percentile(racks_cpu, 99), 3),
        "topology_placed_fraction": round(racks_placed / len(racks_cpu), 3),
        "build_s": round(build_s, 2),
        "snapshot_ms": round(percentile(incremental, 50), 2),
        "snapshot_mb": round(nbytes(snapshot) / 2**20, 1),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


QUEUES = 100
WAITING = 10_000


def run_queues(size: int, seed: int) -> dict[str, object]:
    """One admission cycle: 10,000 waiting tasks of 100 queues on a pool of ``size`` identifiers."""
    gc.collect()
    builder, _ = make_pool(size, seed)
    snapshot = builder.snapshot()
    rng = random.Random(seed + 5)
    capacity: dict[str, int] = {}
    for ident in snapshot.identifiers:
        cap = snapshot.capacity(ident.name)
        for name, amount in (*cap.allocatable.items(), *((a.model, a.allocatable) for a in cap.accelerators)):
            capacity[name] = capacity.get(name, 0) + amount
    models = [m for m in GPU_MODELS if capacity.get(m)]
    quotas = [
        QueueQuota(
            f"q{i:03d}",
            "default",
            {m: capacity[m] // QUEUES for m in rng.sample(models, min(3, len(models)))},
            weight=rng.choice([1.0, 1.0, 2.0]),
            reclaim_within_pool=ReclaimWithinPool.ANY if i % 4 == 0 else ReclaimWithinPool.NEVER,
            reserve_after_s=0.0 if i % 3 == 0 else None,
        )
        for i in range(QUEUES)
    ]
    waiting = []
    tasks = make_tasks(WAITING, seed + 6)
    for i, demand in enumerate(tasks):
        queue = quotas[i % QUEUES].name
        waiting.append(Waiting(demand, queue, since=-float(rng.randint(0, 3600))))
    elapsed: list[float] = []
    per_task: list[float] = []
    admitted = 0
    gc.disable()
    try:
        start = last = time.perf_counter()
        cycle = admit(
            waiting,
            (),
            Queues(quotas, {"default": capacity}),
            snapshot,
            Assumptions(),
            Reservations(),
            now=0.0,
            clock=time.process_time,
        )
        for verdict in cycle:
            now = time.perf_counter()
            per_task.append((now - last) * 1000)
            last = now
            if verdict.decision is not None:
                elapsed.append(verdict.decision.elapsed * 1000)
            admitted += verdict.placed
        cycle_s = time.perf_counter() - start
        plain = [
            d.elapsed * 1000 for _, d in schedule(tasks, snapshot, Assumptions(), now=0.0, clock=time.process_time)
        ]
    finally:
        gc.enable()
    return {
        "bench": "queues",
        "identifiers": size,
        "queues": QUEUES,
        "waiting": WAITING,
        "decisions": len(elapsed),
        "decision_cpu_p50_ms": round(percentile(elapsed, 50), 3),
        "decision_cpu_p99_ms": round(percentile(elapsed, 99), 3),
        "admission_p50_ms": round(percentile(per_task, 50), 3),
        "admission_p99_ms": round(percentile(per_task, 99), 3),
        "cycle_s": round(cycle_s, 2),
        "admitted": admitted,
        "schedule_cpu_p50_ms": round(percentile(plain, 50), 3),
        "schedule_cpu_p99_ms": round(percentile(plain, 99), 3),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


DRA_DRIVER = "gpu.nvidia.com"
DRA_MODELS = [m for m in GPU_MODELS if MODELS[m].vendor == "nvidia"]
DRA_ITERATIONS = {10: 1000, 100: 600, 1000: 300, 10000: 60}
DRA_BURST = {10: 200, 100: 200, 1000: 100, 10000: 20}
CEL = Environment(parse_quantity)
COMPUTE_CAPABILITY = {
    "NVIDIA-B200": "10.0.0",
    "NVIDIA-H200": "9.0.0",
    "NVIDIA-H100-80GB-HBM3": "9.0.0",
    "Tesla-T4": "7.5.0",
}


def compiled(*expressions: str) -> tuple[Selector, ...]:
    found = tuple(CEL.compile(e) for e in expressions)
    assert all(isinstance(f, Selector) for f in found)
    return found  # type: ignore[return-value]


def dra_shape(model: str, driver_version: str) -> DeviceShape:
    """What the NVIDIA DRA driver publishes of a GPU (its attributes and memory capacity)."""
    attributes = {
        "productName": ("string", model),
        "architecture": ("string", "Hopper" if "H" in model.split("-")[1] else "Ampere"),
        "cudaComputeCapability": ("version", COMPUTE_CAPABILITY.get(model, "8.0.0")),
        "driverVersion": ("version", driver_version),
        "type": ("string", "gpu"),
    }
    return DeviceShape(
        DRA_DRIVER,
        tuple(sorted(attributes.items())),  # type: ignore[arg-type]
        (("memory", parse_quantity(f"{MODELS[model].memory_gib}Gi")),),
    )


def dra_catalog() -> DeviceCatalog:
    """One member's DeviceClasses and the templates of the target namespace (a new object per member)."""
    gpu = DeviceClass("gpu.nvidia.com", compiled(f'device.driver == "{DRA_DRIVER}"'))
    hopper = DeviceClass(
        "hopper",
        compiled(f'device.driver == "{DRA_DRIVER}"', 'device.attributes["gpu.nvidia.com"].architecture == "Hopper"'),
    )
    templates = {
        "one-gpu": ClaimTemplate("one-gpu", (DeviceRequest("gpu", "gpu.nvidia.com", 1),)),
        "two-gpus": ClaimTemplate("two-gpus", (DeviceRequest("gpu", "gpu.nvidia.com", 2),)),
        "h100": ClaimTemplate(
            "h100",
            (
                DeviceRequest(
                    "gpu",
                    "gpu.nvidia.com",
                    1,
                    selectors=compiled('device.attributes["gpu.nvidia.com"].productName == "NVIDIA-H100-80GB-HBM3"'),
                ),
            ),
        ),
        "big-memory": ClaimTemplate(
            "big-memory",
            (
                DeviceRequest(
                    "gpu",
                    "gpu.nvidia.com",
                    2,
                    selectors=compiled('device.capacity["gpu.nvidia.com"].memory.compareTo(quantity("80Gi")) >= 0'),
                ),
            ),
        ),
        "modern": ClaimTemplate(
            "modern",
            (
                DeviceRequest(
                    "gpu",
                    "hopper",
                    1,
                    selectors=compiled(
                        'cel.bind(gpu, device.attributes["gpu.nvidia.com"], '
                        'gpu.cudaComputeCapability.isGreaterThan(semver("8.9.0")) && '
                        'gpu.driverVersion.compareTo(semver("550.0.0")) >= 0)'
                    ),
                ),
            ),
        ),
    }
    return DeviceCatalog({"gpu.nvidia.com": gpu, "hopper": hopper}, templates)


def with_uuid(shape: DeviceShape, uuid: str) -> DeviceShape:
    return dataclasses.replace(shape, attributes=tuple(sorted((*shape.attributes, ("uuid", ("string", uuid))))))


def claim_one_device(builder: SnapshotBuilder, snapshot: Snapshot) -> None:
    """A claim is allocated on one node: its devices change (one fewer free), the others' stay."""
    row = min(snapshot.nodes.devices)
    node = snapshot.nodes.names[row]
    cluster = node.rsplit("-", 1)[0]
    devices = snapshot.nodes.devices[row]
    first = next(i for i, d in enumerate(devices) if d.free > 0) if any(d.free for d in devices) else 0
    changed = tuple(dataclasses.replace(d, free=max(d.free - 1, 0)) if i == first else d for i, d in enumerate(devices))
    labels = {"kubernetes.io/arch": "amd64", RACK_LABEL: "0"}
    builder.upsert_node(
        cluster, Node(node, {"cpu": 96000, "memory": 1024 * GIB}, {}, labels, (), True, devices=changed)
    )


def make_dra_pool(n: int, seed: int, uuids: bool = False) -> SnapshotBuilder:
    """Identifiers of 100 nodes: 80 publish 8 DRA GPUs of one or two models, randomly claimed; 20 cpu nodes.

    With `uuids`, every device carries its own ``uuid`` attribute (as NVIDIA's driver publishes),
    so every device is its own shape.
    """
    rng = random.Random(seed)
    builder = SnapshotBuilder()
    shapes = {(m, v): dra_shape(m, v) for m in DRA_MODELS for v in ("550.54.15", "535.161.7")}
    for i in range(n):
        cluster = f"d{i:05d}"
        ident = make_identifier(rng, f"dra-{i:05d}", cluster, {})
        builder.upsert_identifier(dataclasses.replace(ident, devices=dra_catalog()))
        models = rng.sample(DRA_MODELS, rng.choice([1, 1, 2]))
        version = rng.choice(["550.54.15", "535.161.7"])
        nodes = []
        for k in range(NODES_PER_IDENTIFIER):
            labels = {"kubernetes.io/arch": "amd64", RACK_LABEL: str(k % 8)}
            if k < NODES_PER_IDENTIFIER * 0.8:
                model = models[k % len(models)]
                taken = rng.choice([0, 0, 1, 2, 4, 6, 7, 8, 8])
                if uuids:
                    devices = tuple(
                        NodeDevices(
                            DRA_DRIVER,
                            model,
                            1,
                            int(d >= taken),
                            with_uuid(shapes[(model, version)], f"GPU-{i}-{k}-{d}"),
                        )
                        for d in range(8)
                    )
                else:
                    devices = (NodeDevices(DRA_DRIVER, model, 8, 8 - taken, shapes[(model, version)]),)
                allocatable = {"cpu": 96000, "memory": 1024 * GIB}
                requested = {"cpu": taken * 11000, "memory": taken * 120 * GIB}
            else:
                devices = ()
                allocatable = {"cpu": 64000, "memory": 256 * GIB}
                requested = {"cpu": rng.choice([0, 8, 32]) * 1000, "memory": 16 * GIB}
            nodes.append(Node(f"{cluster}-{k}", allocatable, requested, labels, (), True, devices=devices))
        builder.upsert_nodes(cluster, nodes)
    return builder


def make_dra_tasks(count: int, seed: int, prefix: str = "dra") -> list[tuple[Demand, bool]]:
    """(task, whether its claims carry CEL selectors beyond the driver): a third of them do."""
    rng = random.Random(seed)
    tasks = []
    for i in range(count):
        selected = rng.random() < 1 / 3
        template = rng.choice(["h100", "big-memory", "modern"]) if selected else rng.choice(["one-gpu", "two-gpus"])
        demand = Demand(
            uid=f"{prefix}-{i}",
            cpu=8000,
            memory=64 * GIB,
            replicas=rng.choice([1, 1, 1, 2, 4]),
            claims=(PodClaim("gpu", template=template),),
        )
        tasks.append((demand, selected))
    return tasks


def run_dra(size: int, seed: int, uuids: bool = False) -> dict[str, object]:
    gc.collect()
    builder = make_dra_pool(size, seed, uuids)
    snapshot = builder.snapshot()
    tasks = make_dra_tasks(DRA_ITERATIONS[size] + 1, seed + 7)
    c0 = time.process_time()
    place(snapshot, tasks[0][0])
    first = (time.process_time() - c0) * 1000
    templates = []
    for demand, _ in tasks[1:6]:  # warm up: each the first decision of a template
        c0 = time.process_time()
        place(snapshot, demand)
        templates.append((time.process_time() - c0) * 1000)
    cpu, selected_cpu, placed, burst = [], [], 0, []
    gc.disable()
    try:
        for demand, selected in tasks[1:]:
            c0 = time.process_time()
            decision = place(snapshot, demand)
            took = (time.process_time() - c0) * 1000
            cpu.append(took)
            if selected:
                selected_cpu.append(took)
            placed += decision.chosen is not None
        assumptions = Assumptions()
        for demand, _ in make_dra_tasks(DRA_BURST[size], seed + 8, "burst"):
            c0 = time.process_time()
            decision = place(snapshot, demand, assumptions=assumptions)
            assumptions.assume(decision, now=0.0)
            burst.append((time.process_time() - c0) * 1000)
        changes = []
        for demand, _ in tasks[1:11]:  # a claim is allocated somewhere, then the next decision
            claim_one_device(builder, snapshot)
            snapshot = builder.snapshot()
            c0 = time.process_time()
            place(snapshot, demand)
            changes.append((time.process_time() - c0) * 1000)
    finally:
        gc.enable()
    return {
        "bench": "placement-dra",
        "device_uuids": uuids,
        "identifiers": size,
        "nodes": size * NODES_PER_IDENTIFIER,
        "devices": size * 80 * 8,
        "decisions": len(cpu),
        "dra_first_ms": round(first, 1),
        "dra_new_template_cpu_max_ms": round(max(templates), 3),
        "dra_cpu_p50_ms": round(percentile(cpu, 50), 3),
        "dra_cpu_p99_ms": round(percentile(cpu, 99), 3),
        "dra_selector_cpu_p50_ms": round(percentile(selected_cpu, 50), 3),
        "dra_selector_cpu_p99_ms": round(percentile(selected_cpu, 99), 3),
        "dra_burst_cpu_p99_ms": round(percentile(burst, 99), 3),
        "dra_after_claim_cpu_p50_ms": round(percentile(changes, 50), 3),
        "placed_fraction": round(placed / len(cpu), 3),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10,100,1000,10000", help="identifier counts, comma-separated")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queue-sizes", default="1000", help="identifier counts of the queue cycle (empty: none)")
    parser.add_argument("--dra-sizes", default="1000", help="identifier counts of the DRA scenario (empty: none)")
    parser.add_argument("--dra-uuids", action="store_true", help="DRA devices each with their own uuid attribute")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",") if s):
        print(json.dumps(run(size, args.seed)), flush=True)
    for size in (int(s) for s in args.dra_sizes.split(",") if s):
        print(json.dumps(run_dra(size, args.seed, args.dra_uuids)), flush=True)
    for size in (int(s) for s in args.queue_sizes.split(",") if s):
        print(json.dumps(run_queues(size, args.seed)), flush=True)


if __name__ == "__main__":
    main()
    sys.exit(0)
