"""The objects staging puts in a member, and the data steps it adds to a workload's pods. Pure.

For one attempt of a task in one member:

- a copy of each store Secret the transfers need (the task's ``credentials`` Secrets from its
  namespace, the regions' store Secrets from the operator's), keeping only the two keys, named
  ``<workload>-s<8 hex>`` after the hub Secret it copies;
- a mover Job per copy of the plan, ``<workload>-m<input>``: the operator's image running
  ``computenet stage copy`` with the store Secrets mounted, its outcome in its termination message;
- in every pod template of the workload: the data volume, the init containers that fetch the
  inputs, the sidecars that push the outputs, and the main containers' mounts.

Both kinds of object carry the task's origin labels (task, attempt, identifier, hub) but
``app.kubernetes.io/managed-by: computenet-staging`` and ``computenet.io/staging``, so the workload
watch never takes them for the task's workload, and the operator removes them by label when the
attempt ends (the Secrets are also owned by the workload, so the member's garbage collector removes
them with it).

The mover Job's failure rules (``podFailurePolicy``, ``k8s.io/api@v0.36.3/batch/v1/types.go``): exit
code 1 (the store refused, a checksum mismatch) or 2 (bad arguments) fails the Job at once, since
running again will not help; exit code 3 (past ``--deadline``) and a lost pod are retried up to
``backoffLimit`` times, each run resuming the multipart upload.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from computenet.api.constants import ATTEMPT_LABEL, MANAGED_BY_LABEL, MANAGED_BY_STAGING, STAGING_LABEL, TASK_UID_LABEL
from computenet.data.render import (
    DATA_VOLUME,
    OUTPUT_PUSH_DEADLINE_S,
    TERMINATION_LOG,
    StageIn,
    copy_argv,
    credentials_dir,
)
from computenet.data.staging import Copy
from computenet.workloads.kinds import kind_of
from computenet.workloads.templates import role_templates

__all__ = [
    "KEYS",
    "MOVER_DEADLINE_S",
    "OUTPUTS",
    "RESULT_PATH",
    "add_data_steps",
    "mover_job",
    "mover_name",
    "secret_copy",
    "secret_name",
    "staging_labels",
    "staging_selector",
]

KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
"""The keys a store Secret holds; nothing else of it is copied."""
MOVER_DEADLINE_S = 3600
"""``--deadline`` of one mover run; the Job may run ``BACKOFF_LIMIT + 1`` of them."""
BACKOFF_LIMIT = 3
RESULT_PATH = TERMINATION_LOG
"""Where the mover writes its outcome: the container's default terminationMessagePath."""
OUTPUTS = "outputs"
"""The value of ``computenet.io/staging`` on the pods whose sidecars push outputs."""
MOVER_REQUESTS = {"cpu": "250m", "memory": "256Mi"}
MOVER_LIMITS = {"memory": "512Mi"}
"""The mover holds at most twice ``--concurrency`` parts of 16 MiB in memory, plus Python and boto3."""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def mover_name(workload: str, index: int) -> str:
    """The mover Job of input ``index``: ``<workload name>-m<index>`` (a workload name is at most 58 characters)."""
    return f"{workload}-m{index}"


def secret_name(workload: str, hub_namespace: str, hub_name: str) -> str:
    """The member's copy of hub Secret ``hub_namespace/hub_name`` for this attempt: ``<workload>-s<8 hex>``."""
    return f"{workload}-s{_digest(f'{hub_namespace}/{hub_name}')}"


def staging_labels(origin: Mapping[str, str], what: str) -> dict[str, str]:
    """The workload's origin labels, marked as staging's (``what``: ``mover`` or ``credentials``)."""
    return {**origin, MANAGED_BY_LABEL: MANAGED_BY_STAGING, STAGING_LABEL: what}


def staging_selector(task_uid_label: str, attempt_label: str) -> str:
    """The label selector of one attempt's staging objects (label values as ``origin_labels`` wrote them)."""
    return f"{MANAGED_BY_LABEL}={MANAGED_BY_STAGING},{TASK_UID_LABEL}={task_uid_label},{ATTEMPT_LABEL}={attempt_label}"


def secret_copy(name: str, namespace: str, labels: Mapping[str, str], data: Mapping[str, str]) -> dict[str, Any]:
    """A Secret in the member holding the two store keys of ``data`` (base64, as read) and nothing else.

    Raises ValueError naming the missing key.
    """
    missing = [k for k in KEYS if not data.get(k)]
    if missing:
        raise ValueError(f"has no {' and no '.join(missing)}")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "data": {k: data[k] for k in KEYS},
    }


def mover_job(
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    copy: Copy,
    image: str,
    node_selector: Mapping[str, str],
    deadline_s: int = MOVER_DEADLINE_S,
) -> dict[str, Any]:
    """The batch/v1 Job that runs one copy of the plan in the member (see the module's docstring)."""
    secrets = sorted({copy.source.secret, copy.dest.secret})
    volumes = [{"name": f"store-{i}", "secret": {"secretName": s, "defaultMode": 0o400}} for i, s in enumerate(secrets)]
    mounts = [{"name": f"store-{i}", "mountPath": credentials_dir(s), "readOnly": True} for i, s in enumerate(secrets)]
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "containers": [
            {
                "name": "mover",
                "image": image,
                "command": [*copy_argv(copy, deadline_s=deadline_s), f"--result-file={RESULT_PATH}"],
                "terminationMessagePath": RESULT_PATH,
                "terminationMessagePolicy": "FallbackToLogsOnError",
                "resources": {"requests": dict(MOVER_REQUESTS), "limits": dict(MOVER_LIMITS)},
                "volumeMounts": mounts,
            }
        ],
        "volumes": volumes,
    }
    if node_selector:
        pod_spec["nodeSelector"] = dict(node_selector)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "backoffLimit": BACKOFF_LIMIT,
            "activeDeadlineSeconds": (BACKOFF_LIMIT + 1) * deadline_s + 300,
            "podFailurePolicy": {
                "rules": [
                    {"action": "FailJob", "onExitCodes": {"containerName": "mover", "operator": "In", "values": [1, 2]}}
                ]
            },
            "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec},
        },
    }


def _pod_templates(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Every pod template of a rendered workload (a Job's one, or each role's)."""
    kind = kind_of(manifest)
    spec = manifest.setdefault("spec", {})
    if kind.by_role:
        return [role.template for role in role_templates(kind, manifest, spec)]
    template: dict[str, Any] = spec.setdefault("template", {})
    return [template]


def add_data_steps(manifest: dict[str, Any], inputs: StageIn, outputs: StageIn) -> dict[str, Any]:
    """Add the data steps to every pod template of ``manifest`` (changed in place, and returned).

    Volumes (the data volume once), init containers first (the fetches, so the user's own init
    containers already see the inputs), the outputs' sidecars last (stopped first, while any sidecar of
    the user's still runs), each main container's mounts, and a termination grace period long enough
    for the outputs' push. Pods that push outputs are labelled ``computenet.io/staging: outputs``: the
    operator finds them by it when the workload ends, to read how each push went.
    """
    for pod in _pod_templates(manifest):
        if outputs.init_containers:
            meta = pod.setdefault("metadata", {})
            meta["labels"] = {**(meta.get("labels") or {}), STAGING_LABEL: OUTPUTS}
        spec = pod.setdefault("spec", {})
        volumes = list(spec.get("volumes") or [])
        names = {v.get("name") for v in volumes}
        for v in (*inputs.volumes, *outputs.volumes):
            if v["name"] not in names:
                volumes.append(dict(v))
                names.add(v["name"])
        if outputs.init_containers and DATA_VOLUME not in names:
            volumes.append({"name": DATA_VOLUME, "emptyDir": {}})
        spec["volumes"] = volumes
        spec["initContainers"] = [
            *(dict(c) for c in inputs.init_containers),
            *(spec.get("initContainers") or []),
            *(dict(c) for c in outputs.init_containers),
        ]
        for container in spec.get("containers") or []:
            container["volumeMounts"] = [
                *(container.get("volumeMounts") or []),
                *(dict(m) for m in (*inputs.mounts, *outputs.mounts)),
            ]
        if outputs.init_containers:
            grace = int(spec.get("terminationGracePeriodSeconds") or 30)
            spec["terminationGracePeriodSeconds"] = max(grace, OUTPUT_PUSH_DEADLINE_S + 30)
    return manifest
