"""A task of several pod sets in its status: each role's pods, requests and nodes; quotas and usage count them all."""

from __future__ import annotations

import datetime as dt

from placement.builders import H100, identifier, node, pool, task

from computenet.api.identifier import Pricing
from computenet.api.task import ComputeTaskSpec, ComputeTaskStatus, DispatchedResources, Placement, PodSetPlacement
from computenet.placement import place
from computenet.tasks.executor import facts_of
from computenet.tasks.lifecycle.transitions import accrue
from computenet.tasks.metering import meter_attempt
from computenet.tasks.record import TaskRecord
from computenet.tasks.scheduler import pod_set_placements
from computenet.tasks.tenancy import amounts_of

from .builders import record

H100_POD_SETS = [
    PodSetPlacement(role="leader", replicas=1, cpu="2", memory="4Gi", accelerators=0, nodes=["n1"]),
    PodSetPlacement(role="workers", replicas=2, cpu="1", memory="1Gi", accelerators=8, nodes=["n1", "n2"]),
]


def placed(**changes: object) -> Placement:
    base = Placement(
        identifier="p",
        accelerator_model=H100,
        resources=DispatchedResources(replicas=1, cpu="1", memory="1Gi", accelerators=8),
        pod_sets=H100_POD_SETS,
    )
    return base.model_copy(update=changes)


def test_the_status_names_each_roles_pods_requests_and_nodes() -> None:
    snapshot = pool(identifier("p").nodes(*(node(f"n{i}").gpus(8).cpu(64).memory("512Gi") for i in (1, 2))))
    demand = task().pod_set("leader", 1, cpu=2, memory="4Gi").pod_set("workers", 2, gpus=8, cpu=1, memory="1Gi")
    assert pod_set_placements(place(snapshot, demand.build())) == H100_POD_SETS


def test_a_task_of_one_pod_set_keeps_its_placement_as_it_was() -> None:
    snapshot = pool(identifier("p").nodes(node("n1").gpus(8)))
    assert pod_set_placements(place(snapshot, task().gpus(8).build())) is None


def test_the_quota_counts_every_roles_pods_at_their_own_requests() -> None:
    held = record("Running")
    held.status = held.status.model_copy(update={"placement": placed()})
    assert amounts_of(held) == {"cpu": 4000, "memory": 6 * 1024**3, H100: 16}


def test_usage_is_every_roles_pods_for_the_time_they_ran() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    pricing = Pricing(currency="USD", per_accelerator_hour={H100: 2.0})
    used = meter_attempt(placed(), start, start + dt.timedelta(hours=1), pricing)
    assert used is not None
    assert (used.accelerator_seconds, used.core_seconds, used.cost) == (16 * 3600, 4 * 3600, 32.0)


def test_usage_and_cost_are_kept_per_role_and_sum_to_the_totals() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    pricing = Pricing(currency="USD", per_cpu_core_hour=0.5, per_accelerator_hour={H100: 2.0})
    used = meter_attempt(placed(), start, start + dt.timedelta(hours=1), pricing)
    assert used is not None
    roles = dict(used.roles)
    assert list(roles) == ["leader", "workers"]
    assert (roles["leader"].accelerator_seconds, roles["leader"].core_seconds, roles["leader"].cost) == (0, 7200, 1.0)
    assert (roles["workers"].accelerator_seconds, roles["workers"].core_seconds) == (16 * 3600, 2 * 3600)
    assert roles["workers"].cost == 16 * 2.0 + 2 * 0.5
    assert sum(r.cost for r in roles.values()) == used.cost
    assert sum(r.core_seconds for r in roles.values()) == used.core_seconds


def test_a_task_sums_each_roles_usage_over_its_attempts() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    pricing = Pricing(currency="USD", per_accelerator_hour={H100: 2.0})
    used = meter_attempt(placed(), start, start + dt.timedelta(hours=1), pricing)
    assert used is not None
    once = ComputeTaskStatus.model_validate({}).model_copy(update=accrue(ComputeTaskStatus.model_validate({}), used))
    twice = once.model_copy(update=accrue(once, used))
    assert twice.usage is not None
    assert twice.usage.pod_sets is not None
    assert twice.usage.pod_sets["workers"].gpu_seconds == 2 * 16 * 3600
    assert twice.usage.pod_sets["workers"].cost == 64.0
    assert twice.usage.pod_sets["leader"].gpu_seconds == 0
    assert twice.usage.gpu_seconds == 2 * 16 * 3600
    ComputeTaskStatus.model_validate(twice.model_dump(by_alias=True))  # the hub would take it


def test_the_gpus_column_counts_every_role_with_devices() -> None:
    pod = {"containers": [{"name": "c", "image": "i", "resources": {"limits": {"nvidia.com/gpu": 8}}}]}
    job = {"template": {"spec": pod}}
    workload = {
        "apiVersion": "jobset.x-k8s.io/v1alpha2",
        "kind": "JobSet",
        "spec": {
            "replicatedJobs": [
                {"name": "leader", "template": {"spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}}},
                {"name": "workers", "replicas": 2, "template": {"spec": job}},
            ]
        },
    }
    spec = ComputeTaskSpec.model_validate({"resources": {"cpu": "1", "memory": "1Gi"}, "workload": workload})
    task = TaskRecord("u", "ns", "t", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), 1, spec, {}, workload=workload)
    assert facts_of(task).summary.gpus == "2x8"
