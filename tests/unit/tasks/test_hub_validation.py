"""The pure half of Kubernetes' validation of a task's Job: the Job asked about, the answer's meaning.

The Status bodies below were captured from the hub (kube-apiserver v1.36.3) answering a dry-run
create of the probe Job of a task written with each mistake; the shell that asks is tested
against the real hub in tests/integration/test_hub_validation.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from computenet.api.common import Condition
from computenet.api.constants import ConditionStatus, ConditionType, Phase, Reason
from computenet.api.contract import resolve_resources
from computenet.api.problems import Problem
from computenet.api.task import ComputeTaskSpec, ComputeTaskStatus
from computenet.tasks import lifecycle as lc
from computenet.tasks.hub_validation import (
    GENERATE_NAME,
    TASK_WORKLOAD,
    VALID,
    Probe,
    Result,
    Verdict,
    combined,
    key_of,
    probe_of,
    probes_of,
    task_field,
    verdict_of,
)
from computenet.tasks.lifecycle.transitions import HOLD_NEW_S

POD = "spec.template.spec.template.spec"
NOW = dt.datetime(2026, 12, 7, 12, 0, 0, tzinfo=dt.UTC)
CHECKING = "waiting for the hub's verdict"
UNSUPPORTED_GPU = 'Unsupported value: "nvidia.com/gpu": supported values: "cpu", "hugepages-", "memory"'

# ---- real answers of the hub (kube-apiserver v1.36.3) to a dry-run create of the probe Job ----

STATUS: dict[str, Any] = {
    "toleration": {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": (
            'Job.batch "computenet-dry-run-n5clr" is invalid: spec.template.spec.tolerations['
            '0].operator: Unsupported value: "exists": supported values: "Equal", "Exists"'
        ),
        "reason": "Invalid",
        "details": {
            "name": "computenet-dry-run-n5clr",
            "group": "batch",
            "kind": "Job",
            "causes": [
                {
                    "reason": "FieldValueNotSupported",
                    "message": 'Unsupported value: "exists": supported values: "Equal", "Exists"',
                    "field": "spec.template.spec.tolerations[0].operator",
                }
            ],
        },
        "code": 422,
    },
    "sidecar": {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": (
            'Job.batch "computenet-dry-run-5zcgs" is invalid: spec.template.spec.initContaine'
            'rs[0].restartPolicy: Unsupported value: "always": supported values: "Always", "N'
            'ever", "OnFailure"'
        ),
        "reason": "Invalid",
        "details": {
            "name": "computenet-dry-run-5zcgs",
            "group": "batch",
            "kind": "Job",
            "causes": [
                {
                    "reason": "FieldValueNotSupported",
                    "message": 'Unsupported value: "always": supported values: "Always", "Never", "OnFailure"',
                    "field": "spec.template.spec.initContainers[0].restartPolicy",
                }
            ],
        },
        "code": 422,
    },
    "podgpu": {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": (
            'Job.batch "computenet-dry-run-bsgmx" is invalid: [spec.template.spec.resources.l'
            'imits[nvidia.com/gpu]: Unsupported value: "nvidia.com/gpu": supported values: "c'
            'pu", "hugepages-", "memory", spec.template.spec.resources.requests[nvidia.com/gp'
            'u]: Unsupported value: "nvidia.com/gpu": supported values: "cpu", "hugepages-", '
            '"memory"]'
        ),
        "reason": "Invalid",
        "details": {
            "name": "computenet-dry-run-bsgmx",
            "group": "batch",
            "kind": "Job",
            "causes": [
                {
                    "reason": "FieldValueNotSupported",
                    "message": 'Unsupported value: "nvidia.com/gpu": supported values: "cpu", "hugepages-", "memory"',
                    "field": "spec.template.spec.resources.limits[nvidia.com/gpu]",
                },
                {
                    "reason": "FieldValueNotSupported",
                    "message": 'Unsupported value: "nvidia.com/gpu": supported values: "cpu", "hugepages-", "memory"',
                    "field": "spec.template.spec.resources.requests[nvidia.com/gpu]",
                },
            ],
        },
        "code": 422,
    },
    "many": {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": (
            'Job.batch "computenet-dry-run-qr6h4" is invalid: [spec.template.spec.containers['
            '0].imagePullPolicy: Unsupported value: "always": supported values: "Always", "If'
            'NotPresent", "Never", spec.template.spec.dnsPolicy: Unsupported value: "clusterF'
            'irst": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "'
            'None", spec.template.spec.tolerations[0].operator: Unsupported value: "exists": '
            'supported values: "Equal", "Exists", spec.template.spec.tolerations[1].operator:'
            ' Unsupported value: "equal": supported values: "Equal", "Exists"]'
        ),
        "reason": "Invalid",
        "details": {
            "name": "computenet-dry-run-qr6h4",
            "group": "batch",
            "kind": "Job",
            "causes": [
                {
                    "reason": "FieldValueNotSupported",
                    "message": 'Unsupported value: "always": supported values: "Always", "IfNotPresent", "Never"',
                    "field": "spec.template.spec.containers[0].imagePullPolicy",
                },
                {
                    "reason": "FieldValueNotSupported",
                    "message": (
                        'Unsupported value: "clusterFirst": supported values: "ClusterFirstWithHostNet", '
                        '"ClusterFirst", "Default", "None"'
                    ),
                    "field": "spec.template.spec.dnsPolicy",
                },
                {
                    "reason": "FieldValueNotSupported",
                    "message": 'Unsupported value: "exists": supported values: "Equal", "Exists"',
                    "field": "spec.template.spec.tolerations[0].operator",
                },
                {
                    "reason": "FieldValueNotSupported",
                    "message": 'Unsupported value: "equal": supported values: "Equal", "Exists"',
                    "field": "spec.template.spec.tolerations[1].operator",
                },
            ],
        },
        "code": 422,
    },
    "badtype": {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": (
            'Job in version "v1" cannot be handled as a Job: json: cannot unmarshal string in'
            "to Go struct field Container.spec.template.spec.containers.ports of type []v1.Co"
            "ntainerPort"
        ),
        "reason": "BadRequest",
        "code": 400,
    },
    "forbidden": {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": (
            'jobs.batch is forbidden: User "computenet-operator" cannot create resource "jobs'
            '" in API group "batch" in the namespace "default"'
        ),
        "reason": "Forbidden",
        "details": {"group": "batch", "kind": "jobs"},
        "code": 403,
    },
}
"""Bodies as the hub sent them: 422 for each mistake, 400 for a body it cannot decode (sent around the
client, which refuses it itself), 403 for an identity without the Role."""


# ---- the Job asked about ----


def manifest(pod: dict[str, Any] | None = None, *, gpus: int = 0, replicas: int = 1, **spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "main",
        "image": "busybox",
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}},
    }
    resources: dict[str, Any] = {"cpu": "500m", "memory": "1Gi"}
    if gpus:
        resources["accelerators"] = {"count": gpus, "vendor": "nvidia"}
    return {
        "replicas": replicas,
        "resources": resources,
        "template": {
            "metadata": {"labels": {"team": "a"}},
            "spec": {"template": {"spec": {"containers": [container], **(pod or {})}}},
        },
        **spec,
    }


def probe(body: dict[str, Any], namespace: str = "computenet-system") -> Probe:
    spec = resolve_resources(ComputeTaskSpec.model_validate(body))
    found = probe_of(spec, body.get("template") or {}, body.get("workload") or {}, namespace, "hub")
    assert found is not None
    return found


def deployment(pod: dict[str, Any] | None = None) -> dict[str, Any]:
    """A task whose workload is a Deployment (``spec.workload``) instead of a Job template."""
    body = manifest(pod)
    template = body.pop("template")["spec"]["template"]
    body["workload"] = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": template}}
    return body


def test_the_probe_is_the_dispatched_job_with_a_generated_name_in_the_operators_namespace() -> None:
    found = probe(manifest(gpus=2, replicas=3))
    assert (found.kind.kind, found.at) == ("Job", "spec.template")
    job = found.manifest
    meta = job["metadata"]
    assert "name" not in meta
    assert meta["generateName"] == GENERATE_NAME
    assert meta["namespace"] == "computenet-system"
    assert meta["labels"]["team"] == "a"  # the user's labels ride along, as dispatch renders them
    assert (job["spec"]["parallelism"], job["spec"]["completions"], job["spec"]["completionMode"]) == (3, 3, "Indexed")
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"  # defaulted as dispatch does: a bare template is not refused for it
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "2"  # the reservation applied


@pytest.mark.parametrize(
    ("asked", "limits", "resource"),
    [
        pytest.param({"partition": "1g.10gb"}, None, "nvidia.com/mig-1g.10gb", id="MIG slices of the mixed strategy"),
        pytest.param({"partition": "1g.10gb"}, {"nvidia.com/gpu": "2"}, "nvidia.com/gpu", id="or as the template says"),
        pytest.param(
            {"sharing": "Shared"}, {"nvidia.com/gpu.shared": "2"}, "nvidia.com/gpu.shared", id="renamed shared replicas"
        ),
    ],
)
def test_the_probe_requests_the_slice_resource_dispatch_will(
    asked: dict[str, str], limits: dict[str, str] | None, resource: str
) -> None:
    body = manifest(gpus=2)
    body["resources"]["accelerators"] |= asked
    if limits:
        body["template"]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] = limits
    pod = probe(body).manifest["spec"]["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"] == {resource: "2"}


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        pytest.param(manifest(), manifest(priority=7), True, id="what the Job does not carry shares a verdict"),
        pytest.param(manifest(), manifest(suspend=True), True, id="suspending a task keeps its verdict"),
        pytest.param(
            manifest(),
            manifest({"tolerations": [{"key": "k", "operator": "Exists"}]}),
            False,
            id="an edit of the pod template is judged again",
        ),
        pytest.param(manifest(), manifest(replicas=2), False, id="a gang is another Job"),
        pytest.param(manifest(), manifest(gpus=1), False, id="a reservation is part of the Job"),
    ],
)
def test_identical_jobs_share_a_key(a: dict[str, Any], b: dict[str, Any], same: bool) -> None:
    assert (key_of(probe(a)) == key_of(probe(b))) is same


def test_the_key_does_not_depend_on_the_tasks_identity_or_key_order() -> None:
    body = manifest({"nodeSelector": {"b": "2", "a": "1"}})
    reordered = manifest({"nodeSelector": {"a": "1", "b": "2"}})
    assert key_of(probe(body)) == key_of(probe(reordered))


def test_a_template_that_cannot_carry_the_reservation_is_left_to_admission() -> None:
    body = manifest(gpus=1)
    container = body["template"]["spec"]["template"]["spec"]["containers"][0]
    container["resources"]["limits"] = {"nvidia.com/gpu": 4}  # more than the task reserves
    spec = resolve_resources(ComputeTaskSpec.model_validate(manifest(gpus=1)))
    assert probe_of(spec, body["template"], {}, "computenet-system", "hub") is None


def test_a_deployment_is_asked_about_as_a_deployment_under_spec_workload() -> None:
    found = probe(deployment(), namespace="ops")
    assert (found.kind.kind, found.at) == ("Deployment", TASK_WORKLOAD)
    assert found.manifest["apiVersion"] == "apps/v1"
    assert found.manifest["metadata"]["namespace"] == "ops"
    assert found.manifest["spec"]["replicas"] == 1
    assert found.manifest["spec"]["selector"]["matchLabels"]  # set by render, as for dispatch
    assert "restartPolicy" not in found.manifest["spec"]["template"]["spec"]  # a serving kind keeps Always
    assert key_of(found) != key_of(probe(manifest()))


# ---- the answer's meaning ----


@pytest.mark.parametrize(
    ("job_field", "task_path"),
    [
        pytest.param(
            "spec.template.spec.tolerations[0].operator",
            f"{POD}.tolerations[0].operator",
            id="a pod field is under the task's spec.template",
        ),
        pytest.param("metadata.labels", "spec.template.metadata.labels", id="the Job's labels are the template's"),
        pytest.param("spec.parallelism", "spec.template.spec.parallelism", id="a Job spec field"),
        pytest.param("", "spec.template", id="no field names the template"),
    ],
)
def test_a_job_path_becomes_the_tasks_path(job_field: str, task_path: str) -> None:
    assert task_field(job_field) == task_path


@pytest.mark.parametrize(
    ("status", "body", "result", "answer"),
    [
        pytest.param(201, {"kind": "Job"}, Result.VALID, "", id="created (dry run) is valid"),
        pytest.param(None, None, Result.UNAVAILABLE, "no answer", id="no answer is no verdict"),
        pytest.param(
            500,
            {"kind": "Status", "status": "Failure", "message": "etcdserver: leader changed", "code": 500},
            Result.UNAVAILABLE,
            "HTTP 500: etcdserver: leader changed",
            id="a server error is no verdict",
        ),
        pytest.param(
            429,
            {"kind": "Status", "reason": "TooManyRequests", "message": "too many requests", "code": 429},
            Result.UNAVAILABLE,
            "HTTP 429: too many requests",
            id="throttled is no verdict",
        ),
        pytest.param(
            503,
            "<html>bad gateway</html>",
            Result.UNAVAILABLE,
            "HTTP 503: <html>bad gateway</html>",
            id="a proxy's page is no verdict",
        ),
    ],
)
def test_what_is_not_a_refusal(status: int | None, body: Any, result: Result, answer: str) -> None:
    verdict = verdict_of(status, body)
    assert verdict.result is result
    assert verdict.answer == answer
    assert verdict.problems == ()


@pytest.mark.parametrize(
    ("status", "body", "problems"),
    [
        pytest.param(
            422,
            STATUS["toleration"],
            [(f"{POD}.tolerations[0].operator", 'Unsupported value: "exists": supported values: "Equal", "Exists"')],
            id="a lowercase toleration operator is named on the task's path",
        ),
        pytest.param(
            422,
            STATUS["sidecar"],
            [
                (
                    f"{POD}.initContainers[0].restartPolicy",
                    'Unsupported value: "always": supported values: "Always", "Never", "OnFailure"',
                )
            ],
            id="a lowercase sidecar restartPolicy is named on the task's path",
        ),
        pytest.param(
            422,
            STATUS["podgpu"],
            [
                (f"{POD}.resources.limits[nvidia.com/gpu]", UNSUPPORTED_GPU),
                (f"{POD}.resources.requests[nvidia.com/gpu]", UNSUPPORTED_GPU),
            ],
            id="an extended resource in pod-level resources is named in limits and requests",
        ),
        pytest.param(
            422,
            STATUS["many"],
            [
                (
                    f"{POD}.containers[0].imagePullPolicy",
                    'Unsupported value: "always": supported values: "Always", "IfNotPresent", "Never"',
                ),
                (
                    f"{POD}.dnsPolicy",
                    'Unsupported value: "clusterFirst": supported values: '
                    '"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"',
                ),
                (f"{POD}.tolerations[0].operator", 'Unsupported value: "exists": supported values: "Equal", "Exists"'),
                (f"{POD}.tolerations[1].operator", 'Unsupported value: "equal": supported values: "Equal", "Exists"'),
            ],
            id="every refused field is named, in the hub's order",
        ),
        pytest.param(
            400,
            STATUS["badtype"],
            [(f"{POD}.containers.ports", STATUS["badtype"]["message"])],
            id="a body the hub cannot decode names the field it could not read",
        ),
        pytest.param(
            422,
            {"kind": "Status", "reason": "Invalid", "message": 'Job.batch "x" is invalid: the whole Job', "code": 422},
            [("spec.template", "the whole Job")],
            id="a refusal naming no field is put on the template",
        ),
    ],
)
def test_a_refusal_names_each_field_on_the_tasks_path(
    status: int, body: dict[str, Any], problems: list[tuple[str, str]]
) -> None:
    verdict = verdict_of(status, body)
    assert verdict.result is Result.INVALID
    assert [(p.field, p.message) for p in verdict.problems] == problems
    assert verdict.message.startswith(f"{problems[0][0]}: {problems[0][1]}")
    assert "computenet-dry-run-" not in verdict.message  # the probe's generated name is no business of the user


def test_forbidden_is_no_verdict_and_says_what_the_hub_answered() -> None:
    verdict = verdict_of(403, STATUS["forbidden"])
    assert verdict.result is Result.UNAVAILABLE
    assert verdict.status == 403
    assert verdict.answer == f"HTTP 403: {STATUS['forbidden']['message']}"
    assert verdict.problems == ()


def test_a_workloads_refusal_is_named_under_spec_workload() -> None:
    found = probe(deployment())
    verdict = verdict_of(422, STATUS["toleration"], probe=found)
    assert [p.field for p in verdict.problems] == ["spec.workload.spec.template.spec.tolerations[0].operator"]
    assert "Kubernetes refuses the Deployment this task would dispatch" in verdict.message


def test_the_message_names_the_fields_first_and_fits_the_condition() -> None:
    many = tuple(Problem(f"{POD}.containers[{i}].image", "Required value" + " x" * 4000) for i in range(40))
    message = Verdict(Result.INVALID, many).message
    assert message.startswith(f"{POD}.containers[0].image: Required value")
    assert len(message) == lc.CONDITION_MESSAGE_LIMIT
    assert message.endswith("more characters cut]")
    seven = tuple(Problem(f"{POD}.containers[{i}].image", "Required value") for i in range(7))
    short = Verdict(Result.INVALID, seven).message
    assert [f"{POD}.containers[{i}].image" in short for i in range(7)] == [True] * 7  # every field, as Kubernetes
    assert short.endswith("; Kubernetes refuses the Job this task would dispatch (dry run on the hub)")


# ---- the lifecycle while the verdict is awaited ----


def _valid(generation: int) -> Condition:
    return Condition(
        type=ConditionType.VALID, status=ConditionStatus.TRUE, reason=Reason.VALID, message="spec is valid",
        observed_generation=generation,
    )  # fmt: skip


def _invalid(generation: int) -> Condition:
    return Condition(
        type=ConditionType.VALID, status=ConditionStatus.FALSE, reason=Reason.INVALID_SPEC, message="refused",
        observed_generation=generation,
    )  # fmt: skip


FACTS = lc.TaskFacts(generation=2)


@pytest.mark.parametrize(
    ("status", "phase", "valid"),
    [
        pytest.param(
            ComputeTaskStatus(), Phase.PENDING, ConditionStatus.UNKNOWN, id="a new task is Pending awaiting it"
        ),
        pytest.param(
            ComputeTaskStatus(phase=Phase.PENDING, conditions=[_valid(1)]),
            Phase.PENDING,
            ConditionStatus.UNKNOWN,
            id="an edited waiting task awaits it again",
        ),
        pytest.param(
            ComputeTaskStatus(phase=Phase.OFFERED, conditions=[_valid(1)]),
            Phase.OFFERED,
            ConditionStatus.UNKNOWN,
            id="an edited task with offers keeps its phase",
        ),
        pytest.param(
            ComputeTaskStatus(phase=Phase.PENDING, conditions=[_valid(2)]),
            None,
            None,
            id="a task valid at this generation before a restart is not rewritten",
        ),
        pytest.param(
            ComputeTaskStatus(phase=Phase.PENDING, conditions=[_invalid(2)]),
            None,
            None,
            id="a task refused at this generation before a restart is not rewritten (nor told again)",
        ),
        pytest.param(
            ComputeTaskStatus(phase=Phase.RUNNING, attempt=1),
            None,
            None,
            id="a running task does not await it",
        ),
    ],
)
def test_awaiting_the_hubs_verdict(
    status: ComputeTaskStatus, phase: Phase | None, valid: ConditionStatus | None
) -> None:
    outcome = lc.transition(status, lc.Admitted(checking=CHECKING), NOW, FACTS)
    assert outcome.effects == ()  # no Wake: nothing may place it yet
    if phase is None:
        assert outcome.status is status
        return
    assert outcome.status.phase == phase
    cond = lc.condition(outcome.status, ConditionType.VALID)
    assert cond is not None
    assert (cond.status, cond.reason, cond.message) == (valid, Reason.VALIDATING, CHECKING)
    assert outcome.write_after == HOLD_NEW_S
    again = lc.transition(outcome.status, lc.Admitted(checking=CHECKING), NOW, FACTS)
    assert again.status is outcome.status


def test_the_verdict_valid_wakes_the_scheduler_whose_decision_carries_the_write() -> None:
    waiting = lc.transition(ComputeTaskStatus(), lc.Admitted(checking=CHECKING), NOW, FACTS).status
    outcome = lc.transition(waiting, lc.Admitted(), NOW, FACTS)
    cond = lc.condition(outcome.status, ConditionType.VALID)
    assert cond is not None
    assert (cond.status, cond.reason) == (ConditionStatus.TRUE, Reason.VALID)
    assert outcome.effects == (lc.Wake(),)
    assert outcome.write_after == HOLD_NEW_S


def test_the_verdict_invalid_says_so_on_the_task() -> None:
    waiting = lc.transition(ComputeTaskStatus(), lc.Admitted(checking=CHECKING), NOW, FACTS).status
    message = Verdict(Result.INVALID, (Problem(f"{POD}.tolerations[0].operator", "Unsupported value"),)).message
    outcome = lc.transition(waiting, lc.SpecInvalid(message), NOW, FACTS)
    cond = lc.condition(outcome.status, ConditionType.VALID)
    assert cond is not None
    assert (cond.status, cond.reason, cond.message) == (ConditionStatus.FALSE, Reason.INVALID_SPEC, message)
    assert outcome.status.phase == Phase.PENDING
    assert outcome.effects == (lc.Emit(Reason.INVALID_SPEC, message, warning=True),)


def test_valid_is_a_constant() -> None:
    assert Verdict(Result.VALID) == VALID


# ---- kinds the hub does not serve: each role's pod template as a PodTemplate ----

JOBSET_ROLE = "spec.workload.spec.replicatedJobs[{i}].template.spec.template"
POD_TEMPLATE_REFUSAL: dict[str, Any] = {
    "kind": "Status",
    "apiVersion": "v1",
    "status": "Failure",
    "message": 'PodTemplate "computenet-dry-run-x" is invalid: template.spec.tolerations[0].operator: ...',
    "reason": "Invalid",
    "details": {
        "kind": "PodTemplate",
        "causes": [
            {
                "reason": "FieldValueNotSupported",
                "message": 'Unsupported value: "exists": supported values: "Equal", "Exists"',
                "field": "template.spec.tolerations[0].operator",
            }
        ],
    },
    "code": 422,
}


def jobset(worker_pod: dict[str, Any] | None = None) -> dict[str, Any]:
    """A task whose workload is a JobSet of a leader and two workers (the sample's shape)."""

    def role(name: str, replicas: int, pod: dict[str, Any]) -> dict[str, Any]:
        container = {"name": "main", "image": "busybox", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}
        spec = {"restartPolicy": "Never", "containers": [container], **pod}
        return {"name": name, "replicas": replicas, "template": {"spec": {"template": {"spec": spec}}}}

    workload = {
        "apiVersion": "jobset.x-k8s.io/v1alpha2",
        "kind": "JobSet",
        "spec": {"replicatedJobs": [role("leader", 1, {}), role("workers", 2, worker_pod or {})]},
    }
    return {"resources": {"cpu": "1", "memory": "1Gi"}, "workload": workload}


def probes(body: dict[str, Any]) -> tuple[Probe, ...]:
    spec = resolve_resources(ComputeTaskSpec.model_validate(body))
    return probes_of(spec, body.get("template") or {}, body.get("workload") or {}, "computenet-system", "hub")


def test_a_kind_the_hub_does_not_serve_is_asked_about_role_by_role_as_pod_templates() -> None:
    found = probes(jobset())
    assert [(p.kind.kind, p.at) for p in found] == [
        ("PodTemplate", JOBSET_ROLE.format(i=0)),
        ("PodTemplate", JOBSET_ROLE.format(i=1)),
    ]
    assert [p.manifest["metadata"] for p in found] == [{"generateName": GENERATE_NAME}] * 2
    worker = found[1].manifest["template"]
    assert worker["spec"]["restartPolicy"] == "Never"
    assert worker["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "1", "memory": "1Gi"}
    assert found[1].said == "pod template of role workers of the JobSet"


def test_a_built_in_kind_is_still_asked_about_as_itself() -> None:
    (job,) = probes(manifest())
    assert job.kind.kind == "Job"
    (deploy,) = probes(deployment())
    assert deploy.kind.kind == "Deployment"


def test_a_roles_refusal_is_named_on_the_roles_path_in_spec_workload() -> None:
    worker = probes(jobset({"tolerations": [{"key": "k", "operator": "exists"}]}))[1]
    verdict = verdict_of(422, POD_TEMPLATE_REFUSAL, probe=worker)
    assert [p.field for p in verdict.problems] == [f"{JOBSET_ROLE.format(i=1)}.spec.tolerations[0].operator"]
    assert "Kubernetes refuses the pod template of role workers of the JobSet this task" in verdict.message


def test_roles_differing_in_one_field_are_different_questions() -> None:
    assert key_of(*probes(jobset())) != key_of(*probes(jobset({"hostNetwork": True})))
    assert key_of(*probes(jobset())) == key_of(*probes(jobset()))


INVALID_A = Verdict(Result.INVALID, (Problem("spec.a", "bad"),), status=422, kind="x")
INVALID_B = Verdict(Result.INVALID, (Problem("spec.b", "bad"),), status=422, kind="y")
MISSING = Verdict(Result.UNAVAILABLE, answer="HTTP 403: forbidden", status=403)


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        pytest.param([VALID, VALID], VALID, id="every role valid: valid"),
        pytest.param([VALID, MISSING], MISSING, id="a role without a verdict and none refused: no verdict"),
        pytest.param(
            [INVALID_A, MISSING, INVALID_B],
            Verdict(Result.INVALID, (Problem("spec.a", "bad"), Problem("spec.b", "bad")), status=422, kind="x"),
            id="refused roles: every refused field of all of them, a missing verdict does not hide them",
        ),
    ],
)
def test_the_verdicts_of_a_tasks_roles_combine(verdicts: list[Verdict], expected: Verdict) -> None:
    assert combined(verdicts) == expected
