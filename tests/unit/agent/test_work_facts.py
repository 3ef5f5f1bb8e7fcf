"""The hub reads a ComputeWork's mirrored Job by the same rule as a Job watched in a push member."""

from __future__ import annotations

from typing import Any

import pytest

from computenet.api.constants import ATTEMPT_LABEL, IDENTIFIER_LABEL, ORIGIN_ANNOTATION, TASK_UID_LABEL
from computenet.dispatch.jobs import job_facts
from computenet.members.pull_works import member_job, work_facts

LABELS = {TASK_UID_LABEL: "t1", ATTEMPT_LABEL: "2", IDENTIFIER_LABEL: "member-3"}


def work(status: dict[str, Any] | None = None, deleting: bool = False) -> dict[str, Any]:
    manifest = {
        "metadata": {"namespace": "ns", "name": "job-2", "labels": LABELS, "annotations": {ORIGIN_ANNOTATION: "d/t"}}
    }
    meta: dict[str, Any] = {"name": "job-2", "namespace": "provider-a", "labels": LABELS}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-30T12:00:00Z"
    return {"metadata": meta, "spec": {"manifest": manifest}, "status": status or {}}


def applied(status: str, reason: str, message: str = "") -> dict[str, Any]:
    return {"type": "Applied", "status": status, "reason": reason, "message": message}


@pytest.mark.parametrize(
    ("status", "phase", "uid"),
    [
        pytest.param({}, "Pending", "", id="not created yet: Pending, no UID"),
        pytest.param(
            {"conditions": [applied("True", "Created")], "job": {"uid": "u", "ready": 1, "active": 1}},
            "Running",
            "u",
            id="a ready pod: Running",
        ),
        pytest.param(
            {
                "conditions": [applied("True", "Created")],
                "job": {"uid": "u", "succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]},
            },
            "Succeeded",
            "u",
            id="Complete: Succeeded",
        ),
        pytest.param(
            {"conditions": [applied("False", "InvalidSpec", "HTTP 422: spec.template invalid")]},
            "Failed",
            "",
            id="refused by the member for good: Failed with its words",
        ),
    ],
)
def test_work_facts(status: dict[str, Any], phase: str, uid: str) -> None:
    facts = work_facts(work(status))
    assert facts is not None
    assert (facts.phase, facts.uid, facts.attempt, facts.identifier, facts.task_uid) == (
        phase,
        uid,
        2,
        "member-3",
        "t1",
    )
    assert (facts.namespace, facts.name, facts.origin) == ("ns", "job-2", "d/t")


def test_a_refused_job_carries_the_members_message() -> None:
    facts = work_facts(work({"conditions": [applied("False", "InvalidSpec", "HTTP 422: bad")]}))
    assert facts is not None
    assert facts.message == "MemberRefused: HTTP 422: bad"


def test_a_job_gone_from_the_member_is_no_job_at_all() -> None:
    assert member_job(work({"conditions": [applied("False", "JobGone")], "job": {"uid": "u"}})) is None
    assert work_facts(work({"conditions": [applied("False", "JobGone")]})) is None


def test_a_deleting_work_is_a_deleting_job() -> None:
    facts = work_facts(work({}, deleting=True))
    assert facts is not None
    assert facts.deleting


def test_the_same_rule_as_a_member_job() -> None:
    status = {
        "job": {
            "uid": "u",
            "failed": 1,
            "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}],
        }
    }
    job = member_job(work(status))
    assert job is not None
    assert work_facts(work(status)) == job_facts(job)


# ---- works of other kinds than a Job ----


def deployment_work(status: dict[str, Any] | None = None) -> dict[str, Any]:
    w = work(status)
    w["spec"]["manifest"] = {"apiVersion": "apps/v1", "kind": "Deployment", **w["spec"]["manifest"]}
    return w


def mirrored(available: int, replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "namespace": "ns",
        "name": "job-2",
        "uid": "d-uid",
        "status": {"replicas": replicas, "availableReplicas": available, "readyReplicas": available},
    }


@pytest.mark.parametrize(
    ("status", "phase"),
    [
        pytest.param({}, "Pending", id="not created yet"),
        pytest.param(
            {"conditions": [applied("True", "Created")], "job": mirrored(0)}, "Pending", id="no replica available yet"
        ),
        pytest.param(
            {"conditions": [applied("True", "Created")], "job": mirrored(2)}, "Running", id="every replica available"
        ),
        pytest.param(
            {"conditions": [applied("False", "InvalidSpec", "the agent does not run apps/v1 Deployment")]},
            "Failed",
            id="refused by the agent: failed, in its words",
        ),
    ],
)
def test_a_deployment_work_is_read_by_the_deployments_own_rule(status: dict[str, Any], phase: str) -> None:
    obj = member_job(deployment_work(status))
    assert obj is not None
    assert (obj["apiVersion"], obj["kind"]) == ("apps/v1", "Deployment")
    facts = work_facts(deployment_work(status))
    assert facts is not None
    assert facts.kind.kind == "Deployment"
    assert facts.phase == phase


def test_a_deployment_work_mirrors_the_uid_the_agent_reported() -> None:
    facts = work_facts(deployment_work({"conditions": [applied("True", "Created")], "job": mirrored(2)}))
    assert facts is not None
    assert facts.uid == "d-uid"
