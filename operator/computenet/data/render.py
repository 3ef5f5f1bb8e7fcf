"""The mover's commands and the pods' init containers for a staging plan.

A mover Job runs :func:`copy_argv` in the destination member; a workload's pods get one init
container per input running :func:`fetch_argv` into the task's data volume (an emptyDir), and each
main container mounts that input (the volume's ``in-<index>`` entry) at the input's mount path.
Store keys reach both as Secret volumes under :data:`CREDENTIALS_ROOT`, one directory per Secret
(the files AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). Pure: plain dicts in the shape of the
Kubernetes core/v1 Container and Volume.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from computenet.data.staging import Copy, Fetch, StagingPlan

__all__ = [
    "COMMAND",
    "CREDENTIALS_ROOT",
    "DATA_ROOT",
    "DATA_VOLUME",
    "StageIn",
    "copy_argv",
    "fetch_argv",
    "stage_in",
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
