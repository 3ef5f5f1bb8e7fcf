"""Task records and identifier specs for the lifecycle module tests, without a cluster."""

from __future__ import annotations

import datetime as dt
from typing import Any

from computenet.api.identifier import ComputeIdentifierSpec
from computenet.api.task import ComputeTaskSpec, ComputeTaskStatus, DispatchedResources, Placement, RemoteRef
from computenet.tasks.record import TaskRecord

CREATED = dt.datetime(2026, 11, 30, 11, 0, 0, tzinfo=dt.UTC)
IDENTIFIER = "member-1"
REMOTE = RemoteRef(identifier=IDENTIFIER, namespace="computenet-workloads", name="train-4f2a9c1e-1", uid="job-uid-1")


def spec(**extra: Any) -> ComputeTaskSpec:
    body: dict[str, Any] = {
        "resources": {"cpu": "1", "memory": "1Gi"},
        "template": {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "main", "image": "busybox", "resources": {"requests": {"cpu": 1, "memory": "1Gi"}}}
                        ]
                    }
                }
            }
        },
        **extra,
    }
    return ComputeTaskSpec.model_validate(body)


def identifier_spec(target_namespace: str = "computenet-workloads") -> ComputeIdentifierSpec:
    return ComputeIdentifierSpec.model_validate(
        {
            "uri": f"cpi://east-cloud/cn-east/{IDENTIFIER}",
            "provider": "east-cloud",
            "region": "cn-east",
            "computeClass": "ai",
            "architectures": ["amd64"],
            "connection": {
                "secretRef": {"name": "member-1-kubeconfig", "namespace": "computenet-system"},
                "targetNamespace": target_namespace,
            },
            "pricing": {"currency": "USD", "perCpuCoreHour": 3.6},
        }
    )


PLACEMENT = Placement(
    identifier=IDENTIFIER,
    score=90.0,
    resources=DispatchedResources(replicas=1, cpu="1", memory="1Gi", accelerators=0),
)


def record(phase: str | None = None, *, remote: RemoteRef | None = None, attempt: int = 1, **status: Any) -> TaskRecord:
    s = spec()
    if phase in (None, "Pending", "Offered"):
        st = ComputeTaskStatus(phase=phase, attempt=attempt - 1 if phase else 0, **status)
    else:
        st = ComputeTaskStatus(phase=phase, placement=PLACEMENT, attempt=attempt, remote=remote, **status)
    return TaskRecord(
        uid="task-uid-1",
        namespace="research",
        name="train",
        created=CREATED,
        generation=1,
        spec=s,
        template=s.template.model_dump(by_alias=True, exclude_none=True),
        status=st,
    )
