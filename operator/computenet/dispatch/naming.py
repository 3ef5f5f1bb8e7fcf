"""Deterministic names and origin labels for remote objects.

The name of a task's Job depends only on the task and the attempt, so a retried or restarted
dispatch creates the same name again: the member answers 409 and the operator adopts the Job it
already made instead of creating a second one. Labels say where a Job came from (hub, task UID,
attempt) so a restarted operator, the failover logic and the orphan sweep can all find it.
"""

from __future__ import annotations

import hashlib
import re

from computenet.api.constants import (
    ATTEMPT_LABEL,
    HUB_LABEL,
    IDENTIFIER_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    TASK_NAME_LABEL,
    TASK_NAMESPACE_LABEL,
    TASK_UID_LABEL,
)

_MAX_NAME = 63  # Job names end up in pod labels (job-name), which are limited to 63 characters
_LABEL_VALUE = re.compile(r"[^A-Za-z0-9._-]")


def job_name(task_name: str, task_uid: str, attempt: int) -> str:
    """`<task name>-<8 hex of the uid>-<attempt>`, cut so the whole stays a valid 63-character name."""
    digest = hashlib.sha256(task_uid.encode()).hexdigest()[:8]
    suffix = f"-{digest}-{attempt}"
    stem = task_name[: _MAX_NAME - len(suffix)].rstrip("-.")
    return f"{stem}{suffix}"


def label_value(text: str) -> str:
    """A label value (63 characters, alphanumeric ends) that keeps as much of `text` as fits."""
    clean = _LABEL_VALUE.sub("-", text)[:63]
    return clean.strip("-._")


def origin_labels(hub: str, namespace: str, name: str, uid: str, attempt: int, identifier: str) -> dict[str, str]:
    return {
        MANAGED_BY_LABEL: MANAGED_BY,
        HUB_LABEL: label_value(hub),
        TASK_NAMESPACE_LABEL: label_value(namespace),
        TASK_NAME_LABEL: label_value(name),
        TASK_UID_LABEL: uid,
        ATTEMPT_LABEL: str(attempt),
        IDENTIFIER_LABEL: label_value(identifier),
    }


def hub_selector(hub: str) -> str:
    """Label selector of every remote object this hub created."""
    return f"{MANAGED_BY_LABEL}={MANAGED_BY},{HUB_LABEL}={label_value(hub)}"
