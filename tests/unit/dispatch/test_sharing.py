"""What happens to a member's object of the name of a copy a workload needs: create, update, share, wait or refuse.

Two tasks of one hub namespace naming one ConfigMap (or Secret, or ResourceClaimTemplate) both run: a
copy this hub made from the same namespace with the same content is shared, one whose content differs
makes the task wait, and an object that is not this hub's copy is never touched.
"""

from __future__ import annotations

from typing import Any

import pytest

from computenet.dispatch.naming import job_name, names_task, origin_labels
from computenet.dispatch.sharing import Step, decide, same_content, with_owner

HUB = "hub-a"
MINE = "0b9c2d0e-1111-2222-3333-444455556666"
THEIRS = "7f3e1a2b-aaaa-bbbb-cccc-ddddeeeeffff"


def origin(hub: str = HUB, namespace: str = "team-a", task_uid: str = MINE) -> dict[str, str]:
    """The labels a dependency copy carries: the workload's origin labels of the computenet.io/ prefix."""
    labels = origin_labels(hub, namespace, "t", task_uid, 0, "member-1")
    return {k: v for k, v in labels.items() if k.startswith("computenet.io/")}


def copy(
    task_uid: str = MINE,
    data: dict[str, str] | None = None,
    owners: tuple[str, ...] = (),
    hub: str = HUB,
    namespace: str = "team-a",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A ConfigMap copy as the member holds it: origin labels of `task_uid`, owned by the workloads `owners`."""
    found = origin(hub, namespace, task_uid) if labels is None else labels
    meta: dict[str, Any] = {"name": "train-config", "labels": found}
    if owners:
        meta["ownerReferences"] = [
            {"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": f"uid-{name}"} for name in owners
        ]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {"lr": "0.1"}}


WANTED = copy()
MY_JOB = job_name("t", MINE, 0)
MY_OLD_JOB = job_name("t", MINE, 1)
THEIR_JOB = job_name("other", THEIRS, 0)


@pytest.mark.parametrize(
    ("current", "step"),
    [
        pytest.param(None, Step.CREATE, id="nothing of that name: create the copy"),
        pytest.param(copy(), Step.UPDATE, id="this task's own copy, not owned yet: refresh it"),
        pytest.param(
            copy(data={"lr": "0.2"}, owners=(MY_OLD_JOB,)),
            Step.UPDATE,
            id="this task's copy owned only by its earlier attempt, source changed: refresh it",
        ),
        pytest.param(
            copy(THEIRS, owners=(THEIR_JOB,)),
            Step.SHARE,
            id="another task's copy, same hub, same namespace, same content: share it",
        ),
        pytest.param(
            copy(THEIRS),
            Step.SHARE,
            id="another task's copy not owned yet, same content: share it",
        ),
        pytest.param(
            copy(MINE, owners=(MY_JOB, THEIR_JOB)),
            Step.SHARE,
            id="this task's copy another task shares, same content: keep it shared",
        ),
        pytest.param(
            copy(THEIRS, data={"lr": "0.2"}, owners=(THEIR_JOB,)),
            Step.WAIT,
            id="another task's copy, the source changed since: wait until it is gone",
        ),
        pytest.param(
            copy(MINE, data={"lr": "0.2"}, owners=(MY_JOB, THEIR_JOB)),
            Step.WAIT,
            id="this task's copy another task shares, the source changed: never changed under that task",
        ),
        pytest.param(
            copy(THEIRS, data={"lr": "0.2"}),
            Step.WAIT,
            id="another task's copy not owned yet, other content: wait",
        ),
        pytest.param(copy(labels={}), Step.REFUSE, id="the member's own object (no labels): never touched"),
        pytest.param(
            copy(labels={"app": "x"}, owners=(THEIR_JOB,)),
            Step.REFUSE,
            id="someone else's object owned by something: never touched",
        ),
        pytest.param(copy(THEIRS, hub="hub-b"), Step.REFUSE, id="another hub's copy, same content: never shared"),
        pytest.param(copy(MINE, hub="hub-b"), Step.REFUSE, id="another hub's copy naming our task uid: never touched"),
        pytest.param(
            copy(THEIRS, namespace="team-b"),
            Step.REFUSE,
            id="a copy from another hub namespace, same content: never shared",
        ),
        pytest.param(
            copy(labels={**origin(), "app.kubernetes.io/managed-by": "helm"}),
            Step.REFUSE,
            id="an object another manager claims: never touched",
        ),
    ],
)
def test_decide(current: dict[str, Any] | None, step: Step) -> None:
    assert decide(current, WANTED) is step


@pytest.mark.parametrize(
    ("current", "wanted", "same"),
    [
        pytest.param({"data": {"a": "1"}}, {"data": {"a": "1"}}, True, id="same data"),
        pytest.param({"data": {"a": "1"}}, {"data": {"a": "2"}}, False, id="a value differs"),
        pytest.param({"data": {}}, {}, True, id="empty data and no data alike"),
        pytest.param({"immutable": False}, {}, True, id="immutable false and unset alike"),
        pytest.param({"immutable": True}, {}, False, id="immutable set differs"),
        pytest.param({"type": "Opaque"}, {"type": "kubernetes.io/tls"}, False, id="a Secret type differs"),
        pytest.param({"binaryData": {"b": "AA=="}}, {}, False, id="binary data differs"),
        pytest.param(
            {"spec": {"spec": {"devices": {"requests": [{"name": "gpu"}]}}}},
            {"spec": {"spec": {"devices": {"requests": [{"name": "gpu"}]}}}},
            True,
            id="a claim template's same spec",
        ),
        pytest.param(
            {"spec": {"spec": {"devices": {"requests": [{"name": "gpu"}]}}}},
            {"spec": {"spec": {"devices": {"requests": [{"name": "tpu"}]}}}},
            False,
            id="a claim template's spec differs",
        ),
        pytest.param(
            {"data": {"a": "1"}, "metadata": {"labels": {"x": "y"}}},
            {"data": {"a": "1"}},
            True,
            id="labels are not content",
        ),
    ],
)
def test_same_content(current: dict[str, Any], wanted: dict[str, Any], same: bool) -> None:
    assert same_content(current, wanted) is same


def test_a_staging_secret_of_this_task_is_refreshed_as_before() -> None:
    staging = {**origin(), "app.kubernetes.io/managed-by": "computenet-staging"}
    assert decide(copy(labels=staging), copy(labels=staging)) is Step.UPDATE


def test_with_owner_adds_one_more_owner_and_keeps_the_others() -> None:
    theirs = {"apiVersion": "batch/v1", "kind": "Job", "name": THEIR_JOB, "uid": "u1"}
    mine = {"apiVersion": "batch/v1", "kind": "Job", "name": MY_JOB, "uid": "u2"}
    assert with_owner([theirs], mine) == [theirs, mine]


def test_with_owner_says_none_when_the_workload_owns_it_already() -> None:
    mine = {"apiVersion": "batch/v1", "kind": "Job", "name": MY_JOB, "uid": "u2"}
    assert with_owner([mine], dict(mine)) is None


@pytest.mark.parametrize(
    ("name", "uid", "named"),
    [
        pytest.param(job_name("t", MINE, 0), MINE, True, id="the task's first attempt"),
        pytest.param(job_name("t.v2", MINE, 41), MINE, True, id="a later attempt of a dotted task name"),
        pytest.param(job_name("t", THEIRS, 0), MINE, False, id="another task's workload"),
        pytest.param("train-config-owner", MINE, False, id="a name no task has"),
    ],
)
def test_names_task(name: str, uid: str, named: bool) -> None:
    assert names_task(name, uid) is named
