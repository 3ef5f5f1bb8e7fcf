"""Which workload kinds are watched in a member: the ones it serves, started and stopped as that changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from kubernetes.aio.client import ApiClient, Configuration

from computenet.dispatch.jobs import JobFacts
from computenet.members.connection import MemberConnection
from computenet.members.kind_watches import WatchChanges, kinds_to_watch, watch_changes
from computenet.workloads.declared import compile_declaration
from computenet.workloads.kinds import JOB, KINDS, declare, withdraw

DEPLOYMENT = KINDS[("apps/v1", "Deployment")]
STATEFULSET = KINDS[("apps/v1", "StatefulSet")]
POD = KINDS[("v1", "Pod")]
JOBSET = KINDS[("jobset.x-k8s.io/v1alpha2", "JobSet")]
LWS = KINDS[("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet")]
RAYJOB = KINDS[("ray.io/v1", "RayJob")]
RAYCLUSTER = KINDS[("ray.io/v1", "RayCluster")]
BUILT_IN = ("apps/v1 Deployment", "apps/v1 StatefulSet", "batch/v1 Job", "v1 Pod")


@pytest.mark.parametrize(
    ("served", "expected"),
    [
        pytest.param(None, {DEPLOYMENT, STATEFULSET, POD}, id="discovery not answered yet: the built-in kinds"),
        pytest.param(BUILT_IN, {DEPLOYMENT, STATEFULSET, POD}, id="a member without workload CRDs: no 404 watches"),
        pytest.param(
            (*BUILT_IN, JOBSET.key), {DEPLOYMENT, STATEFULSET, POD, JOBSET}, id="a member serving JobSets watches them"
        ),
        pytest.param(
            ("batch/v1 Job", LWS.key, RAYJOB.key, RAYCLUSTER.key),
            {LWS, RAYJOB, RAYCLUSTER},
            id="only what discovery lists, even of the built-in groups",
        ),
        pytest.param(("batch/v1 Job",), set(), id="the Jobs are watched on their own, never here"),
    ],
)
def test_kinds_to_watch(served: tuple[str, ...] | None, expected: set[object]) -> None:
    assert kinds_to_watch(KINDS.values(), served) == expected


@pytest.mark.parametrize(
    ("wanted", "running", "expected"),
    [
        pytest.param({DEPLOYMENT}, {DEPLOYMENT}, WatchChanges(), id="nothing changed: nothing to do"),
        pytest.param(
            {DEPLOYMENT, JOBSET, LWS},
            {DEPLOYMENT},
            WatchChanges(start=(JOBSET, LWS)),
            id="CRDs installed: their watches start",
        ),
        pytest.param({POD}, {POD, JOBSET}, WatchChanges(stop=(JOBSET,)), id="a CRD removed: its watch stops"),
        pytest.param({RAYJOB}, {RAYCLUSTER}, WatchChanges(start=(RAYJOB,), stop=(RAYCLUSTER,)), id="one in, one out"),
    ],
)
def test_watch_changes(wanted: set[object], running: set[object], expected: WatchChanges) -> None:
    assert watch_changes(wanted, running) == expected  # type: ignore[arg-type]


@pytest.fixture
async def conn() -> AsyncIterator[MemberConnection]:
    client = ApiClient(Configuration(host="https://127.0.0.1:9"))
    connection = MemberConnection("m", "https://127.0.0.1:9", client)
    yield connection
    await connection.stop()


def _facts(kind: object, name: str) -> JobFacts:
    return JobFacts("w", name, "u", "task-1", 1, "member-1", "Running", None, None, None, False, "ns/t", kind=kind)  # type: ignore[arg-type]


async def test_a_member_gains_and_loses_a_workload_crd_and_its_watch_follows(conn: MemberConnection) -> None:
    store = conn.watch_workloads("computenet.io/hub=h")
    assert conn.watched_kinds == {DEPLOYMENT, STATEFULSET, POD}
    conn.set_workload_kinds(BUILT_IN)
    assert conn.watched_kinds == {DEPLOYMENT, STATEFULSET, POD}
    names = {r.name for r in conn.reflectors}
    assert "https://127.0.0.1:9 jobsets" not in names
    assert "https://127.0.0.1:9 jobs" in names

    conn.set_workload_kinds((*BUILT_IN, JOBSET.key))
    assert conn.watched_kinds == {DEPLOYMENT, STATEFULSET, POD, JOBSET}
    assert "https://127.0.0.1:9 jobsets" in {r.name for r in conn.reflectors}
    store.of_kind(JOBSET).upsert("w/js", _facts(JOBSET, "js"))
    store.of_kind(DEPLOYMENT).upsert("w/dep", _facts(DEPLOYMENT, "dep"))
    store.upsert("w/job", _facts(JOB, "job"))

    conn.set_workload_kinds(BUILT_IN)
    assert conn.watched_kinds == {DEPLOYMENT, STATEFULSET, POD}
    assert "https://127.0.0.1:9 jobsets" not in {r.name for r in conn.reflectors}
    assert sorted(f.name for f in store.of_task("task-1")) == ["dep", "job"], "the JobSets went with their CRD"
    assert conn.optional_problem(("jobsets",)) == "", "a kind not watched is not a problem of the member"


async def test_a_running_watch_of_a_kind_that_goes_is_cancelled(conn: MemberConnection) -> None:
    conn.watch_workloads("computenet.io/hub=h")
    conn.set_workload_kinds((*BUILT_IN, LWS.key))
    conn.start()
    running = {t.get_name() for t in conn._tasks if not t.done()}
    assert "https://127.0.0.1:9 leaderworkersets" in running
    conn.set_workload_kinds(BUILT_IN)
    watch = next(t for t in conn._tasks if t.get_name() == "https://127.0.0.1:9 leaderworkersets")
    with pytest.raises(asyncio.CancelledError):
        await watch
    assert watch.cancelled()


async def test_a_declared_kind_is_watched_where_discovery_lists_it_and_no_more_once_withdrawn(
    conn: MemberConnection,
) -> None:
    kind = compile_declaration(
        {
            "apiVersion": "trainer.kubeflow.org/v1alpha1",
            "kind": "TrainJob",
            "plural": "trainjobs",
            "podSets": [
                {"role": "node", "count": "spec.trainer.numNodes", "resources": "spec.trainer.resourcesPerNode"}
            ],
            "status": {
                "running": {"path": "status.conditions[type=Running].status", "equals": "True"},
                "succeeded": {"path": "status.conditions[type=Complete].status", "equals": "True"},
            },
        }
    )
    conn.watch_workloads("computenet.io/hub=h")
    conn.set_workload_kinds(BUILT_IN)
    declare(kind)
    try:
        conn.watch_kind(kind)
        assert conn._discover_now.is_set(), "a declaration asks discovery at once"
        conn.set_workload_kinds((*BUILT_IN, kind.key))
        assert kind in conn.watched_kinds
        assert "https://127.0.0.1:9 trainjobs.trainer.kubeflow.org" in {r.name for r in conn.reflectors}
    finally:
        withdraw(kind.api_version, kind.kind)
    conn.set_workload_kinds(BUILT_IN)  # discovery no longer lists a kind that is not declared
    assert kind not in conn.watched_kinds
