"""The staging step of a dispatch (tasks.staging.stager) against fake hub and member collaborators.

The member and the hub are faked here to walk the decisions in order (plan, Secrets, mover Jobs,
replicas); tests/integration/test_data_staging.py runs the same path against the real federation and stores.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from computenet.api.identifier import ComputeIdentifierSpec
from computenet.metrics import Metrics
from computenet.tasks import lifecycle as lc
from computenet.tasks.record import TaskRecord
from computenet.tasks.staging.stager import Ready, Stager
from computenet.workloads.kinds import JOB, Kind

from .builders import identifier_spec, record

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
KEYS = {
    "AWS_ACCESS_KEY_ID": base64.b64encode(b"id").decode(),
    "AWS_SECRET_ACCESS_KEY": base64.b64encode(b"sk").decode(),
}
ORIGIN = {"computenet.io/task-uid": "task-uid-1", "computenet.io/attempt": "1"}


def _spec(name: str, region: str, latency: dict[str, int] | None = None, storage: bool = True) -> ComputeIdentifierSpec:
    body = identifier_spec().model_dump(by_alias=True, exclude_none=True)
    body.update(uri=f"cpi://east-cloud/{region}/{name}", region=region)
    if storage:
        body["storage"] = {
            "endpoint": f"http://{region}:8333",
            "bucket": f"{region}-data",
            "secretRef": {"name": f"store-{region}", "namespace": "computenet-system"},
        }
    if latency:
        body["network"] = {"latencyMs": latency}
    return ComputeIdentifierSpec.model_validate(body)


WEST = _spec("west-1", "cn-west", {"cn-east": 30})
EAST = _spec("east-1", "cn-east")
NO_STORE = _spec("west-1", "cn-west", storage=False)


class FakeHub:
    def __init__(self, datasets: dict[str, dict[str, Any]]) -> None:
        self.datasets = datasets
        self.secrets = {
            ("computenet-system", "store-cn-west"),
            ("computenet-system", "store-cn-east"),
            ("research", "keys"),
        }
        self.written: list[tuple[str, list[dict[str, Any]]]] = []

    async def read(self, kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        extra = {"ignored": "eA=="}
        return {"data": {**KEYS, **extra}} if (namespace, name) in self.secrets else None

    async def read_dataset(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        found = self.datasets.get(name)
        return {**found, "metadata": {"name": name, "namespace": namespace, "resourceVersion": "7"}} if found else None

    async def write_dataset_replicas(
        self, namespace: str, name: str, resource_version: str, replicas: list[dict[str, Any]]
    ) -> bool:
        assert resource_version == "7"
        self.written.append((name, replicas))
        self.datasets[name] = {**self.datasets[name], "status": {"replicas": replicas}}
        return True


class FakeMember:
    def __init__(self) -> None:
        self.secrets: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.pods: dict[str, list[dict[str, Any]]] = {}
        self.labelled: list[dict[str, Any]] = []
        self.selectors: list[str] = []

    async def put_dependencies(self, namespace: str, objects: Sequence[Mapping[str, Any]]) -> None:
        for o in objects:
            self.secrets[o["metadata"]["name"]] = dict(o)

    async def create(self, manifest: Mapping[str, Any]) -> tuple[str, bool]:
        name = manifest["metadata"]["name"]
        adopted = name in self.jobs
        self.jobs.setdefault(name, {**manifest, "status": {"active": 1}})
        self.pods.setdefault(name, [{"metadata": {"name": name + "-abc"}, "status": {"phase": "Running"}}])
        return "uid-" + name, adopted

    async def read(self, namespace: str, name: str, kind: Kind = JOB) -> dict[str, Any] | None:
        return self.jobs.get(name)

    async def pods_of_job(self, namespace: str, job: str) -> list[dict[str, Any]]:
        return self.pods.get(job, [])

    async def pods_labelled(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        self.selectors.append(selector)
        return list(self.labelled)

    async def warnings(self, namespace: str, name: str, uid: str) -> str | None:
        return 'FailedCreate: pods "m-0" is forbidden: exceeded quota: q, requested: pods=1, limited: pods=0'

    async def log_tail(self, namespace: str, pod: str, container: str, lines: int = 5) -> str | None:
        return json.dumps({"event": "progress", "bytesDone": 4, "bytesTotal": 10, "etaSeconds": 1.0}) + "\n"

    async def delete_collection(self, namespace: str, selector: str) -> None:
        self.secrets.clear()
        self.jobs.clear()

    def finish(self, job: str, result: dict[str, Any], succeeded: bool = True) -> None:
        kind = "Complete" if succeeded else "Failed"
        self.jobs[job]["status"] = {"conditions": [{"type": kind, "status": "True", "reason": "x", "message": "y"}]}
        state = {"terminated": {"exitCode": 0 if succeeded else 1, "message": json.dumps(result)}}
        self.pods[job] = [
            {"metadata": {"name": job + "-abc"}, "status": {"containerStatuses": [{"name": "mover", "state": state}]}}
        ]


def _record(data: dict[str, Any]) -> TaskRecord:
    r = record("Dispatching")
    r.spec = r.spec.model_copy(update={"data": type(r.spec).model_validate({**_base(), "data": data}).data})
    return r


def _base() -> dict[str, Any]:
    return record().spec.model_dump(by_alias=True, exclude_none=True)


def _stager(hub: FakeHub, delivered: list[lc.Event], metrics: Metrics | None = None) -> Stager:
    return Stager(
        hub,
        lambda: [("east-1", EAST), ("west-1", WEST)],
        "computenet:1",
        lambda r, e: delivered.append(e),
        metrics,
        lambda: NOW,
    )


DATASET = {"spec": {"replicas": [{"region": "cn-east", "uri": "s3://cn-east-data/tok.bin"}]}}


async def test_a_dataset_far_away_is_copied_by_a_mover_job_then_recorded_as_a_replica() -> None:
    hub, member, delivered = FakeHub({"tok": dict(DATASET)}), FakeMember(), []
    metrics = Metrics.create()
    stager = _stager(hub, delivered, metrics)
    task = _record({"inputs": [{"dataset": "tok", "mountPath": "/data/tok.bin"}]})
    first = await stager.prepare(task, "west-1", WEST, member, ORIGIN, "train-abc-1")
    assert isinstance(first, lc.Staging)
    assert not first.done
    (job,) = member.jobs.values()
    assert job["metadata"]["name"] == "train-abc-1-m0"
    assert job["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "computenet-staging"
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "--from=s3://cn-east-data/tok.bin" in command
    assert "--to=s3://cn-west-data/datasets/tok/tok.bin" in command
    assert first.data.transfers
    assert first.data.transfers[0].bytes_done == 4
    assert all(set(s["data"]) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} for s in member.secrets.values())
    assert len(member.secrets) == 2  # the source's and the destination's store keys, nothing else

    task.status = task.status.model_copy(update={"data": first.data})
    member.finish("train-abc-1-m0", {"event": "done", "objects": 1, "bytes": 10, "bytesCopied": 10})
    ready = await stager.prepare(task, "west-1", WEST, member, ORIGIN, "train-abc-1")
    assert isinstance(ready, Ready)
    assert [type(e) for e in delivered] == [lc.Staging]
    assert isinstance(delivered[0], lc.Staging)
    assert delivered[0].done
    assert delivered[0].data.bytes_moved == 10
    (fetch,) = ready.inputs.init_containers
    assert "--from=s3://cn-west-data/datasets/tok/tok.bin" in fetch["command"]
    ((name, replicas),) = hub.written
    assert name == "tok"
    assert replicas[0]["region"] == "cn-west"
    assert replicas[0]["bytes"] == 10
    assert (
        metrics.registry.get_sample_value("computenet_data_moved_bytes_total", {"provider": "east-cloud", "queue": ""})
        == 10
    )


async def test_a_replica_in_the_region_moves_nothing() -> None:
    staged = {
        "region": "cn-west",
        "state": "Ready",
        "uri": "s3://cn-west-data/datasets/tok/tok.bin",
        "stagedTime": "2026-12-07T11:00:00Z",
    }
    hub, member, delivered = FakeHub({"tok": {**DATASET, "status": {"replicas": [staged]}}}), FakeMember(), []
    task = _record({"inputs": [{"dataset": "tok", "mountPath": "/data/tok.bin"}]})
    ready = await _stager(hub, delivered).prepare(task, "west-1", WEST, member, ORIGIN, "train-abc-1")
    assert isinstance(ready, Ready)
    assert not member.jobs
    assert isinstance(delivered[0], lc.Staging)
    assert delivered[0].data.bytes_moved == 0
    assert hub.written[0][1][0]["lastUsedTime"] == "2026-12-07T12:00:00Z"


@pytest.mark.parametrize(
    ("data", "spec", "member", "words"),
    [
        pytest.param(
            {"inputs": [{"uri": "s3://private-bucket/x", "mountPath": "/x"}]}, WEST, FakeMember(),
            "no credentials name the store of s3://private-bucket/x", id="a uri whose bucket has no credentials",
        ),
        pytest.param(
            {"inputs": [{"dataset": "missing", "mountPath": "/x"}]}, WEST, FakeMember(),
            "dataset missing does not exist in namespace research", id="a dataset that does not exist",
        ),
        pytest.param(
            {"inputs": [{"dataset": "tok", "mountPath": "/x"}]}, NO_STORE, FakeMember(),
            "west-1 declares no store near its compute", id="an identifier without a store",
        ),
        pytest.param(
            {"inputs": [{"dataset": "tok", "mountPath": "/x"}]}, WEST, object(),
            "staging data runs in push members only", id="a pull member",
        ),
        pytest.param(
            {"outputs": [{"mountPath": "/out", "uri": "s3://results/r/"}], "credentials": [
                {"bucket": "results", "endpoint": "http://r:1", "secretName": "absent"}]}, WEST, FakeMember(),
            "Secret research/absent, with a store's keys, does not exist", id="a credentials Secret that is missing",
        ),
    ],
)  # fmt: skip
async def test_what_cannot_be_staged_fails_the_attempt_saying_why(
    data: dict[str, Any], spec: ComputeIdentifierSpec, member: object, words: str
) -> None:
    task = _record(data)
    failed = await _stager(FakeHub({"tok": dict(DATASET)}), []).prepare(task, "west-1", spec, member, ORIGIN, "t-1")
    assert isinstance(failed, lc.StagingFailed)
    assert words in failed.message


async def test_a_failed_copy_fails_in_the_stores_words() -> None:
    hub, member = FakeHub({"tok": dict(DATASET)}), FakeMember()
    task = _record({"inputs": [{"dataset": "tok", "mountPath": "/data/tok.bin"}]})
    stager = _stager(hub, [])
    await stager.prepare(task, "west-1", WEST, member, ORIGIN, "t-1")
    words = "store http://cn-east:8333 bucket cn-east-data: GetObject tok.bin failed: AccessDenied: Access Denied."
    member.finish("t-1-m0", {"event": "failed", "reason": "AccessDenied", "message": words}, succeeded=False)
    failed = await stager.prepare(task, "west-1", WEST, member, ORIGIN, "t-1")
    assert isinstance(failed, lc.StagingFailed)
    assert failed.message == f"input 0 (s3://cn-east-data/tok.bin): {words}"
    assert not hub.written


async def test_outputs_get_a_sidecar_that_pushes_them_when_the_pod_ends() -> None:
    task = _record(
        {"outputs": [{"mountPath": "/out", "uri": "s3://results/r/"}],
         "credentials": [{"bucket": "results", "endpoint": "http://r:1", "secretName": "keys"}]}
    )  # fmt: skip
    member = FakeMember()
    ready = await _stager(FakeHub({}), []).prepare(task, "west-1", WEST, member, ORIGIN, "t-1")
    assert isinstance(ready, Ready)
    assert not member.jobs
    (sidecar,) = ready.outputs.init_containers
    assert sidecar["restartPolicy"] == "Always"
    assert sidecar["command"][4:6] == ["push", "--on-termination"]
    assert "--to=s3://results/r/" in sidecar["command"]


async def test_a_finished_attempts_outputs_are_read_from_its_pods_and_priced_at_the_compute_regions_store() -> None:
    """West's pods push to the cn-east store: the bytes leave cn-west, at cn-west's store's egress price."""
    specs = [("east-1", _priced(EAST, 0.08)), ("west-1", _priced(WEST, 0.10))]
    stager = Stager(FakeHub({}), lambda: specs, "computenet:1", lambda r, e: None, None, lambda: NOW)
    task = _record(
        {"outputs": [{"mountPath": "/out", "uri": "s3://cn-east-data/results/"}],
         "credentials": [{"bucket": "cn-east-data", "endpoint": "http://cn-east:8333", "secretName": "keys"}]}
    )  # fmt: skip
    member = FakeMember()
    done = {"event": "done", "objects": 1, "bytes": 2 << 30, "bytesCopied": 1 << 30}
    state = {"terminated": {"exitCode": 0, "message": json.dumps(done)}}
    member.labelled = [
        {
            "metadata": {"name": "t-1-abc"},
            "status": {
                "phase": "Succeeded",
                "initContainerStatuses": [{"name": "computenet-stage-out-0", "state": state}],
            },
        }
    ]
    pushed = await stager.outputs(task, member, "computenet-workloads", "west-1", True)
    assert pushed is not None
    assert member.selectors == [
        "computenet.io/task-uid=task-uid-1,computenet.io/attempt=1,computenet.io/staging=outputs"
    ]
    assert (pushed.failure, pushed.moved) == (None, 1 << 30)
    assert [(c.amount, c.currency) for c in pushed.charges] == [(pytest.approx(0.10), "USD")]
    assert pushed.data.outputs is not None
    assert (pushed.data.outputs[0].bytes, pushed.data.bytes_moved) == (2 << 30, 1 << 30)
    # Once the status holds them, reading again books nothing.
    task.status = task.status.model_copy(update={"data": pushed.data})
    again = await stager.outputs(task, member, "computenet-workloads", "west-1", True)
    assert again is not None
    assert (again.moved, again.charges, again.data) == (0, (), pushed.data)


def _priced(spec: ComputeIdentifierSpec, price: float) -> ComputeIdentifierSpec:
    assert spec.storage is not None
    return spec.model_copy(update={"storage": spec.storage.model_copy(update={"egress_price_per_gib": price})})


async def test_a_mover_job_whose_pod_is_never_created_fails_the_attempt_in_the_members_words() -> None:
    hub, member, delivered = FakeHub({"tok": dict(DATASET)}), FakeMember(), []
    task = _record({"inputs": [{"dataset": "tok", "mountPath": "/data/tok.bin"}]})
    stager = _stager(hub, delivered)
    member.pods["t-1-m0"] = []  # the quota refuses it: no pod
    first = await stager.prepare(task, "west-1", WEST, member, ORIGIN, "t-1")
    assert isinstance(first, lc.Staging)
    created = (NOW - dt.timedelta(seconds=61)).strftime("%Y-%m-%dT%H:%M:%SZ")
    member.jobs["t-1-m0"]["metadata"]["creationTimestamp"] = created
    member.jobs["t-1-m0"]["status"] = {}
    task.status = task.status.model_copy(update={"data": first.data})
    failed = await stager.prepare(task, "west-1", WEST, member, ORIGIN, "t-1")
    assert isinstance(failed, lc.StagingFailed)
    assert failed.message.startswith("input 0 (s3://cn-east-data/tok.bin): mover Job t-1-m0: the member created no pod")
    assert "exceeded quota" in failed.message
    assert failed.data.transfers is not None
    assert failed.data.transfers[0].state == "Failed"


async def test_cleaning_removes_the_attempts_jobs_and_secrets() -> None:
    hub, member = FakeHub({"tok": dict(DATASET)}), FakeMember()
    task = _record({"inputs": [{"dataset": "tok", "mountPath": "/data/tok.bin"}]})
    stager = _stager(hub, [])
    step = await stager.prepare(task, "west-1", WEST, member, ORIGIN, "t-1")
    assert isinstance(step, lc.Staging)
    task.status = task.status.model_copy(update={"data": step.data})
    await stager.clean(task, member, "computenet-workloads")
    assert not member.jobs
    assert not member.secrets
