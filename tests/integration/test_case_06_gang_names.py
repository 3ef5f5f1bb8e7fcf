"""Case 06: gang tasks whose names have dots or fill 63 (or 253) characters run, as Indexed Jobs.

ComputeTask names are DNS subdomains; an Indexed Job's pods are named and hostnamed
``<job name>-<index>``, which Kubernetes v1.36.3 requires to be a DNS-1123 label (``ValidateJob``,
``pkg/apis/batch/validation/validation.go``). The case's two gangs, ``train.v2`` and a 63-character
name, and a 253-character name with dots (as a gang and as a single replica) must all end
``Succeeded`` with remote Job names that are DNS labels leaving room for the largest index, distinct
per task; and a restarted operator must adopt such a Job instead of creating a second one.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import yaml

from computenet.api.constants import TASK_UID_LABEL
from computenet.dispatch.naming import is_dns1123_label, job_name
from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from support.settings import OPERATOR_ENV
from support.timeouts import JOB_S
from support.wait import eventually

DOTTED = "train.v2"
LONG_63 = "pretrain-llama-70b-sft-moe-eval-shard-0001-final-run-2024-1129b"


def name_of_253(tag: str) -> str:
    """A legal ComputeTask name of exactly 253 characters, with dots: ``<tag>.xxx...x.yyy...y...``."""
    labels = [tag]
    while len(".".join(labels)) < 253:
        room = 253 - len(".".join(labels)) - 1
        labels.append(("x" if len(labels) % 2 else "y") * min(63, room) if room > 0 else "")
    name = ".".join(label for label in labels if label)
    assert len(name) == 253, len(name)
    return name


def task(name: str, namespace: str, replicas: int, run: str = "3s") -> dict[str, Any]:
    """The case's task: a CPU gang of ``replicas`` on the default pool, each replica running ``run``."""
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "resources": {"cpu": "1", "memory": "1Gi"},
            "template": {
                "spec": {
                    "template": {
                        "metadata": {"annotations": {"sim.computenet.io/run-duration": run}},
                        "spec": {"containers": [{"name": "worker", "image": "registry.example/trainer:2.0"}]},
                    }
                }
            },
        },
    }


def namespace(hub: Cluster) -> str:
    name = f"case-06-{uuid.uuid4().hex[:6]}"
    hub.kubectl("create", "namespace", name)
    return name


def apply(hub: Cluster, *objects: dict[str, Any]) -> None:
    hub.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects))


def get_task(hub: Cluster, name: str, ns: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(hub.kubectl("get", "computetask", name, "-n", ns, "-o", "json").stdout)
    return found


def succeeded(hub: Cluster, name: str, ns: str) -> dict[str, Any]:
    obj = get_task(hub, name, ns)
    status = obj.get("status") or {}
    assert status.get("phase") == "Succeeded", f"{name[:40]}: {status.get('phase')} {status.get('message')}"
    return obj


def jobs_of(federation: Federation, uid: str) -> list[tuple[str, dict[str, Any]]]:
    """Every Job carrying the task's UID label, in every member."""
    found = []
    for member in federation.members:
        out = member.kubectl("get", "jobs", "-A", "-l", f"{TASK_UID_LABEL}={uid}", "-o", "json").stdout
        found += [(member.name, job) for job in json.loads(out)["items"]]
    return found


def dispatch_messages(hub: Cluster, name: str, ns: str) -> list[str]:
    items = json.loads(hub.kubectl("get", "events", "-n", ns, "-o", "json").stdout)["items"]
    return [
        e.get("message", "")
        for e in items
        if e["involvedObject"].get("name") == name and e.get("reason") == "Dispatched"
    ]


def test_gangs_with_dots_and_long_names_succeed_with_valid_distinct_job_names(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    ns = namespace(hub)
    cases = [
        (DOTTED, 2),
        (LONG_63, 2),
        (name_of_253("gang"), 2),
        (name_of_253("single"), 1),
    ]
    apply(hub, *(task(name, ns, replicas) for name, replicas in cases))
    names: dict[str, str] = {}
    for name, replicas in cases:

        def admitted(task_name: str = name) -> str:
            phase: str = (get_task(hub, task_name, ns).get("status") or {}).get("phase", "")
            return phase

        def done(task_name: str = name) -> dict[str, Any]:
            return succeeded(hub, task_name, ns)

        eventually(admitted, timeout=JOB_S)  # the operator may still be starting on a loaded machine
        obj = eventually(done, timeout=JOB_S)
        status, uid = obj["status"], obj["metadata"]["uid"]
        remote = status["remote"]["name"]
        assert remote == job_name(name, uid, status["attempt"])
        assert is_dns1123_label(remote), remote
        assert len(remote) + len(f"-{replicas - 1}") <= 63, remote
        assert "." not in remote
        ((_, job),) = jobs_of(federation, uid)
        assert job["metadata"]["name"] == remote
        if replicas > 1:
            assert job["spec"]["completionMode"] == "Indexed"
            assert job["spec"]["completions"] == replicas
        names[name] = remote
    assert len(set(names.values())) == len(cases), names


def test_a_restarted_operator_adopts_the_job_of_a_253_character_gang(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    """The operator dies after creating the Job and before the hub learns of it: the next one adopts it.

    The crash window is made deterministic: once the Job runs, the operator is killed and the task's
    status is put back to what it was before the create (Dispatching, no remote). The restarted
    operator resumes the dispatch, computes the same name, gets 409 and adopts the Job by its labels.
    """
    ns = namespace(hub)
    name = name_of_253("adopt")
    apply(hub, task(name, ns, replicas=2, run="20s"))

    def dispatched() -> dict[str, Any]:
        obj = get_task(hub, name, ns)
        assert (obj.get("status") or {}).get("remote"), (obj.get("status") or {}).get("phase")
        return obj

    before = eventually(dispatched, timeout=JOB_S)
    uid = before["metadata"]["uid"]
    ((_, job),) = jobs_of(federation, uid)
    devenv.kill_operator(operator)
    rewind = {"status": {"phase": "Dispatching", "remote": None}}
    hub.kubectl(
        "patch", "computetask", name, "-n", ns, "--subresource=status", "--type=merge", "-p", json.dumps(rewind)
    )
    devenv.start_operator(
        federation, OPERATOR_ENV, ports=(operator.metrics_port, operator.health_port), name=operator.name
    )

    adopted = eventually(lambda: [m for m in dispatch_messages(hub, name, ns) if " adopted in " in m], timeout=JOB_S)
    assert job["metadata"]["name"] in adopted[0]
    obj = eventually(lambda: succeeded(hub, name, ns), timeout=JOB_S)
    ((member, after),) = jobs_of(federation, uid)  # one Job: adopted, never created twice
    status = obj["status"]
    assert after["metadata"]["uid"] == job["metadata"]["uid"] == status["remote"]["uid"]
    assert member == status["remote"]["identifier"] == before["status"]["remote"]["identifier"]
    assert after["metadata"]["name"] == status["remote"]["name"] == job_name(name, uid, status["attempt"])
