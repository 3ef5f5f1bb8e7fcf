"""The operator stages tasks' data on the real federation with real stores (SeaweedFS, one per region).

Simulated pods run no containers, so this module plays the kubelet for the data path: it takes the
commands from the manifests the operator put in the member (the mover Job's container, the
workload's init containers), runs them here against the real stores with the Secrets the operator
copied to the member mounted as files, and, for a mover pod, writes how it ended (phase, exit code,
the mover's own termination message) into the pod's status, as a kubelet would. Everything else is
the operator's own doing: the plan, the Secrets, the Jobs, the order, the status, the replicas and
the cleanup.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from computenet.api.constants import MANAGED_BY_LABEL, STAGING_LABEL, TASK_UID_LABEL
from computenet.data.plan import MiB
from computenet.data.render import CREDENTIALS_ROOT, DATA_ROOT
from computenet.tasks.lifecycle.startup import NO_POD_GRACE_S
from computenet.tasks.staging.manifests import RESULT_PATH
from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from computenet.testing.stores import Store
from computenet.testing.topology import default_shape
from support.settings import OPERATOR_ENV
from support.tasks import apply, condition, phase_is, status, task, unique
from support.timeouts import JOB_S, STATE_S
from support.wait import eventually

pytestmark = pytest.mark.timeout(600)

WEST = "cn-west"


@pytest.fixture(scope="module")
def regions(operator: devenv.OperatorProcess, federation: Federation, stores: dict[str, Store]) -> dict[str, Store]:
    """Every identifier points at its region's store (as `make dev-up` sets them up)."""
    shapes = [default_shape(i) for i in range(1, len(federation.members) + 1)]
    devenv.register_stores(federation, shapes, list(stores.values()))
    return stores


PRICE_POOL_LABEL = "data-staging.computenet.io/member"
WEST_CORE_HOUR = 0.01
"""cn-west's cores, four times cheaper than the others' 0.04 USD: half a core saves 0.015 USD an hour,
more than the egress of the few MiB moved out of cn-east's store (0.08 USD per GiB)."""


@pytest.fixture
def price_pool(regions: dict[str, Store], hub: Cluster, federation: Federation) -> Iterator[str]:
    """A pool of the cn-east and cn-west members that weighs price alone, cn-west's cores made cheaper."""
    east, west = _member(federation, "cn-east").name, _member(federation, WEST).name
    before = json.loads(hub.kubectl("get", "computeidentifier", west, "-o", "json").stdout)["spec"]["pricing"]
    for member in (east, west):
        hub.kubectl("label", "computeidentifier", member, f"{PRICE_POOL_LABEL}=true", "--overwrite")
    cheaper = json.dumps({"spec": {"pricing": {**before, "perCpuCoreHour": WEST_CORE_HOUR}}})
    hub.kubectl("patch", "computeidentifier", west, "--type=merge", "-p", cheaper)
    name = unique("by-price")
    weights = {"fit": 0, "price": 100, "locality": 0, "reliability": 0, "affinity": 0}
    apply(
        hub,
        {
            "apiVersion": "computenet.io/v1alpha1",
            "kind": "ComputePool",
            "metadata": {"name": name},
            "spec": {
                "identifierSelector": {"matchLabels": {PRICE_POOL_LABEL: "true"}},
                "placement": {"weights": weights},
            },
        },
    )
    try:
        yield name
    finally:
        hub.kubectl("delete", "computepool", name, "--wait=false")
        restore = json.dumps({"spec": {"pricing": before}})
        hub.kubectl("patch", "computeidentifier", west, "--type=merge", "-p", restore)
        for member in (east, west):
            hub.kubectl("label", "computeidentifier", member, f"{PRICE_POOL_LABEL}-")


def _member(federation: Federation, region: str) -> Cluster:
    shapes = [default_shape(i) for i in range(1, len(federation.members) + 1)]
    return next(m for m, s in zip(federation.members, shapes, strict=True) if s.region == region)


def _namespace(hub: Cluster, member: Cluster) -> str:
    spec = json.loads(hub.kubectl("get", "computeidentifier", member.name, "-o", "json").stdout)["spec"]
    return str(spec["connection"]["targetNamespace"])


def _uid(hub: Cluster, name: str) -> str:
    return str(json.loads(hub.kubectl("get", "ctask", name, "-o", "json").stdout)["metadata"]["uid"])


def _items(member: Cluster, kind: str, namespace: str, selector: str) -> list[dict[str, Any]]:
    out = member.kubectl("get", kind, "-n", namespace, "-l", selector, "-o", "json").stdout
    items: list[dict[str, Any]] = json.loads(out)["items"]
    return items


def _put(store: Store, key: str, data: bytes) -> str:
    store.client_store().client.put_object(Bucket=store.bucket, Key=key, Body=data)  # type: ignore[attr-defined]
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _get(store: Store, key: str) -> bytes:
    body: bytes = store.client_store().client.get_object(Bucket=store.bucket, Key=key)["Body"].read()  # type: ignore[attr-defined]
    return body


def _mount_secrets(member: Cluster, namespace: str, pod_spec: dict[str, Any], root: Path) -> None:
    """Write each Secret volume of `pod_spec`, read from the member, as files under `root` (its mount paths)."""
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod_spec.get("volumes") or () if "secret" in v}
    containers = [*(pod_spec.get("initContainers") or ()), *pod_spec["containers"]]
    for c in containers:
        for m in c.get("volumeMounts") or ():
            if m["name"] not in secrets:
                continue
            obj = json.loads(member.kubectl("get", "secret", secrets[m["name"]], "-n", namespace, "-o", "json").stdout)
            target = root / m["mountPath"].lstrip("/")
            target.mkdir(parents=True, exist_ok=True)
            for key, value in obj["data"].items():
                (target / key).write_bytes(base64.b64decode(value))


def _as_here(argv: list[str], root: Path) -> list[str]:
    """A container's command run here: this Python, its mounts (and termination-message path) under `root`."""
    assert argv[0] == "python"
    here = []
    for a in argv[1:]:
        for path in (CREDENTIALS_ROOT, DATA_ROOT, RESULT_PATH):
            a = a.replace(path, str(root / path.lstrip("/")))
        here.append(a)
    (root / "dev").mkdir(parents=True, exist_ok=True)
    return [sys.executable, *here]


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=240, check=False, env=dict(os.environ))


def _play_mover(member: Cluster, namespace: str, job: dict[str, Any], root: Path) -> tuple[int, dict[str, Any]]:
    """Run the mover Job's container as its kubelet would and report its end in its pod's status."""
    name = job["metadata"]["name"]

    def running_pod() -> dict[str, Any]:
        pods = _items(member, "pods", namespace, f"batch.kubernetes.io/job-name={name}")
        assert pods, f"no pod of {name} yet"
        assert pods[0]["status"].get("phase") == "Running", pods[0]["status"].get("phase")
        return pods[0]

    pod = eventually(running_pod, timeout=STATE_S)
    pod_spec = job["spec"]["template"]["spec"]
    _mount_secrets(member, namespace, pod_spec, root)
    (container,) = pod_spec["containers"]
    done = _run(_as_here(container["command"], root))
    result_file = root / RESULT_PATH.lstrip("/")
    message = result_file.read_text() if result_file.exists() else ""
    terminated = {"exitCode": done.returncode, "reason": "Completed" if done.returncode == 0 else "Error"}
    if message:
        terminated["message"] = message
    patch = {
        "status": {
            "phase": "Succeeded" if done.returncode == 0 else "Failed",
            "containerStatuses": [
                {
                    "name": "mover",
                    "image": container["image"],
                    "imageID": "",
                    "ready": False,
                    "restartCount": 0,
                    "state": {"terminated": terminated},
                }
            ],
        }
    }
    member.kubectl(
        "patch", "pod", pod["metadata"]["name"], "-n", namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps(patch),
    )  # fmt: skip
    return done.returncode, json.loads(message) if message else {}


def _workload(member: Cluster, namespace: str, uid: str) -> dict[str, Any]:
    jobs = _items(member, "jobs", namespace, f"{TASK_UID_LABEL}={uid},{MANAGED_BY_LABEL}=computenet")
    assert len(jobs) == 1, [j["metadata"]["name"] for j in jobs]
    return jobs[0]


def _fetch_inputs(member: Cluster, namespace: str, workload: dict[str, Any], root: Path) -> Path:
    """Run the workload's stage-in init containers here; returns where the data volume is."""
    pod_spec = workload["spec"]["template"]["spec"]
    _mount_secrets(member, namespace, pod_spec, root)
    for init in pod_spec["initContainers"]:
        if init["name"].startswith("computenet-stage-in-"):
            done = _run(_as_here(init["command"], root))
            assert done.returncode == 0, done.stdout + done.stderr
    return root / DATA_ROOT.lstrip("/")


def _push_on_termination(sidecar: dict[str, Any], root: Path) -> tuple[int, str]:
    """Run the outputs sidecar here, stop it as the kubelet does once the main containers ended (SIGTERM).

    Returns its exit code and what it wrote to its termination-message path.
    """
    assert sidecar["restartPolicy"] == "Always", "a native sidecar"
    assert sidecar["terminationMessagePath"] == RESULT_PATH
    result_file = root / RESULT_PATH.lstrip("/")
    result_file.unlink(missing_ok=True)
    proc = subprocess.Popen(
        _as_here(sidecar["command"], root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    assert json.loads(proc.stdout.readline()) == {"event": "waiting"}
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=240)
    lines = out.splitlines()
    assert lines, f"the push printed no outcome (exit code {proc.returncode}): {err}"
    assert json.loads(lines[-1])["event"] in ("done", "failed"), out
    return proc.returncode, result_file.read_text() if result_file.exists() else ""


def _end_pod(member: Cluster, namespace: str, uid: str, pushed: dict[str, tuple[int, str]]) -> None:
    """End the workload's pod that pushes outputs as its kubelet would: its main containers done, then its
    sidecars stopped (each with the exit code and termination message its push left), the pod Succeeded."""

    def running_pod() -> dict[str, Any]:
        (pod,) = _items(member, "pods", namespace, f"{TASK_UID_LABEL}={uid},{STAGING_LABEL}=outputs")
        assert pod["status"].get("phase") == "Running", pod["status"].get("phase")
        return pod

    pod = eventually(running_pod, timeout=STATE_S)

    def ended(container: dict[str, Any], code: int = 0, message: str = "") -> dict[str, Any]:
        terminated: dict[str, Any] = {"exitCode": code, "reason": "Completed" if code == 0 else "Error"}
        if message:
            terminated["message"] = message
        state = {"terminated": terminated}
        return {"name": container["name"], "image": container["image"], "imageID": "", "ready": False,
                "restartCount": 0, "state": state}  # fmt: skip

    inits = [ended(c, *pushed.get(c["name"], (0, ""))) for c in pod["spec"]["initContainers"]]
    patch = {
        "status": {
            "phase": "Succeeded",
            "initContainerStatuses": inits,
            "containerStatuses": [ended(c) for c in pod["spec"]["containers"]],
        }
    }
    member.kubectl(
        "patch", "pod", pod["metadata"]["name"], "-n", namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps(patch),
    )  # fmt: skip


def _moved_bytes(operator: devenv.OperatorProcess, provider: str) -> float:
    """``computenet_data_moved_bytes_total{provider, queue=""}``, scraped from the operator's metrics."""
    url = f"http://127.0.0.1:{operator.metrics_port}/metrics"
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "computenet_data_moved_bytes_total" and sample.labels == {
                "provider": provider,
                "queue": "",
            }:
                return float(sample.value)
    return 0.0


def _provider(hub: Cluster, member: Cluster) -> str:
    return str(
        json.loads(hub.kubectl("get", "computeidentifier", member.name, "-o", "json").stdout)["spec"]["provider"]
    )


def _secret(name: str, data: dict[str, str]) -> dict[str, Any]:
    meta = {"name": name, "namespace": "default"}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "stringData": data}


def _nothing_left(member: Cluster, namespace: str, uid: str) -> bool:
    selector = f"{TASK_UID_LABEL}={uid},{STAGING_LABEL}"
    left = [o["metadata"]["name"] for kind in ("jobs", "secrets") for o in _items(member, kind, namespace, selector)]
    assert not left, f"left in the member after the task ended: {left}"
    return True


def _dataset(name: str, store: Store, key: str, checksum: str) -> dict[str, Any]:
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeDataset",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"replicas": [{"region": store.region, "uri": f"s3://{store.bucket}/{key}", "checksum": checksum}]},
    }


def test_a_dataset_in_cn_east_is_staged_into_cn_west_recorded_and_the_next_task_moves_nothing(
    regions: dict[str, Store],
    hub: Cluster,
    federation: Federation,
    tmp_path: Path,
    price_pool: str,
    operator: devenv.OperatorProcess,
) -> None:
    """The whole chain: placement sends the task west because west is cheaper by more than moving its
    data costs, the operator stages the data there, records the replica, the results go back east,
    and both moves are metered and billed."""
    east, west = regions["cn-east"], regions[WEST]
    member = _member(federation, WEST)
    namespace = _namespace(hub, member)
    provider = _provider(hub, member)
    data = os.urandom(6 * MiB + 321)
    ds = unique("tok")
    checksum = _put(east, f"src/{ds}.bin", data)
    apply(hub, _dataset(ds, east, f"src/{ds}.bin", checksum))

    keys = unique("east-keys")
    apply(hub, _secret(keys, east.secret_data()))
    first = unique("staged")
    metered_before = _moved_bytes(operator, provider)
    body = task(first, run="2s")
    body["spec"]["pool"] = price_pool  # no region asked for: the price decides
    body["spec"]["data"] = {
        "inputs": [{"dataset": ds, "mountPath": "/data/tok.bin"}],
        "outputs": [{"mountPath": "/out", "uri": f"s3://{east.bucket}/results/{first}/"}],
        "credentials": [{"bucket": east.bucket, "endpoint": east.endpoint, "secretName": keys}],
    }
    apply(hub, body)
    uid = eventually(lambda: _uid(hub, first))

    # The operator asks for the copy first: a mover Job, nothing else yet, and says so on the task.
    job = eventually(lambda: _items(member, "jobs", namespace, f"{TASK_UID_LABEL}={uid},{STAGING_LABEL}=mover"))[0]
    st = eventually(lambda: (s := status(hub, first)) and condition(s, "DataStaged").get("reason") == "Staging" and s)
    assert st["phase"] == "Dispatching"
    assert st["data"]["transfers"][0]["state"] in ("Pending", "Running")
    assert not _items(member, "jobs", namespace, f"{TASK_UID_LABEL}={uid},{MANAGED_BY_LABEL}=computenet")
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert f"--from=s3://{east.bucket}/src/{ds}.bin" in command
    assert f"--to-endpoint={west.endpoint}" in command

    code, result = _play_mover(member, namespace, job, tmp_path / "mover")
    assert code == 0, result
    staged_key = f"datasets/{ds}/{ds}.bin"
    assert _get(west, staged_key) == data
    assert result["checksum"] == checksum

    # Then the workload, whose init step fetches from the cn-west store only.
    workload = eventually(lambda: _workload(member, namespace, uid), timeout=STATE_S)
    inits = workload["spec"]["template"]["spec"]["initContainers"]
    assert [c["name"] for c in inits] == ["computenet-stage-in-0", "computenet-stage-out-0"]
    assert f"--endpoint={west.endpoint}" in inits[0]["command"]
    volume = _fetch_inputs(member, namespace, workload, tmp_path / "pod-1")
    assert (volume / "in-0").read_bytes() == data
    # The outputs' sidecar: what the main container left goes back east when the pod ends, and says
    # how that went in its termination message, where the operator reads it.
    model = os.urandom(1 * MiB + 5)
    (volume / "out-0").mkdir(parents=True)
    (volume / "out-0" / "model.bin").write_bytes(model)
    code, message = _push_on_termination(inits[1], tmp_path / "pod-1")
    assert code == 0, message
    assert _get(east, f"results/{first}/model.bin") == model
    eventually(lambda: phase_is(hub, first, "Running"), timeout=STATE_S)  # until its sidecars stopped
    _end_pod(member, namespace, uid, {inits[1]["name"]: (code, message)})

    st = eventually(lambda: phase_is(hub, first, "Succeeded"), timeout=JOB_S)
    assert st["placement"]["identifier"] == member.name  # cn-west, by price net of the egress
    (output,) = st["data"]["outputs"]
    assert (output["state"], output["pods"], output["bytes"]) == ("Succeeded", 1, len(model))
    assert condition(st, "OutputsUploaded")["status"] == "True"
    assert st["data"]["bytesMoved"] == len(data) + len(model)
    # Each move's egress, charged once: the input's at the cn-east store's price, the output's, which
    # left cn-west, at the cn-west store's (devenv.STORE_EGRESS_PER_GIB).
    prices = devenv.STORE_EGRESS_PER_GIB
    cost = (len(data) * prices["cn-east"] + len(model) * prices[WEST]) / 2**30
    assert st["data"]["cost"] == pytest.approx(cost, abs=1e-6)
    assert st["data"]["currency"] == "USD"
    assert _moved_bytes(operator, provider) - metered_before == len(data) + len(model)
    (transfer,) = st["data"]["transfers"]
    assert (transfer["state"], transfer["bytesDone"], transfer["bytesTotal"]) == ("Succeeded", len(data), len(data))
    assert condition(st, "DataStaged")["status"] == "True"
    replicas = json.loads(hub.kubectl("get", "cds", ds, "-o", "json").stdout)["status"]["replicas"]
    (replica,) = [r for r in replicas if r["region"] == WEST]
    assert (replica["state"], replica["bytes"]) == ("Ready", len(data))
    assert replica["uri"] == f"s3://{west.bucket}/{staged_key}"
    eventually(lambda: _nothing_left(member, namespace, uid), timeout=STATE_S)

    # A second task in cn-west finds the replica: no copy, straight to the workload.
    second = unique("near")
    body = task(second, regions=[WEST], run="8s")
    body["spec"]["data"] = {"inputs": [{"dataset": ds, "mountPath": "/data/tok.bin"}]}
    apply(hub, body)
    uid2 = eventually(lambda: _uid(hub, second))
    workload = eventually(lambda: _workload(member, namespace, uid2), timeout=STATE_S)
    assert not _items(member, "jobs", namespace, f"{TASK_UID_LABEL}={uid2},{STAGING_LABEL}=mover")
    volume = _fetch_inputs(member, namespace, workload, tmp_path / "pod-2")
    assert (volume / "in-0").read_bytes() == data
    st = eventually(lambda: phase_is(hub, second, "Succeeded"), timeout=JOB_S)
    assert st["data"]["bytesMoved"] == 0
    assert not st["data"].get("transfers")
    assert condition(st, "DataStaged")["status"] == "True"
    eventually(lambda: _nothing_left(member, namespace, uid2), timeout=STATE_S)


def test_an_output_the_store_refuses_fails_the_task_in_the_stores_words_though_its_work_succeeded(
    regions: dict[str, Store], hub: Cluster, federation: Federation, tmp_path: Path
) -> None:
    """Under the default failover policy (Requeue) too: running the work again would meet the same refusal."""
    east = regions["cn-east"]
    member = _member(federation, WEST)
    namespace = _namespace(hub, member)
    wrong = "wrong-secret-value-" + unique("k")
    keys = unique("bad-keys")
    apply(hub, _secret(keys, {**east.secret_data(), "AWS_SECRET_ACCESS_KEY": wrong}))
    name = unique("lost-results")
    body = task(name, regions=[WEST], run="1s")
    body["spec"]["data"] = {
        "outputs": [{"mountPath": "/out", "uri": f"s3://{east.bucket}/results/{name}/"}],
        "credentials": [{"bucket": east.bucket, "endpoint": east.endpoint, "secretName": keys}],
    }
    apply(hub, body)
    uid = eventually(lambda: _uid(hub, name))
    workload = eventually(lambda: _workload(member, namespace, uid), timeout=STATE_S)
    (sidecar,) = workload["spec"]["template"]["spec"]["initContainers"]
    root = tmp_path / "pod"
    _mount_secrets(member, namespace, workload["spec"]["template"]["spec"], root)
    out = root / DATA_ROOT.lstrip("/") / "out-0"
    out.mkdir(parents=True)
    (out / "model.bin").write_bytes(os.urandom(4096))
    code, message = _push_on_termination(sidecar, root)
    assert code == 1
    _end_pod(member, namespace, uid, {sidecar["name"]: (code, message)})

    st = eventually(lambda: phase_is(hub, name, "Failed"), timeout=JOB_S)
    uploaded = condition(st, "OutputsUploaded")
    assert (uploaded["status"], uploaded["reason"]) == ("False", "OutputsUploadFailed")
    assert f"store {east.endpoint} bucket {east.bucket}" in uploaded["message"]
    assert "did not arrive" in st["message"]
    assert st["data"]["outputs"][0]["state"] == "Failed"
    assert st["data"]["bytesMoved"] == 0
    assert st["attempt"] == 1  # not run again
    assert wrong not in json.dumps(st)
    eventually(lambda: _nothing_left(member, namespace, uid), timeout=STATE_S)


def test_a_wrong_credential_fails_the_task_naming_the_store_and_never_the_secret(
    regions: dict[str, Store], hub: Cluster, federation: Federation, tmp_path: Path
) -> None:
    east = regions["cn-east"]
    member = _member(federation, WEST)
    namespace = _namespace(hub, member)
    _put(east, "src/secret.bin", os.urandom(1024))
    wrong = "wrong-secret-value-" + unique("k")
    keys = unique("keys")
    apply(hub, _secret(keys, {**east.secret_data(), "AWS_SECRET_ACCESS_KEY": wrong}))
    name = unique("denied")
    body = task(name, regions=[WEST], run="1s")
    body["spec"]["failover"] = {"policy": "Never"}
    body["spec"]["data"] = {
        "inputs": [{"uri": f"s3://{east.bucket}/src/secret.bin", "mountPath": "/data/secret.bin"}],
        "credentials": [{"bucket": east.bucket, "endpoint": east.endpoint, "secretName": keys}],
    }
    apply(hub, body)
    uid = eventually(lambda: _uid(hub, name))
    job = eventually(lambda: _items(member, "jobs", namespace, f"{TASK_UID_LABEL}={uid},{STAGING_LABEL}=mover"))[0]
    code, result = _play_mover(member, namespace, job, tmp_path)
    assert code == 1
    assert result["event"] == "failed"

    st = eventually(lambda: phase_is(hub, name, "Failed"), timeout=JOB_S)
    staged = condition(st, "DataStaged")
    assert (staged["status"], staged["reason"]) == ("False", "StagingFailed")
    assert f"store {east.endpoint} bucket {east.bucket}" in staged["message"]
    assert east.endpoint in st["message"]
    assert st["data"]["transfers"][0]["state"] == "Failed"
    assert not _items(member, "jobs", namespace, f"{TASK_UID_LABEL}={uid},{MANAGED_BY_LABEL}=computenet")
    events = hub.kubectl("get", "events", "-n", "default", "-o", "json").stdout
    assert wrong not in json.dumps(st)
    assert wrong not in events
    eventually(lambda: _nothing_left(member, namespace, uid), timeout=STATE_S)


def test_a_task_deleted_while_its_data_is_copied_leaves_nothing_in_the_member(
    regions: dict[str, Store], hub: Cluster, federation: Federation
) -> None:
    east = regions["cn-east"]
    member = _member(federation, WEST)
    namespace = _namespace(hub, member)
    ds = unique("big")
    checksum = _put(east, f"src/{ds}.bin", os.urandom(64 * 1024))
    apply(hub, _dataset(ds, east, f"src/{ds}.bin", checksum))
    name = unique("cancelled")
    body = task(name, regions=[WEST], run="1s")
    body["spec"]["data"] = {"inputs": [{"dataset": ds, "mountPath": "/data/big.bin"}]}
    apply(hub, body)
    uid = eventually(lambda: _uid(hub, name))
    eventually(lambda: _items(member, "jobs", namespace, f"{TASK_UID_LABEL}={uid},{STAGING_LABEL}=mover"))
    assert _items(member, "secrets", namespace, f"{TASK_UID_LABEL}={uid},{STAGING_LABEL}")
    hub.kubectl("delete", "ctask", name, "--wait=false")
    eventually(lambda: _nothing_left(member, namespace, uid), timeout=STATE_S)
    # The mover's pod goes with its Job: no pod of the task is left either.
    eventually(lambda: not _items(member, "pods", namespace, f"{TASK_UID_LABEL}={uid}"), timeout=STATE_S)


def test_staging_objects_of_a_task_deleted_while_the_operator_was_down_are_swept_after_its_restart(
    regions: dict[str, Store], hub: Cluster, federation: Federation, operator: devenv.OperatorProcess
) -> None:
    """No cleanup ran (the operator was killed, the task deleted meanwhile): the orphan sweep finds the
    mover Job and the Secret copies by their labels and removes them."""
    east = regions["cn-east"]
    member = _member(federation, WEST)
    namespace = _namespace(hub, member)
    ds = unique("left")
    checksum = _put(east, f"src/{ds}.bin", os.urandom(32 * 1024))
    apply(hub, _dataset(ds, east, f"src/{ds}.bin", checksum))
    name = unique("swept")
    body = task(name, regions=[WEST], run="1s")
    body["spec"]["data"] = {"inputs": [{"dataset": ds, "mountPath": "/data/left.bin"}]}
    apply(hub, body)
    uid = eventually(lambda: _uid(hub, name))
    eventually(lambda: _items(member, "jobs", namespace, f"{TASK_UID_LABEL}={uid},{STAGING_LABEL}=mover"))
    assert _items(member, "secrets", namespace, f"{TASK_UID_LABEL}={uid},{STAGING_LABEL}")

    devenv.kill_operator(operator)
    hub.kubectl("delete", "ctask", name, "--wait=true", "--timeout=60s")
    assert _items(member, "jobs", namespace, f"{TASK_UID_LABEL}={uid},{STAGING_LABEL}=mover")  # nobody removed it
    devenv.start_operator(
        federation, OPERATOR_ENV, ports=(operator.metrics_port, operator.health_port), name=operator.name,
        until=(devenv.LEADING,),
    )  # fmt: skip
    eventually(lambda: _nothing_left(member, namespace, uid), timeout=STATE_S)


def test_a_mover_whose_pod_the_member_never_creates_fails_the_attempt_saying_why(
    regions: dict[str, Store], hub: Cluster, federation: Federation
) -> None:
    """A quota refuses the mover's pod: the job controller retries for ever, the operator's bound does not."""
    east = regions["cn-east"]
    member = _member(federation, WEST)
    namespace = _namespace(hub, member)
    quota = unique("no-pods")
    member.kubectl("create", "namespace", namespace, check=False)  # the operator makes it at the first dispatch
    member.kubectl("create", "quota", quota, "-n", namespace, "--hard=pods=0")
    try:
        ds = unique("stuck")
        checksum = _put(east, f"src/{ds}.bin", os.urandom(4096))
        apply(hub, _dataset(ds, east, f"src/{ds}.bin", checksum))
        name = unique("never-moved")
        body = task(name, regions=[WEST], run="1s")
        body["spec"]["failover"] = {"policy": "Never"}
        body["spec"]["data"] = {"inputs": [{"dataset": ds, "mountPath": "/data/stuck.bin"}]}
        apply(hub, body)
        uid = eventually(lambda: _uid(hub, name))
        st = eventually(lambda: phase_is(hub, name, "Failed"), timeout=NO_POD_GRACE_S + JOB_S)
    finally:
        member.kubectl("delete", "quota", quota, "-n", namespace)
    staged = condition(st, "DataStaged")
    assert (staged["status"], staged["reason"]) == ("False", "StagingFailed")
    assert "mover Job" in staged["message"]
    assert "the member created no pod for it" in staged["message"]
    assert "exceeded quota" in staged["message"], staged["message"]
    assert st["data"]["transfers"][0]["state"] == "Failed"
    eventually(lambda: _nothing_left(member, namespace, uid), timeout=STATE_S)


def test_a_uri_input_in_cn_wests_store_is_placed_there_and_fetched_without_a_copy(
    regions: dict[str, Store], hub: Cluster, federation: Federation, tmp_path: Path
) -> None:
    """The task says its data is in cn-east and may move none; its input's bucket is cn-west's store,
    so placement locates it in cn-west (spec.storage of cn-west's identifier), and nothing is copied."""
    west = regions[WEST]
    member = _member(federation, WEST)
    namespace = _namespace(hub, member)
    data = os.urandom(256 * 1024)
    name = unique("uri-west")
    checksum = _put(west, f"src/{name}.bin", data)
    keys = unique("west-keys")
    apply(hub, _secret(keys, west.secret_data()))
    body = task(name, run="1s")
    body["spec"]["data"] = {
        "region": "cn-east",
        "maxTransferSeconds": 0,
        "inputs": [
            {"uri": f"s3://{west.bucket}/src/{name}.bin", "mountPath": "/data/in.bin", "size": "1Gi",
             "checksum": checksum},
        ],
        "credentials": [{"bucket": west.bucket, "endpoint": west.endpoint, "secretName": keys}],
    }  # fmt: skip
    apply(hub, body)
    uid = eventually(lambda: _uid(hub, name))
    workload = eventually(lambda: _workload(member, namespace, uid), timeout=STATE_S)
    assert not _items(member, "jobs", namespace, f"{TASK_UID_LABEL}={uid},{STAGING_LABEL}=mover")
    assert (_fetch_inputs(member, namespace, workload, tmp_path) / "in-0").read_bytes() == data
    st = eventually(lambda: phase_is(hub, name, "Succeeded"), timeout=JOB_S)
    assert st["placement"]["identifier"] == member.name
    assert st["data"]["bytesMoved"] == 0
