"""Tenants on the real hub and members: quotas held, borrowing and reclaim by preemption, budgets, no starvation.

Member-1 is the only member with H100s (4 nodes x 8). Each test makes its own namespaces and
ComputeQueues and removes them (and their tasks) at the end, so tasks of other tests, which name no
queue, are placed as before once it is over.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from computenet.testing import devenv
from computenet.testing.federation import Cluster
from support.tasks import apply, condition, events, phase_is, status, task, tasks, unique
from support.timeouts import BURST_S, JOB_S, STATE_S
from support.wait import eventually

H100 = "NVIDIA-H100-80GB-HBM3"


def queue(name: str, namespace: str, gpus: int, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeQueue",
        "metadata": {"name": name},
        "spec": {"namespaces": [namespace], "default": True, "nominalQuota": {"accelerators": {H100: gpus}}, **spec},
    }


def queue_status(hub: Cluster, name: str) -> dict[str, Any]:
    return json.loads(hub.kubectl("get", "cq", name, "-o", "json").stdout).get("status") or {}


def h100(name: str, namespace: str, gpus: int = 8, replicas: int = 1, run: str = "600s") -> dict[str, Any]:
    return task(name, namespace=namespace, gpus=gpus, replicas=replicas, models=[H100], run=run)


def phases(hub: Cluster, namespace: str) -> dict[str, str]:
    return {t["metadata"]["name"]: (t.get("status") or {}).get("phase", "") for t in tasks(hub, namespace)}


@pytest.fixture
def tenants(hub: Cluster) -> Iterator[list[str]]:
    """Names of queues and namespaces this test makes; all of it is removed afterwards."""
    made: list[str] = []
    yield made
    for name in made:
        if name.startswith("ns:"):
            hub.kubectl("delete", "computetasks", "--all", "-n", name[3:], "--wait=true", check=False)
            hub.kubectl("delete", "namespace", name[3:], "--wait=false", check=False)
        else:
            hub.kubectl("delete", "cq", name, "--wait=true", check=False)


def namespace(hub: Cluster, made: list[str], prefix: str) -> str:
    name = unique(prefix)
    hub.kubectl("create", "namespace", name)
    made.append(f"ns:{name}")
    return name


def test_quotas_hold_borrowing_fills_idle_quota_and_reclaim_preempts_one_borrowed_task(
    operator: devenv.OperatorProcess, hub: Cluster, tenants: list[str]
) -> None:
    ns_a, ns_b = namespace(hub, tenants, "tenant-a"), namespace(hub, tenants, "tenant-b")
    qa, qb = unique("team-a"), unique("team-b")
    tenants[:0] = [qa, qb]
    apply(
        hub,
        queue(qa, ns_a, 16, preemption={"reclaimWithinPool": "Any"}),
        queue(qb, ns_b, 16),
    )
    # team-b borrows team-a's idle quota: 4 x 8 GPUs, the whole of member-1's H100s.
    apply(hub, *(h100(f"b{i}", ns_b) for i in range(4)))
    for i in range(4):
        eventually(lambda i=i: phase_is(hub, f"b{i}", "Running", ns_b), timeout=JOB_S)
    usage = eventually(lambda: (s := queue_status(hub, qb)) and s["usage"][0]["used"] == "32" and s, timeout=STATE_S)
    assert usage["usage"] == [{"resource": H100, "nominal": "16", "used": "32", "borrowed": "16"}]
    assert usage["tasks"]["admitted"] == 4
    row = hub.kubectl("get", "cq", qb, "--no-headers").stdout.split()
    assert row[:4] == [qb, "default", "32/16", "4"]
    # Quota held: a fifth team-b task waits and says which quota blocks it.
    apply(hub, h100("b4", ns_b))
    held = eventually(
        lambda: (c := condition(status(hub, "b4", ns_b), "Placed")) and "at quota" in c.get("message", "") and c,
        timeout=STATE_S,
    )
    assert held["message"].startswith(f"queue {qb} at quota for {H100}: 32/16 GPUs")
    # Reclaim: team-a is within its nominal quota, the pool lent it to team-b; one team-b task goes.
    apply(hub, h100("a0", ns_a))
    eventually(lambda: phase_is(hub, "a0", "Running", ns_a), timeout=JOB_S)
    preempted = [n for n, p in phases(hub, ns_b).items() if p == "Pending" and n != "b4"]
    assert len(preempted) == 1, phases(hub, ns_b)
    victim = status(hub, preempted[0], ns_b)
    # The Placed condition says what it waits for now; Dispatched keeps why its attempt ended.
    ended = condition(victim, "Dispatched")
    assert ended["reason"] == "Preempted"
    assert ended["message"].endswith(f"abandoned: preempted by {ns_a}/a0")
    assert victim["attempt"] >= 1
    assert "Requeued" in events(hub, preempted[0], ns_b)
    running_b = [n for n, p in phases(hub, ns_b).items() if p == "Running"]
    assert len(running_b) == 3  # the fewest victims: exactly one
    # The victim waits on the quota now held by team-a, not on the member.
    eventually(
        lambda: f"queue {qb} at quota" in condition(status(hub, preempted[0], ns_b), "Placed").get("message", ""),
        timeout=STATE_S,
    )
    a = eventually(lambda: (s := queue_status(hub, qa)) and s["usage"][0]["used"] == "8" and s, timeout=STATE_S)
    assert a["tasks"] == {"admitted": 1, "waiting": 0}


def test_a_queue_over_its_budget_stops_admitting_and_shows_its_spend(
    operator: devenv.OperatorProcess, hub: Cluster, tenants: list[str]
) -> None:
    ns = namespace(hub, tenants, "tenant-c")
    q = unique("team-c")
    tenants.insert(0, q)
    apply(hub, queue(q, ns, 16, budget={"amount": 0.0001, "currency": "USD"}))
    apply(hub, h100("first", ns, gpus=1, run="600s"))
    eventually(lambda: phase_is(hub, "first", "Running", ns), timeout=JOB_S)
    spent = eventually(lambda: (s := queue_status(hub, q)) and s["spend"]["amount"] >= 0.0001 and s, timeout=STATE_S)
    assert spent["spend"]["currency"] == "USD"
    active = condition(spent, "Active")
    assert (active["status"], active["reason"]) == ("False", "OverBudget")
    # The queue says so in an Event too (cluster-scoped objects' Events are in "default"), once.
    announced = eventually(lambda: (e := events(hub, q)) and e, timeout=STATE_S)
    assert announced == ["OverBudget"]
    apply(hub, h100("second", ns, gpus=1))
    waiting = eventually(
        lambda: (c := condition(status(hub, "second", ns), "Placed")) and "over budget" in c.get("message", "") and c,
        timeout=STATE_S,
    )
    assert waiting["message"].startswith(f"queue {q} over budget: spent ")
    assert status(hub, "second", ns).get("phase") == "Pending"
    row = hub.kubectl("get", "cq", q, "--no-headers").stdout.split()
    assert row[5].endswith("/0.0001")  # Spend column: "<spent>/0.0001 USD"
    assert row[6] == "USD"


def test_a_gang_is_not_starved_by_a_stream_of_small_tasks(
    operator: devenv.OperatorProcess, hub: Cluster, tenants: list[str]
) -> None:
    ns = namespace(hub, tenants, "tenant-g")
    q = unique("team-g")
    tenants.insert(0, q)
    apply(hub, queue(q, ns, 32, reservation={"afterSeconds": 5}))
    # Eight 4-GPU tasks fill member-1's H100s, two per node; more keep coming behind the gang.
    # Their run times differ, so the nodes never all free up at once: each hole is refilled at once.
    apply(hub, *(h100(f"small-{i:02d}", ns, gpus=4, run=f"{6 + 2 * i}s") for i in range(8)))
    eventually(lambda: sum(p == "Running" for p in phases(hub, ns).values()) == 8, timeout=JOB_S)
    apply(hub, h100("gang", ns, gpus=8, replicas=2, run="5s"))
    apply(hub, *(h100(f"small-{i:02d}", ns, gpus=4, run="10s") for i in range(8, 40)))
    # Without a reservation the gang would wait until the stream dries up: each 4-GPU hole is taken
    # by the next small task. With it, member-1 is held for the gang after 5 s and it runs next.
    reserved = eventually(
        lambda: (c := condition(status(hub, "small-39", ns), "Placed")) and "reserved" in c.get("message", "") and c,
        timeout=JOB_S,
    )
    assert f"member-1 is reserved for {ns}/gang until it runs" in reserved["message"]
    eventually(lambda: status(hub, "gang", ns).get("phase") in ("Running", "Succeeded"), timeout=BURST_S)
    waiting = [n for n, p in phases(hub, ns).items() if n.startswith("small-") and p in ("", "Pending")]
    assert len(waiting) >= 16, phases(hub, ns)  # it ran long before the stream was through
    eventually(lambda: phase_is(hub, "small-39", "Succeeded", ns), timeout=BURST_S)


def test_a_task_above_what_its_queue_can_ever_hold_says_so_and_does_not_block_the_queue(
    operator: devenv.OperatorProcess, hub: Cluster, tenants: list[str]
) -> None:
    ns_a, ns_b = namespace(hub, tenants, "tenant-n"), namespace(hub, tenants, "tenant-l")
    qa, qb = unique("team-n"), unique("team-l")
    tenants[:0] = [qa, qb]
    # team-n may hold 4 GPUs of its own and borrow 4 of team-l's idle 16: never more than 8.
    apply(
        hub,
        queue(qa, ns_a, 4, borrowingLimit={"accelerators": {H100: 4}}, reservation={"afterSeconds": 0}),
        queue(qb, ns_b, 16),
    )
    apply(hub, h100("huge", ns_a, gpus=8, replicas=2))
    never = eventually(
        lambda: (c := condition(status(hub, "huge", ns_a), "Placed")) and "never" in c.get("message", "") and c,
        timeout=STATE_S,
    )
    assert never["status"] == "False"
    assert never["reason"] == "ExceedsMaxQuota"
    assert never["message"] == (
        f"needs 16 {H100} GPUs but queue {qa} can never hold more than 8 (nominal 4 + borrowing limit 4)"
    )
    # It holds nothing though it starves: a task of exactly the ceiling runs on member-1 past it.
    apply(hub, h100("fits", ns_a, gpus=8))
    eventually(lambda: phase_is(hub, "fits", "Running", ns_a), timeout=JOB_S)
    assert status(hub, "huge", ns_a).get("phase") == "Pending"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        pytest.param({"fairSharing": {"weight": 0}}, "spec.fairSharing.weight", id="a weight of 0"),
        pytest.param(
            {"nominalQuota": {"accelerators": {H100: -1}}}, "spec.nominalQuota.accelerators", id="negative GPUs"
        ),
        pytest.param({"preemption": {"withinQueue": "Always"}}, "spec.preemption.withinQueue", id="unknown policy"),
        pytest.param({"budget": {"amount": 10, "currency": "usd"}}, "spec.budget.currency", id="currency not ISO 4217"),
    ],
)
def test_a_bad_queue_is_refused_naming_the_field(
    operator: devenv.OperatorProcess, hub: Cluster, spec: dict[str, Any], field: str
) -> None:
    bad = queue(unique("bad"), "default", 8)
    bad["spec"].update(spec)
    result = hub.kubectl("apply", "-f", "-", input=json.dumps(bad), check=False)
    assert result.returncode != 0
    assert field in result.stderr, result.stderr
