"""ComputeIdentifier and ComputePool status follow the real member clusters."""

from __future__ import annotations

import base64
import json
import uuid
from collections import Counter
from decimal import Decimal
from typing import Any

import yaml

from computenet.members.facts import holds_resources, pod_requests
from computenet.quantity import parse_quantity
from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from computenet.testing.topology import default_shape
from support.regret import condition, dispatched, says_why_in_one_line
from support.settings import add_h100_node
from support.timeouts import JOB_S, MEMBER_DOWN_S, STATE_S, STATUS_FOLLOW_S
from support.wait import eventually


def _get(cluster: Cluster, *args: str) -> Any:
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def _status(hub: Cluster, name: str) -> dict[str, Any]:
    return _get(hub, "computeidentifier", name).get("status") or {}


def _condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in status.get("conditions") or [] if c["type"] == type_), {})


def _expected_from_member(member: Cluster, node_filter: dict[str, str] | None = None) -> dict[str, Any]:
    """Capacity read straight from the member's nodes and pods; each pod counted as kube-scheduler counts it."""
    nodes = [
        n
        for n in _get(member, "nodes")["items"]
        if all(n["metadata"]["labels"].get(k) == v for k, v in (node_filter or {}).items())
    ]
    names = {n["metadata"]["name"] for n in nodes}
    allocatable: Counter[str] = Counter()
    gpus_by_model: Counter[str] = Counter()
    for n in nodes:
        for res, q in n["status"]["allocatable"].items():
            allocatable[res] += parse_quantity(q)
        labels = n["metadata"]["labels"]
        model = labels.get("nvidia.com/gpu.product") or labels.get("amd.com/gpu.product-name")
        if model:
            gpus_by_model[model] += int(n["status"]["allocatable"].get("nvidia.com/gpu") or 0) + int(
                n["status"]["allocatable"].get("amd.com/gpu") or 0
            )
        for res, q in n["status"]["allocatable"].items():  # MIG slices (mixed strategy) are their own model
            if res.startswith("nvidia.com/mig-"):
                gpus_by_model[labels[f"{res}.product"]] += int(q)
    allocated: Counter[str] = Counter()
    for p in _get(member, "pods", "-A")["items"]:
        if p["spec"].get("nodeName") not in names or not holds_resources(p):
            continue
        for name, amount in pod_requests(p["spec"], p.get("status")).items():
            allocated[name] += Decimal(amount) / 1000 if name == "cpu" else Decimal(amount)  # cpu in millicores
    return {"nodes": len(nodes), "allocatable": allocatable, "allocated": allocated, "gpus": gpus_by_model}


def _as_decimal(amounts: dict[str, str] | None) -> Counter[str]:
    return Counter({k: parse_quantity(v) for k, v in (amounts or {}).items()})


def _nonzero(c: Counter[str]) -> dict[str, Decimal]:
    return {k: v for k, v in c.items() if v}


def _matches_member(hub: Cluster, member: Cluster, name: str, node_filter: dict[str, str] | None = None) -> bool:
    expected = _expected_from_member(member, node_filter)
    status = _status(hub, name)
    assert status.get("nodes", {}).get("total") == expected["nodes"], status.get("nodes")
    resources = status.get("resources") or {}
    assert _nonzero(_as_decimal(resources.get("allocatable"))) == _nonzero(expected["allocatable"])
    assert _nonzero(_as_decimal(resources.get("allocated"))) == _nonzero(expected["allocated"])
    accelerators = status.get("accelerators") or {}
    assert {m: a["allocatable"] for m, a in accelerators.items()} == dict(expected["gpus"])
    return True


def test_identifier_status_equals_sums_from_the_member(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    for member in federation.members:
        # Counts may show before the member is Ready (its nodes listed, its pods not yet): wait for both.
        eventually(
            lambda m=member: (
                _matches_member(hub, m, m.name) and _condition(_status(hub, m.name), "Ready")["status"] == "True"
            ),
            timeout=STATE_S,
        )
        status = _status(hub, member.name)
        assert _condition(status, "Reachable")["status"] == "True"
        assert status["lastHeartbeatTime"]


def test_largest_free_slot_is_per_node_not_total(operator: devenv.OperatorProcess, hub: Cluster) -> None:
    def check() -> bool:
        acc = _status(hub, "member-1").get("accelerators") or {}
        l4 = acc.get("NVIDIA-L4")
        assert l4 is not None, acc
        # member-1 has 8 L4 GPUs in total, but only 2 on any one node.
        assert (l4["allocatable"], l4["largestFreeSlot"]) == (8, 2)
        return True

    eventually(check)


def test_summary_counts_physical_gpus_not_mig_slices_or_time_slice_replicas(
    operator: devenv.OperatorProcess, hub: Cluster
) -> None:
    """member-2: 16 MI300X, 16 A100, 4 A100 cut into 28 MIG slices, 2 A10 time-sliced into 8 replicas."""

    def check() -> bool:
        status = _status(hub, "member-2")
        acc = status.get("accelerators") or {}
        mig, shared = acc.get("NVIDIA-A100-SXM4-80GB-MIG-1g.10gb"), acc.get("NVIDIA-A10-SHARED")
        assert mig is not None, acc
        assert shared is not None, acc
        assert (mig["resource"], mig["allocatable"], mig["partition"]) == ("nvidia.com/mig-1g.10gb", 28, "1g.10gb")
        assert (shared["resource"], shared["allocatable"], shared["replicas"]) == ("nvidia.com/gpu", 8, 4)
        assert acc["NVIDIA-A100-SXM4-80GB"]["allocatable"] == 16  # slices never add to the whole GPUs
        assert status["summary"]["gpus"].endswith("/38"), status["summary"]  # 68 units, 38 devices
        return True

    eventually(check, timeout=STATE_S)


def test_added_node_shows_in_status_within_seconds(
    operator: devenv.OperatorProcess, hub: Cluster, member: Cluster
) -> None:
    eventually(lambda: _matches_member(hub, member, member.name))
    before = _status(hub, member.name)["accelerators"]["NVIDIA-H100-80GB-HBM3"]["allocatable"]
    name = f"h100-extra-{uuid.uuid4().hex[:5]}"
    add_h100_node(member, name, 8)
    try:

        def grew() -> bool:
            acc = _status(hub, member.name)["accelerators"]["NVIDIA-H100-80GB-HBM3"]
            assert acc["allocatable"] == before + 8, acc
            return True

        eventually(grew, timeout=STATUS_FOLLOW_S)
    finally:
        member.kubectl("delete", "node", name, "--wait=false")
    eventually(lambda: _status(hub, member.name)["accelerators"]["NVIDIA-H100-80GB-HBM3"]["allocatable"] == before)


def _job(name: str, gpus: int, run: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": {"annotations": {"sim.computenet.io/run-duration": run}},
                    "spec": {
                        "restartPolicy": "Never",
                        "nodeSelector": {"computenet.io/node-group": "h100"},
                        "containers": [
                            {
                                "name": "main",
                                "image": "busybox",
                                "resources": {
                                    "requests": {"cpu": "2"},
                                    "limits": {"nvidia.com/gpu": str(gpus)},
                                },
                            }
                        ],
                    },
                },
            },
        }
    )


def test_running_and_finishing_job_moves_allocated(
    operator: devenv.OperatorProcess, hub: Cluster, member: Cluster
) -> None:
    name = f"alloc-{uuid.uuid4().hex[:6]}"
    member.kubectl("apply", "-f", "-", input=_job(name, 3, "6s"))

    def allocated_h100() -> int:
        return int(_status(hub, member.name)["accelerators"]["NVIDIA-H100-80GB-HBM3"]["allocated"])

    eventually(lambda: allocated_h100() == 3, timeout=STATUS_FOLLOW_S + 10)
    eventually(lambda: _matches_member(hub, member, member.name))
    # The Job finishes after its simulated run; its pod stops holding the GPUs.
    eventually(lambda: allocated_h100() == 0, timeout=JOB_S)


def test_partition_shares_the_member_and_counts_only_its_nodes(
    operator: devenv.OperatorProcess, hub: Cluster, member: Cluster
) -> None:
    manifest = devenv.identifier_manifest(1, member, default_shape(1), ["cn-east"])
    manifest["metadata"] = {"name": "member-1-h100"}
    manifest["spec"]["uri"] = "cpi://east-cloud/cn-east/member-1/h100"
    manifest["spec"]["connection"]["nodeSelector"] = {"matchLabels": {"computenet.io/node-group": "h100"}}
    devenv.apply(hub, manifest)
    try:
        eventually(lambda: _matches_member(hub, member, "member-1-h100", {"computenet.io/node-group": "h100"}))
        status = _status(hub, "member-1-h100")
        assert set(status["accelerators"]) == {"NVIDIA-H100-80GB-HBM3"}
        assert status["summary"]["gpus"].endswith("/32")
    finally:
        hub.kubectl("delete", "computeidentifier", "member-1-h100")


def _identifier_with_secret(member: Cluster, name: str, secret: str) -> dict[str, Any]:
    manifest = devenv.identifier_manifest(1, member, default_shape(1), ["cn-east"])
    manifest["metadata"] = {"name": name}
    manifest["spec"]["uri"] = f"cpi://east-cloud/cn-east/{name}"
    manifest["spec"]["connection"]["secretRef"]["name"] = secret
    return manifest


def _secret(name: str, kubeconfig: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": devenv.NAMESPACE},
        "data": {"kubeconfig": base64.b64encode(kubeconfig.encode()).decode()},
    }


def _events_of(hub: Cluster, name: str) -> list[dict[str, Any]]:
    return _get(hub, "events", "-A", "--field-selector", f"involvedObject.name={name}")["items"]


def _ready_reason(hub: Cluster, name: str, reason: str) -> dict[str, Any]:
    ready = _condition(_status(hub, name), "Ready")
    assert (ready.get("status"), ready.get("reason")) == ("False", reason), ready
    return ready


def test_bad_secret_gives_a_readable_condition_and_event_and_spares_others(
    operator: devenv.OperatorProcess, hub: Cluster, member: Cluster
) -> None:
    name, secret = "broken-secret", "broken-secret-kubeconfig"
    devenv.apply(hub, _identifier_with_secret(member, name, secret))
    try:
        ready = eventually(lambda: _ready_reason(hub, name, "SecretNotFound"))
        assert f"{devenv.NAMESPACE}/{secret}" in ready["message"]
        eventually(lambda: any(e["reason"] == "SecretNotFound" for e in _events_of(hub, name)))

        devenv.apply(hub, _secret(secret, "clusters: [this is not a kubeconfig"))
        ready = eventually(lambda: _ready_reason(hub, name, "KubeconfigInvalid"))
        assert "not valid YAML" in ready["message"]

        # A well-formed kubeconfig whose token the member refuses.
        good = yaml.safe_load(member.operator_kubeconfig.read_text())
        good["users"][0]["user"]["token"] = "not-a-valid-token"
        devenv.apply(hub, _secret(secret, yaml.safe_dump(good)))
        reachable = eventually(
            lambda: (r := _condition(_status(hub, name), "Reachable")).get("reason") == "Unauthorized" and r,
            timeout=STATE_S,
        )
        assert reachable["status"] == "False"
        assert "refused our credentials" in reachable["message"]

        # The real identifiers are undisturbed.
        assert _condition(_status(hub, member.name), "Ready")["status"] == "True"
        # A correct Secret heals the identifier without a restart.
        devenv.apply(hub, _secret(secret, member.operator_kubeconfig.read_text()))
        eventually(lambda: _condition(_status(hub, name), "Ready").get("status") == "True")
    finally:
        hub.kubectl("delete", "computeidentifier", name, "--ignore-not-found")
        hub.kubectl("delete", "secret", secret, "-n", devenv.NAMESPACE, "--ignore-not-found")


def test_member_outage_turns_ready_false_then_true(
    operator: devenv.OperatorProcess, federation: Federation, hub: Cluster
) -> None:
    victim = federation.members[-1]
    eventually(lambda: _condition(_status(hub, victim.name), "Ready").get("status") == "True")
    federation.stop_apiserver(victim)
    try:
        ready = eventually(lambda: _ready_reason(hub, victim.name, "Unreachable"), timeout=MEMBER_DOWN_S)
        assert "does not answer" in ready["message"]
        # Other members are unaffected.
        assert _condition(_status(hub, federation.members[0].name), "Ready")["status"] == "True"
    finally:
        federation.start_apiserver(victim)
    eventually(lambda: _condition(_status(hub, victim.name), "Ready").get("status") == "True", timeout=MEMBER_DOWN_S)
    eventually(lambda: _matches_member(hub, victim, victim.name))


def _gh200_task(name: str) -> dict[str, Any]:
    """One GH200 GPU: only member-3 has that model."""
    pod = {
        "restartPolicy": "Never",
        "containers": [{"name": "main", "image": "busybox", "resources": {"limits": {"nvidia.com/gpu": 1}}}],
    }
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "resources": {
                "cpu": "100m",
                "memory": "64Mi",
                "accelerators": {"vendor": "nvidia", "models": ["NVIDIA-GH200-480GB"]},
            },
            "template": {"spec": {"backoffLimit": 0, "template": {"spec": pod}}},
        },
    }


def _task(hub: Cluster, name: str) -> dict[str, Any]:
    task: dict[str, Any] = _get(hub, "computetask", name, "-n", "default")
    return task


def test_a_member_whose_pods_watch_fails_takes_no_work_until_it_resumes(
    operator: devenv.OperatorProcess, federation: Federation, hub: Cluster
) -> None:
    """The member restarts refusing the operator its pods (403) while nodes and Jobs answer.

    Its picture of pods is then what it was before the restart: placing on it would promise slots
    that may be taken. The identifier is not Ready and a task only it could run waits, saying why;
    once the pods watch is current again the task is dispatched.
    """
    victim = federation.members[-1]
    assert victim.name == "member-3"
    eventually(lambda: _condition(_status(hub, victim.name), "Ready").get("status") == "True")
    nodes_only = [{"op": "replace", "path": "/rules/0/resources", "value": ["nodes"]}]
    victim.kubectl("patch", "clusterrole", "computenet-member", "--type=json", "-p", json.dumps(nodes_only))
    name = f"pods-watch-{uuid.uuid4().hex[:6]}"
    try:
        federation.stop_apiserver(victim)  # the established watches end; the new pods watch is refused
        federation.start_apiserver(victim)
        ready = eventually(
            lambda: (
                (c := _condition(_status(hub, victim.name), "Ready")).get("status") == "False"
                and c.get("reason") in ("WatchFailing", "Unauthorized")
                and "403" in c.get("message", "")
                and c
            ),
            timeout=MEMBER_DOWN_S,
        )
        assert "pods watch" in ready["message"], ready
        devenv.apply(hub, _gh200_task(name))

        def waits_saying_why() -> bool:
            task = _task(hub, name)
            assert not dispatched(task), task.get("status")
            assert condition(task, "Placed").get("status") == "False", task.get("status")
            assert says_why_in_one_line(task), task.get("status")
            return True

        eventually(waits_saying_why, timeout=STATE_S)
    finally:
        victim.kubectl("apply", "-f", str(devenv.REPO / "deploy" / "member-rbac.yaml"))
    eventually(lambda: _condition(_status(hub, victim.name), "Ready").get("status") == "True", timeout=MEMBER_DOWN_S)
    try:
        eventually(lambda: dispatched(_task(hub, name)), timeout=MEMBER_DOWN_S)
    finally:
        hub.kubectl("delete", "computetask", name, "-n", "default", "--wait=false", "--ignore-not-found")


def test_pool_aggregates_ready_members_and_flags_unknown_models(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    def check() -> dict[str, Any]:
        for m in federation.members:
            assert _condition(_status(hub, m.name), "Ready").get("status") == "True"
        status = _get(hub, "computepool", devenv.POOL).get("status") or {}
        members = len(federation.members)
        assert status.get("members") == {"ready": members, "total": members}, status.get("members")
        want: Counter[str] = Counter()
        for m in federation.members:
            for model, a in (_status(hub, m.name).get("accelerators") or {}).items():
                want[model] += a["allocatable"]
        assert {m: a["allocatable"] for m, a in status["accelerators"].items()} == dict(want)
        return status

    status = eventually(check)
    h100 = status["accelerators"]["NVIDIA-H100-80GB-HBM3"]["allocatable"]
    # The catalogue's H100 is 989.5 dense BF16 TFLOPS; other known models add to it.
    assert status["tflops"]["bf16"] >= 989.5 * h100
    if len(federation.members) >= 3:
        assert "NVIDIA-GH200-480GB" in status["unknownModels"]


def test_credentials_never_leave_the_secret(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    tokens = [
        yaml.safe_load(m.operator_kubeconfig.read_text())["users"][0]["user"]["token"] for m in federation.members
    ]
    assert all(len(t) > 20 for t in tokens)
    written = hub.kubectl("get", "computeidentifiers,computepools,computetasks,events", "-A", "-o", "yaml").stdout
    log = operator.log_text()
    for token in tokens:
        assert token not in written
        assert token not in log
