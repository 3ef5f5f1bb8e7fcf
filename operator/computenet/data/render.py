"""The mover's commands and the pods' init containers for a staging plan.

A mover Job runs :func:`copy_argv` in the destination member; a workload's pods get one init
container per input running :func:`fetch_argv` into the task's data volume (an emptyDir), and each
main container mounts that input (the volume's ``in-<index>`` entry) at the input's mount path.
Store keys reach both as Secret volumes under :data:`CREDENTIALS_ROOT`, one directory per Secret
(the files AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). Pure: plain dicts in the shape of the
Kubernetes core/v1 Container and Volume.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from computenet.data.staging import Copy, Fetch, StagingPlan, StoreRef

__all__ = [
    "COMMAND",
    "CREDENTIALS_ROOT",
    "DATA_ROOT",
    "DATA_VOLUME",
    "OUTPUT_PUSH_DEADLINE_S",
    "TERMINATION_LOG",
    "Output",
    "StageIn",
    "copy_argv",
    "fetch_argv",
    "push_argv",
    "push_container",
    "stage_in",
    "stage_out",
]

COMMAND = ("python", "-m", "computenet", "stage")
"""How the operator's image runs the mover."""
CREDENTIALS_ROOT = "/var/run/computenet/stores"
DATA_ROOT = "/var/run/computenet/data"
DATA_VOLUME = "computenet-data"


def credentials_dir(secret: str) -> str:
    return f"{CREDENTIALS_ROOT}/{secret}"


def input_path(index: int) -> str:
    """Where input ``index`` lands in the data volume (a file, or a directory for a prefix)."""
    return f"{DATA_ROOT}/in-{index}"


def _tuning(part_mib: int, concurrency: int, deadline_s: int) -> list[str]:
    return [f"--part-size-mib={part_mib}", f"--concurrency={concurrency}", f"--deadline={deadline_s}"]


def copy_argv(copy: Copy, part_mib: int = 16, concurrency: int = 4, deadline_s: int = 3600) -> list[str]:
    """``computenet stage copy`` for one copy of the plan."""
    argv = [
        *COMMAND, "copy",
        f"--from={copy.source_uri}", f"--from-endpoint={copy.source.endpoint}",
        f"--from-credentials={credentials_dir(copy.source.secret)}",
        f"--to={copy.dest_uri}", f"--to-endpoint={copy.dest.endpoint}",
        f"--to-credentials={credentials_dir(copy.dest.secret)}",
        *_tuning(part_mib, concurrency, deadline_s),
    ]  # fmt: skip
    if copy.checksum:
        argv.append(f"--checksum={copy.checksum}")
    return argv


def fetch_argv(fetch: Fetch, part_mib: int = 16, concurrency: int = 4, deadline_s: int = 3600) -> list[str]:
    """``computenet stage fetch`` of one input into the data volume."""
    argv = [
        *COMMAND, "fetch",
        f"--from={fetch.uri}", f"--endpoint={fetch.store.endpoint}",
        f"--credentials={credentials_dir(fetch.store.secret)}",
        f"--to={input_path(fetch.index)}",
        *_tuning(part_mib, concurrency, deadline_s),
    ]  # fmt: skip
    if fetch.checksum:
        argv.append(f"--checksum={fetch.checksum}")
    return argv


def _secret_volume(secret: str, i: int) -> dict[str, Any]:
    return {"name": f"computenet-store-{i}", "secret": {"secretName": secret, "defaultMode": 0o400}}


@dataclass(frozen=True)
class StageIn:
    """What a workload's pod template gains: volumes, init containers, and the main containers' mounts."""

    volumes: tuple[dict[str, Any], ...]
    init_containers: tuple[dict[str, Any], ...]
    mounts: tuple[dict[str, Any], ...]


def stage_in(plan: StagingPlan, image: str) -> StageIn:
    """The init containers that fetch every input of ``plan`` and the mounts that show them to the pods."""
    secrets = sorted({f.store.secret for f in plan.fetches})
    volume_of = {s: f"computenet-store-{i}" for i, s in enumerate(secrets)}
    volumes = (
        {"name": DATA_VOLUME, "emptyDir": {}},
        *(_secret_volume(s, i) for i, s in enumerate(secrets)),
    )
    inits = tuple(
        {
            "name": f"computenet-stage-in-{f.index}",
            "image": image,
            "command": fetch_argv(f),
            "volumeMounts": [
                {"name": DATA_VOLUME, "mountPath": DATA_ROOT},
                {"name": volume_of[f.store.secret], "mountPath": credentials_dir(f.store.secret), "readOnly": True},
            ],
        }
        for f in plan.fetches
    )
    mounts = tuple(
        {"name": DATA_VOLUME, "mountPath": f.mount_path, "subPath": f"in-{f.index}", "readOnly": True}
        for f in plan.fetches
    )
    return StageIn(volumes, inits, mounts)


TERMINATION_LOG = "/dev/termination-log"
"""Where a mover or push writes its outcome (``--result-file``): the container's terminationMessagePath,
which the kubelet puts in the pod's status for the operator to read."""
OUTPUT_PUSH_DEADLINE_S = 1800
"""How long the outputs sidecar may push, and so how much longer than before a pod may take to stop."""


@dataclass(frozen=True)
class Output:
    """One output of the task: what the pods leave at ``mount_path`` goes to ``uri`` at ``store``."""

    index: int
    mount_path: str
    uri: str
    store: StoreRef


def output_path(index: int) -> str:
    """Where output ``index`` is in the data volume (a directory the pods write)."""
    return f"{DATA_ROOT}/out-{index}"


def push_container(index: int) -> str:
    """The name of the sidecar that pushes output ``index``."""
    return f"computenet-stage-out-{index}"


def push_argv(
    output: Output, part_mib: int = 16, concurrency: int = 4, deadline_s: int = OUTPUT_PUSH_DEADLINE_S
) -> list[str]:
    """``computenet stage push --on-termination`` of one output: waits for the pod's end, then uploads.

    Its outcome goes to the sidecar's termination message, where the operator reads it once the pod ended.
    """
    return [
        *COMMAND, "push", "--on-termination",
        f"--from={output_path(output.index)}", f"--endpoint={output.store.endpoint}",
        f"--credentials={credentials_dir(output.store.secret)}", f"--to={output.uri}",
        *_tuning(part_mib, concurrency, deadline_s), f"--result-file={TERMINATION_LOG}",
    ]  # fmt: skip


def stage_out(outputs: Sequence[Output], image: str) -> StageIn:
    """The pods' additions for ``outputs``: one native sidecar per output pushing it when the pod ends.

    A native sidecar (an init container with ``restartPolicy: Always``, Kubernetes 1.29+) keeps running
    beside the main containers and is stopped, with SIGTERM, only after they all ended
    (``k8s.io/kubernetes@v1.36.3/pkg/kubelet/kuberuntime/kuberuntime_termination_order.go``); it then
    pushes what they left, and writes how that went to its termination message (``push_argv``). The
    main containers mount ``out-<index>`` of the data volume read-write.
    """
    secrets = sorted({o.store.secret for o in outputs})
    volume_of = {s: f"computenet-out-store-{i}" for i, s in enumerate(secrets)}
    volumes = tuple({"name": volume_of[s], "secret": {"secretName": s, "defaultMode": 0o400}} for s in secrets)
    sidecars = tuple(
        {
            "name": push_container(o.index),
            "image": image,
            "restartPolicy": "Always",
            "command": push_argv(o),
            "terminationMessagePath": TERMINATION_LOG,
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "volumeMounts": [
                {"name": DATA_VOLUME, "mountPath": DATA_ROOT},
                {"name": volume_of[o.store.secret], "mountPath": credentials_dir(o.store.secret), "readOnly": True},
            ],
        }
        for o in outputs
    )
    mounts = tuple({"name": DATA_VOLUME, "mountPath": o.mount_path, "subPath": f"out-{o.index}"} for o in outputs)
    return StageIn(volumes, sidecars, mounts)
