"""Two operator replicas on one hub, one active: SIGKILL the active one again and again.

The issue's promise: with a standby, killing the active operator loses no task, duplicates no Job
and the standby holds the Lease within 15 s. 100 short CPU tasks arrive in 20 waves; in each wave
the active replica is SIGKILLed at a seeded random moment while the wave is in flight, the time
until the other replica holds the Lease is measured, and the killed one is restarted as the new
standby (as Kubernetes would restart the pod).
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.aio.client import ApiClient, CoordinationV1Api
from kubernetes.aio.client.exceptions import ApiException
from prometheus_client.parser import text_string_to_metric_families

from computenet.api.constants import ATTEMPT_LABEL, TASK_UID_LABEL
from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from computenet.testing.topology import default_shape
from support.settings import OPERATOR_ENV
from support.timeouts import BURST_S, STATE_S
from support.wait import eventually, eventually_async

STANDBY_ENV = {k: v for k, v in OPERATOR_ENV.items() if not k.startswith("COMPUTENET_LEADER_")}
"""The replicas elect with the production timings (10 s lease, 7 s renew deadline, 1 s retry)."""
TASKS = 100
KILLS = 20
TAKEOVER_LIMIT_S = 15.0
LEASE = "computenet-operator"  # the operator's default --leader-lease-name
REPLICAS = ("replica-a", "replica-b")


def cpu_task(name: str, label: str) -> dict[str, Any]:
    """A CPU-only task that runs 2 s on kwok (tests/integration/test_tasks.py `task()` shape)."""
    resources = {"cpu": "100m", "memory": "1Gi"}
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": "default", "labels": {"batch": label}},
        "spec": {
            "replicas": 1,
            "resources": resources,
            "template": {
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "metadata": {"annotations": {"sim.computenet.io/run-duration": "2s"}},
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "main", "image": "busybox", "resources": {"requests": resources}}],
                        },
                    },
                }
            },
        },
    }


def batch(hub: Cluster, label: str) -> list[dict[str, Any]]:
    out = hub.kubectl("get", "computetasks", "-n", "default", "-l", f"batch={label}", "-o", "json").stdout
    items: list[dict[str, Any]] = json.loads(out)["items"]
    return items


def past_placement(hub: Cluster, label: str) -> int:
    """Tasks the operator has acted on (dispatching or later): work a kill could duplicate."""
    return sum(
        1
        for t in batch(hub, label)
        if (t.get("status") or {}).get("phase") in ("Dispatching", "Running", "Succeeded", "Failed")
    )


def jobs_by_task_attempt(federation: Federation) -> Counter[tuple[str, str]]:
    """Jobs with our origin labels in every member, counted per (task uid, attempt)."""
    found: Counter[tuple[str, str]] = Counter()
    for member in federation.members:
        items = json.loads(member.kubectl("get", "jobs", "-A", "-l", TASK_UID_LABEL, "-o", "json").stdout)["items"]
        for job in items:
            labels = job["metadata"]["labels"]
            found[(labels[TASK_UID_LABEL], labels.get(ATTEMPT_LABEL, ""))] += 1
    return found


def leader_gauge(op: devenv.OperatorProcess) -> float:
    """`computenet_leader` as the replica serves it (AssertionError while its metrics port is closed:
    a new leader closes the standby endpoint before the operator opens its own)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{op.metrics_port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError as e:
        raise AssertionError(f"{op.name} metrics: {e}") from e
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples if s.name == "computenet_leader"]
    assert len(samples) == 1, samples
    return float(samples[0].value)


async def holder(hub_api: ApiClient) -> str:
    try:
        lease = await CoordinationV1Api(hub_api).read_namespaced_lease(LEASE, devenv.NAMESPACE)
    except ApiException as e:
        if e.status == 404:
            return ""
        raise
    return (lease.spec.holder_identity if lease.spec else "") or ""


@pytest.fixture
def replicas(federation: Federation) -> Iterator[dict[str, devenv.OperatorProcess]]:
    """Two operator replicas competing for the Lease; the shared `operator`, if up, pauses meanwhile."""
    shapes = [default_shape(i) for i in range(1, len(federation.members) + 1)]
    devenv.install_crds(federation.hub)
    devenv.register_members(federation, shapes)
    shared = None
    if devenv.OPERATOR in federation.supervisor.names():
        shared = federation.supervisor.stop(devenv.OPERATOR)  # SIGTERM: it releases the Lease
    running = {name: devenv.start_operator(federation, STANDBY_ENV, name=name) for name in REPLICAS}
    try:
        yield running
    finally:
        for name in REPLICAS:
            if name in federation.supervisor.names():
                devenv.stop_operator(federation, name)
        if shared is not None:
            federation.supervisor.start(shared.name, shared.argv, Path(shared.log), shared.env)


@pytest.mark.slow
@pytest.mark.timeout(1800)
async def test_sigkill_of_the_active_replica_loses_nothing_duplicates_nothing_and_the_standby_takes_over_in_15s(
    replicas: dict[str, devenv.OperatorProcess], federation: Federation, hub: Cluster, hub_api: ApiClient
) -> None:
    async def held_by_a_replica() -> str:
        who = await holder(hub_api)
        return who if who in replicas else ""

    # Both replicas just started: each first loads the operator (slow on a busy machine), then campaigns.
    active = await eventually_async(held_by_a_replica, timeout=BURST_S)
    standby = replicas[next(name for name in REPLICAS if name != active)]
    # A warm standby: loaded and watching the Lease (a busy machine takes long to import everything).
    await asyncio.to_thread(eventually, lambda: devenv.health_state(standby.health_port) == devenv.STANDBY, BURST_S)
    label = f"standby-{uuid.uuid4().hex[:6]}"
    objs = [cpu_task(f"{label}-{i:03d}", label) for i in range(TASKS)]
    per_wave = TASKS // KILLS
    rng = random.Random(11)
    takeovers: list[float] = []
    for n in range(KILLS):
        wave = objs[n * per_wave : (n + 1) * per_wave]
        await asyncio.to_thread(hub.kubectl, "apply", "-f", "-", input=yaml.safe_dump_all(wave))
        # Kill at a random point of this wave: between its first task and its last leaving Pending.
        target = n * per_wave + rng.randint(1, per_wave)
        await asyncio.to_thread(eventually, lambda t=target: past_placement(hub, label) >= t, BURST_S)
        assert await holder(hub_api) == active, "the Lease moved without a kill"
        victim = replicas[active]
        survivor = replicas[next(name for name in REPLICAS if name != active)]
        killed_at = time.monotonic()
        devenv.kill_operator(victim)

        async def survivor_holds(name: str = survivor.name) -> bool:
            return await holder(hub_api) == name

        await eventually_async(survivor_holds, timeout=TAKEOVER_LIMIT_S + STATE_S, interval=0.05)
        takeovers.append(time.monotonic() - killed_at)
        # Restarted as the new standby: start_operator returns once it is loaded and campaigning.
        replicas[victim.name] = devenv.start_operator(
            federation,
            STANDBY_ENV,
            ports=(victim.metrics_port, victim.health_port),
            name=victim.name,
            until=(devenv.STANDBY,),
        )
        await asyncio.to_thread(eventually, lambda s=survivor: leader_gauge(s) == 1.0, STATE_S)
        assert await asyncio.to_thread(leader_gauge, replicas[victim.name]) == 0.0
        active = survivor.name

    items = await asyncio.to_thread(eventually, lambda: _all_terminal(hub, label), BURST_S)
    print(
        f"\ntakeover after SIGKILL over {len(takeovers)} kills: max {max(takeovers):.2f}s, "
        f"median {statistics.median(takeovers):.2f}s, min {min(takeovers):.2f}s; "
        f"all: {', '.join(f'{t:.2f}' for t in takeovers)}"
    )
    assert Counter(t["status"]["phase"] for t in items) == {"Succeeded": TASKS}
    jobs = await asyncio.to_thread(jobs_by_task_attempt, federation)
    for t in items:
        uid = t["metadata"]["uid"]
        mine = {key: count for key, count in jobs.items() if key[0] == uid}
        assert list(mine.values()) == [1], (t["metadata"]["name"], mine)
    assert len(takeovers) == KILLS
    assert max(takeovers) <= TAKEOVER_LIMIT_S, takeovers
    for name in REPLICAS:
        log = federation.supervisor.log(name).read_text(errors="replace")
        # Every process of this replica started the operator's work only after taking the Lease.
        assert log.count("Activity 'startup' succeeded") == log.count(f"{name}: acquired Lease")
        assert log.count(f"{name}: acquired Lease") >= KILLS // 2
        assert "standing by" in log


def _all_terminal(hub: Cluster, label: str) -> list[dict[str, Any]]:
    items = batch(hub, label)
    assert len(items) == TASKS
    phases = Counter((t.get("status") or {}).get("phase") for t in items)
    assert set(phases) <= {"Succeeded", "Failed", "Cancelled"}, phases
    return items
