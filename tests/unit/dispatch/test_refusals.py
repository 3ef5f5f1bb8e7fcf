"""Which 403 answers of a member never pass (admission denied the object) and which do (authorization).

The bodies are ``metav1.Status`` objects as the API server writes them: the authorizer's refusal is
``forbiddenMessage`` (k8s.io/apiserver v0.36.3 pkg/endpoints/handlers/responsewriters/errors.go),
admission's is ``apierrors.NewForbidden`` (k8s.io/apimachinery v0.36.3 pkg/api/errors/errors.go)
around the plugin's, webhook's or policy's words.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from computenet.dispatch.remote import admission_denied, newest_warning


def status(message: str, causes: list[dict[str, str]] | None = None) -> str:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": "Forbidden",
        "details": {"name": "train-1", "group": "batch", "kind": "jobs", **({"causes": causes} if causes else {})},
        "code": 403,
    }
    return json.dumps(body)


@pytest.mark.parametrize(
    ("code", "body", "denied"),
    [
        pytest.param(
            403,
            status(
                'jobs.batch is forbidden: User "system:serviceaccount:m:op" cannot create resource "jobs" '
                'in API group "batch" in the namespace "work"'
            ),
            False,
            id="RBAC refuses the caller: fixed by a grant, retried",
        ),
        pytest.param(
            403,
            status('jobs.batch "train-1" is forbidden: User "op" cannot create resource "jobs" ...: no RBAC policy'),
            False,
            id="an authorizer's refusal with a reason appended is still authorization",
        ),
        pytest.param(
            403,
            status(
                "jobs.batch \"train-1\" is forbidden: ValidatingAdmissionPolicy 'trusted' with binding "
                "'trusted' denied request: images must come from registry.trusted"
            ),
            True,
            id="a ValidatingAdmissionPolicy with reason Forbidden never passes",
        ),
        pytest.param(
            403,
            status('admission webhook "policy.example.com" denied the request: privileged containers are not allowed'),
            True,
            id="a webhook's denial never passes",
        ),
        pytest.param(
            403,
            status(
                'jobs.batch "train-1" is forbidden: unable to create new content in namespace work because it is '
                "being terminated",
                [{"reason": "NamespaceTerminating", "message": "namespace work is being terminated", "field": ""}],
            ),
            False,
            id="a terminating namespace passes: it is made again",
        ),
        pytest.param(
            403,
            status(
                'jobs.batch "train-1" is forbidden: exceeded quota: jobs, requested: count/jobs.batch=1, '
                "used: count/jobs.batch=10, limited: count/jobs.batch=10"
            ),
            False,
            id="exceeded quota passes as other jobs finish",
        ),
        pytest.param(403, "not json", False, id="a body that is no Status is not taken as a denial"),
        pytest.param(422, status("Job.batch is invalid"), False, id="only 403 answers are judged here"),
    ],
)
def test_admission_denied(code: int, body: str, denied: bool) -> None:
    assert admission_denied(code, body) is denied


def test_the_newest_warning_is_the_members_word() -> None:
    events = [
        {"type": "Warning", "reason": "FailedCreate", "message": "old", "lastTimestamp": "2026-12-07T10:00:00Z"},
        {"type": "Normal", "reason": "SuccessfulCreate", "message": "ok", "lastTimestamp": "2026-12-07T11:00:00Z"},
        {"type": "Warning", "reason": "FailedCreate", "message": "new", "lastTimestamp": "2026-12-07T10:30:00Z"},
    ]
    assert newest_warning(events) == "FailedCreate: new"
    assert newest_warning([]) == ""
