"""The hub reads a ComputeWork's mirrored Job by the same rule as a Job watched in a push member."""

from __future__ import annotations

from typing import Any

import pytest

from computenet.api.constants import ATTEMPT_LABEL, IDENTIFIER_LABEL, ORIGIN_ANNOTATION, TASK_UID_LABEL
from computenet.dispatch.jobs import job_facts
from computenet.members.pull_works import member_job, unconfirmed, work_facts

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


def test_a_deployment_work_is_read_against_the_replicas_it_asked_for() -> None:
    """The hub reads the status beside the spec it sent, as a push member's watch reads the whole object."""
    w = deployment_work({"conditions": [applied("True", "Created")], "job": mirrored(1)})
    w["spec"]["manifest"]["spec"] = {"replicas": 2}
    facts = work_facts(w)
    assert facts is not None
    assert facts.phase == "Pending"
    assert "1/2 replicas available" in (facts.message or "")


def test_a_deployment_work_mirrors_the_uid_the_agent_reported() -> None:
    facts = work_facts(deployment_work({"conditions": [applied("True", "Created")], "job": mirrored(2)}))
    assert facts is not None
    assert facts.uid == "d-uid"


# ---- works of a declared kind; dependencies ----

WIDGET: dict[str, Any] = {
    "apiVersion": "example.com/v1alpha1",
    "kind": "Widget",
    "plural": "widgets",
    "podSets": [{"role": "worker", "count": "spec.workers", "resources": "spec.resources"}],
    "status": {
        "failed": {"path": "status.phase", "equals": "Failed"},
        "succeeded": {"path": "status.phase", "equals": "Succeeded"},
        "running": {"cel": "self.status.ready == self.spec.workers"},
        "message": "status.message",
    },
}


def widget_work(status: dict[str, Any] | None = None, carried: bool = True) -> dict[str, Any]:
    from computenet.workloads.declared import compile_declaration, follow_spec

    w = work(status)
    w["spec"]["manifest"] = {
        "apiVersion": "example.com/v1alpha1",
        "kind": "Widget",
        **w["spec"]["manifest"],
        "spec": {"workers": 2},
    }
    if carried:
        w["spec"]["workloadKind"] = follow_spec(compile_declaration(WIDGET))
    return w


def widget_status(**status: Any) -> dict[str, Any]:
    job = {"apiVersion": "example.com/v1alpha1", "kind": "Widget", "namespace": "ns", "name": "job-2", "uid": "w"}
    return {"conditions": [applied("True", "Created")], "job": {**job, "status": status}}


@pytest.mark.parametrize(
    ("status", "phase", "message"),
    [
        pytest.param(widget_status(ready=1), "Pending", "", id="one of two ready: not running yet"),
        pytest.param(widget_status(ready=2), "Running", "", id="a rule comparing status with the spec sent"),
        pytest.param(widget_status(phase="Succeeded"), "Succeeded", "", id="succeeded"),
        pytest.param(widget_status(phase="Failed", message="no quota"), "Failed", "no quota", id="failed, its words"),
        pytest.param(
            {
                "conditions": [
                    applied("False", "InvalidSpec", "enable widgets.example.com in the agent's workloadKinds")
                ]
            },
            "Failed",
            "enable widgets.example.com",
            id="refused by the agent: failed, naming the value",
        ),
    ],
)
def test_a_declared_kinds_work_is_read_by_the_rules_it_carries_even_once_withdrawn(
    status: dict[str, Any], phase: str, message: str
) -> None:
    """The hub here holds no declaration of Widget: the work's own copy of its rules reads it."""
    facts = work_facts(widget_work(status))
    assert facts is not None
    assert (facts.kind.key, facts.phase) == ("example.com/v1alpha1 Widget", phase)
    assert message in (facts.message or "")


async def test_a_pull_work_carries_its_kinds_rules_and_its_dependencies_bounded() -> None:
    from kubernetes.aio.client import ApiClient

    from computenet.api.work import MAX_WORK_DEPENDENCY_BYTES, ComputeWork
    from computenet.dispatch.remote import MemberAnswer
    from computenet.dispatch.store import JobStore
    from computenet.members.pull_works import WorkClient
    from computenet.workloads.declared import compile_declaration
    from computenet.workloads.kinds import declare, withdraw

    kind = compile_declaration(WIDGET)
    declare(kind)
    client = ApiClient()
    try:
        works = WorkClient(client, "provider-a", "agent-1", JobStore())
        manifest = widget_work(carried=False)["spec"]["manifest"]
        copies = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "labels": LABELS}}]
        await works.put_dependencies("ns", copies)
        body = works._work(manifest)
        assert body["spec"]["dependencies"] == copies
        assert body["spec"]["workloadKind"]["status"] == WIDGET["status"]
        assert body["spec"]["workloadKind"]["plural"] == "widgets"
        ComputeWork.model_validate(body)  # what the CRD's schema states
        assert "dependencies" not in works._work(manifest)["spec"], "held for one work only"
        huge = [{**copies[0], "data": {"blob": "x" * MAX_WORK_DEPENDENCY_BYTES}}]
        with pytest.raises(MemberAnswer) as refused:
            await works.put_dependencies("ns", huge)
        assert not refused.value.retryable
        assert f"more than the {MAX_WORK_DEPENDENCY_BYTES} a pull member's ComputeWork carries" in refused.value.message
    finally:
        await client.close()  # type: ignore[no-untyped-call]
        withdraw(kind.api_version, kind.kind)


LATE = "agent provider-a/agent-1 has not created the Job of ComputeWork provider-a/w within 10s"


@pytest.mark.parametrize(
    ("status", "reason", "message"),
    [
        pytest.param({}, "MemberUnavailable", LATE, id="the agent said nothing: how long was waited"),
        pytest.param(
            {"conditions": [{"type": "Applied", "status": "False", "reason": "Forbidden", "message": "HTTP 403"}]},
            "MemberUnavailable",
            f"{LATE}: it says Forbidden: HTTP 403",
            id="the agent's words are added",
        ),
        pytest.param(
            {
                "conditions": [
                    {
                        "type": "Applied",
                        "status": "False",
                        "reason": "DependencyInUse",
                        "message": "ConfigMap ns/cfg in the member is the copy another task runs with",
                    }
                ]
            },
            "DependencyInUse",
            "ConfigMap ns/cfg in the member is the copy another task runs with",
            id="waiting for another task's copy is said as a push member says it",
        ),
        pytest.param(
            {"conditions": [{"type": "Applied", "status": "True", "reason": "Created", "message": "created"}]},
            "MemberUnavailable",
            LATE,
            id="an Applied=True condition adds nothing",
        ),
    ],
)
def test_a_work_not_confirmed_in_time_is_answered_in_the_agents_words(
    status: dict[str, Any], reason: str, message: str
) -> None:

    answer = unconfirmed(LATE, status)
    assert (answer.reason, answer.message, answer.retryable) == (reason, message, True)
