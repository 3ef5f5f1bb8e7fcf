"""Placement regret on the real federation: what the operator dispatches, the member's scheduler binds.

A seeded mix of 200 ComputeTasks (`support.mix`: GPU models of two vendors by model and by vendor,
gangs, native sidecars holding cpu and GPUs, multi-container templates, resources derived from the
template, node selectors, required and preferred node affinity, tolerations, and tasks that fit
nowhere) goes to the hub while every L40S node of member-3 carries a taint put here. Pods run 30
simulated seconds, so most tasks fit at once and a share queues behind them. Until every task that
fits has all its pods bound and every task that fits nowhere waits, the members' pods are polled;
then the members' FailedScheduling events are read too. Every dispatched pod must be bound (none
left Unschedulable), and every waiting task must say why in one line. The figure "placement regret:
dispatched pods the member could not bind" counts every refusal, also one the member's scheduler
took back seconds later; it is printed and must be 0 (a refusal is excused only when the task's
condition says its snapshot was stale), and `bench/bench_regret.py` reports it for larger mixes.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import yaml

from computenet.api.constants import DEFAULT_TARGET_NAMESPACE, TASK_UID_LABEL
from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from support.mix import L40S, MIX_LABEL, TAINT, TAINTED_GROUP, TAINTED_MEMBER, TOLERATION, MixTask, mix
from support.regret import Ledger, Tally, condition, dispatched, says_why_in_one_line, tally
from support.timeouts import BURST_S, STATE_S
from support.wait import eventually

SEED = 20261130
TASKS = 200
RUN_FOR = "30s"
LEADER_S = 180.0  # the operator becomes leader and sees every member, on a loaded machine
CREATE_BATCH, CREATE_WORKERS = 20, 4
POLL_S = 2.0  # four kubectl lists per round: not faster on a shared 2-core machine


def _items(cluster: Cluster, *args: str) -> list[dict[str, Any]]:
    """The listed objects; a list the loaded API server did not answer is "not yet" for `eventually`."""
    try:
        done = cluster.kubectl("get", *args, "-o", "json")
    except subprocess.CalledProcessError as e:
        raise AssertionError(f"kubectl get {' '.join(args)} failed: {(e.stderr or '').strip()[:200]}") from e
    items: list[dict[str, Any]] = json.loads(done.stdout)["items"]
    return items


def _create(hub: Cluster, manifests: list[dict[str, Any]]) -> None:
    """Create the tasks with a few kubectl processes at once: one at a time takes minutes on a busy hub."""
    batches = [manifests[i : i + CREATE_BATCH] for i in range(0, len(manifests), CREATE_BATCH)]
    with ThreadPoolExecutor(CREATE_WORKERS) as pool:
        for done in pool.map(lambda b: hub.kubectl("create", "-f", "-", input=yaml.safe_dump_all(b)), batches):
            assert done.returncode == 0


def _probe(name: str, tolerate: bool) -> dict[str, Any]:
    """A one-GPU L40S task: it fits only on the tainted nodes, so only with the toleration."""
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [{"name": "main", "image": "busybox", "resources": {"limits": {"nvidia.com/gpu": 1}}}],
    }
    if tolerate:
        pod["tolerations"] = [TOLERATION]
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "resources": {"cpu": "100m", "memory": "64Mi", "accelerators": {"vendor": "nvidia", "models": [L40S]}},
            "template": {
                "spec": {
                    "backoffLimit": 0,
                    "template": {"metadata": {"annotations": {"sim.computenet.io/run-duration": "1s"}}, "spec": pod},
                }
            },
        },
    }


def _task(hub: Cluster, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(hub.kubectl("get", "computetask", name, "-o", "json").stdout)
    return obj


@pytest.fixture(scope="module")
def tainted_l40s(operator: devenv.OperatorProcess, hub: Cluster, federation: Federation) -> Iterator[list[str]]:
    """Every L40S node of member-3 tainted with `TAINT`, seen by the operator; the taint is removed after.

    Seen means: a tolerating L40S probe is dispatched (the operator leads and knows the members), then
    a probe without the toleration waits with Placed=False. A probe placed on a snapshot from before
    the taint is deleted and another one tried.
    """
    member = next(m for m in federation.members if m.name == TAINTED_MEMBER)
    nodes = [n["metadata"]["name"] for n in _items(member, "nodes", "-l", f"computenet.io/node-group={TAINTED_GROUP}")]
    assert nodes, f"no {TAINTED_GROUP} nodes in {member.name}"
    taint = f"{TAINT['key']}={TAINT['value']}:{TAINT['effect']}"
    member.kubectl("taint", "nodes", *nodes, taint, "--overwrite")
    probes: list[str] = []
    try:
        probes.append(f"regret-probe-{uuid.uuid4().hex[:6]}")
        devenv.apply(hub, _probe(probes[-1], tolerate=True))
        eventually(lambda: dispatched(_task(hub, probes[0])), timeout=LEADER_S, interval=POLL_S)

        def untolerated_probe_waits() -> bool:
            if len(probes) == 1:
                probes.append(f"regret-probe-{uuid.uuid4().hex[:6]}")
                devenv.apply(hub, _probe(probes[-1], tolerate=False))
            task = _task(hub, probes[-1])
            if dispatched(task):  # placed before the taint was seen: try again
                hub.kubectl("delete", "computetask", probes.pop(), "--wait=false")
                return False
            return bool(condition(task, "Placed").get("status") == "False")

        eventually(untolerated_probe_waits, timeout=STATE_S, interval=POLL_S)
        yield nodes
    finally:
        for name in probes:
            hub.kubectl("delete", "computetask", name, "--wait=false", "--ignore-not-found")
        member.kubectl("taint", "nodes", *nodes, f"{TAINT['key']}:{TAINT['effect']}-")


class Observer:
    """Polls the hub's tasks of one run and the members' pods, feeding a `Ledger`."""

    def __init__(self, hub: Cluster, federation: Federation, run: str, planned: list[MixTask]) -> None:
        self.hub, self.federation, self.run = hub, federation, run
        self.nowhere = {t.name for t in planned if t.fit_nowhere}
        self.ledger = Ledger()
        self.tasks: list[dict[str, Any]] = []
        self.queued: set[str] = set()  # tasks seen waiting with a reason, then dispatched
        self.said_badly: dict[str, dict[str, Any]] = {}  # Placed=False without a reason or on many lines

    def poll(self) -> Tally:
        self.tasks = _items(self.hub, "computetasks", "-n", "default", "-l", f"{MIX_LABEL}={self.run}")
        for member in self.federation.members:
            self.ledger.observe_pods(member.name, _items(member, "pods", "-A", "-l", TASK_UID_LABEL))
        for task in self.tasks:
            placed, name = condition(task, "Placed"), task["metadata"]["name"]
            if not dispatched(task) and placed.get("status") == "False":
                if says_why_in_one_line(task):
                    self.queued.add(name)
                else:
                    self.said_badly[name] = placed
        return tally(self.tasks, self.ledger)

    def settled(self) -> Tally:
        """Every task that fits has all its pods bound; every task that fits nowhere waits."""
        result = self.poll()
        sent = set(result.dispatched)
        assert len(self.tasks) == TASKS, f"{len(self.tasks)}/{TASKS} tasks on the hub"
        not_yet = sorted({t["metadata"]["name"] for t in self.tasks} - sent - self.nowhere)
        assert not not_yet, f"{len(not_yet)} tasks that fit are not dispatched yet, such as {not_yet[:5]}"
        assert not result.unbound, f"pods not bound yet: {dict(list(result.unbound.items())[:5])}"
        assert set(result.waiting_with_reason) == self.nowhere, result.waiting_without_reason[:5]
        return result

    def read_events(self) -> Tally:
        for member in self.federation.members:
            events = _items(
                member, "events", "-n", DEFAULT_TARGET_NAMESPACE, "--field-selector", "reason=FailedScheduling"
            )
            self.ledger.observe_events(member.name, events)
        return tally(self.tasks, self.ledger)


def test_dispatched_pods_are_all_bound_and_waiting_tasks_say_why(
    tainted_l40s: list[str], hub: Cluster, federation: Federation
) -> None:
    run = f"regret-{uuid.uuid4().hex[:5]}"
    planned = mix(SEED, TASKS, run=run, run_for=RUN_FOR)
    print(f"placement regret mix: seed {SEED}, {TASKS} tasks, run {run}, tainted {TAINTED_MEMBER} {tainted_l40s}")
    observer = Observer(hub, federation, run, planned)
    _create(hub, [t.manifest for t in planned])
    try:
        eventually(observer.settled, timeout=BURST_S, interval=POLL_S)
    finally:
        result = observer.read_events()
        figures = {"seed": SEED, **result.figures(), "queued_then_dispatched": len(observer.queued - observer.nowhere)}
        print(f"placement regret: dispatched pods the member could not bind: {json.dumps(figures)}")
        placements = {t["metadata"]["name"]: (t.get("status") or {}).get("placement") for t in observer.tasks}
        for regret in result.regret:
            print(f"  regret: {regret}; placement {json.dumps(placements.get(regret.task))}")
        hub.kubectl("delete", "computetasks", "-n", "default", "-l", f"{MIX_LABEL}={run}", "--wait=false")

    # Every dispatched pod was bound (`settled`), and none was refused on the way, not even for a
    # moment: a pod refused and bound seconds later is a promise the snapshot broke too.
    assert result.regret == [], "\n".join(str(r) for r in result.regret)
    assert result.waiting_without_reason == []
    assert observer.said_badly == {}
    nowhere = [t for t in observer.tasks if t["metadata"]["name"] in observer.nowhere]
    assert nowhere, "the mix holds tasks that fit nowhere"
    for task in nowhere:
        placed = condition(task, "Placed")
        assert (placed.get("reason"), task["status"].get("phase")) == ("NoFit", "Pending"), (
            task["metadata"]["name"],
            placed,
        )
