"""Deterministic names and origin labels for remote objects.

The name of a task's Job depends only on the task (name and UID) and the attempt, so a retried or
restarted dispatch creates the same name again: the member answers 409 and the operator adopts the
Job it already made instead of creating a second one. Labels say where a Job came from (hub, task
UID, attempt) so a restarted operator, the failover logic and the orphan sweep can all find it.

The rules a Job name must meet, from Kubernetes v1.36.3:

* ``k8s.io/kubernetes@v1.36.3/pkg/apis/batch/validation/validation.go`` ``ValidateJob``: for an
  Indexed Job (every gang, ``replicas > 1``) ``"<job name>-<completions-1>"`` must pass
  ``IsDNS1123Label`` ("will not able to create pod with invalid DNS label"), because the job
  controller (``pkg/controller/job/job_controller.go``) sets each pod's ``spec.hostname`` to
  ``"<job name>-<index>"`` and ``pkg/apis/core/validation`` validates a hostname as a DNS-1123 label.
* ``IsDNS1123Label`` (``k8s.io/apimachinery@v0.36.3/pkg/util/validation/validation.go``): at most 63
  characters of ``[a-z0-9]([-a-z0-9]*[a-z0-9])?``, so no dots.
* The Job's pods carry the Job name as the value of the ``job-name`` label: at most 63 characters.

ComputeTask names are DNS subdomains (up to 253 characters, dots allowed), so a Job name is not the
task name: it is ``<stem>-<8 hex of sha256(task UID)>-<attempt>``, where the stem is the task name
with dots turned into '-' and cut to leave room for the hash, the attempt, and the longest index
suffix any gang can have (``-9999`` for :data:`~computenet.api.task.MAX_REPLICAS` replicas): at most
:data:`JOB_NAME_MAX` = 58 characters, whatever the replicas. The hash and the attempt are never cut,
so two tasks, or two attempts of one task, never share a name (up to a 32-bit hash collision between
two tasks with the same stem in one member namespace, which the member reports as a name owned by
someone else). A task name that already fits, without dots, keeps the name earlier versions gave it.
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
from computenet.api.task import MAX_REPLICAS

__all__ = [
    "DNS1123_LABEL_MAX",
    "JOB_NAME_MAX",
    "LABEL_VALUE_MAX",
    "hub_selector",
    "is_dns1123_label",
    "is_label_value",
    "job_name",
    "label_value",
    "names_task",
    "origin_labels",
]

DNS1123_LABEL_MAX = 63
LABEL_VALUE_MAX = 63
JOB_NAME_MAX = DNS1123_LABEL_MAX - len(f"-{MAX_REPLICAS - 1}")
"""Longest Job name: the largest Indexed pod hostname, ``<name>-<MAX_REPLICAS-1>``, stays a DNS label."""

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_NOT_IN_LABEL_VALUE = re.compile(r"[^A-Za-z0-9._-]")
_NOT_IN_DNS_LABEL = re.compile(r"[^a-z0-9-]")
_HASH_HEX = 8


def is_dns1123_label(text: str) -> bool:
    """``IsDNS1123Label`` of apimachinery v0.36.3: 1-63 of ``[a-z0-9-]``, alphanumeric at both ends."""
    return len(text) <= DNS1123_LABEL_MAX and _DNS1123_LABEL.fullmatch(text) is not None


def is_label_value(text: str) -> bool:
    """``IsLabelValue`` of apimachinery v0.36.3 (``pkg/api/validate/content/kube.go``); empty is valid."""
    return len(text) <= LABEL_VALUE_MAX and _LABEL_VALUE.fullmatch(text) is not None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_HEX]


def job_name(task_name: str, task_uid: str, attempt: int, limit: int = JOB_NAME_MAX, letter_first: bool = False) -> str:
    """``<stem>-<8 hex of the uid>-<attempt>``: a DNS label of at most ``limit`` characters.

    ``"train.v2"``, uid ``u``, attempt 0 -> ``"train-v2-<hash>-0"``. The same arguments always give
    the same name. ``attempt`` is a status counter (0 or more, at most 2^63-1 in the API). ``limit``
    is the longest name of the workload's kind (``workloads.kinds.Kind.name_max``; a Job's is
    :data:`JOB_NAME_MAX`). ``letter_first`` (``Kind.letter_first``): the name is also a DNS-1035
    label, so a stem that does not start with a letter gets ``t-`` in front (``"9js"`` ->
    ``"t-9js-<hash>-0"``).
    """
    suffix = f"-{_digest(task_uid)}-{attempt}"
    room = limit - len(suffix)
    stem = _NOT_IN_DNS_LABEL.sub("-", task_name.lower())[:room].strip("-") or "task"
    if letter_first and not "a" <= stem[0] <= "z":
        stem = f"t-{stem}"[:room].strip("-")
    return f"{stem}{suffix}"


def names_task(name: str, task_uid: str) -> bool:
    """Whether `name` is one :func:`job_name` gives task `task_uid` (any attempt, any stem) (pure).

    ``names_task(job_name("train", "u", 3), "u")`` is True; a name of another task is False (up to the
    32-bit hash collision the module docstring describes).
    """
    return re.search(rf"-{_digest(task_uid)}-[0-9]+$", name) is not None


def label_value(text: str) -> str:
    """A valid label value for any text: the text itself when it is one, else a readable, distinct stand-in.

    A text that is not a label value (too long, or with characters labels cannot hold) becomes as
    much of it as fits, with other characters as '-', plus ``-<8 hex of its sha256>``, so that two
    texts cut to the same prefix (two long hub ids, two long task names) stay apart.
    """
    if is_label_value(text):
        return text
    hashed = _digest(text)
    stem = _NOT_IN_LABEL_VALUE.sub("-", text)[: LABEL_VALUE_MAX - 1 - _HASH_HEX].strip("-._")
    return f"{stem}-{hashed}" if stem else hashed


def origin_labels(hub: str, namespace: str, name: str, uid: str, attempt: int, identifier: str) -> dict[str, str]:
    """The labels that tie a remote object to its hub, task, attempt and identifier (all valid values)."""
    return {
        MANAGED_BY_LABEL: MANAGED_BY,
        HUB_LABEL: label_value(hub),
        TASK_NAMESPACE_LABEL: label_value(namespace),
        TASK_NAME_LABEL: label_value(name),
        TASK_UID_LABEL: label_value(uid),
        ATTEMPT_LABEL: label_value(str(attempt)),
        IDENTIFIER_LABEL: label_value(identifier),
    }


def hub_selector(hub: str) -> str:
    """Label selector of every remote object this hub created."""
    return f"{MANAGED_BY_LABEL}={MANAGED_BY},{HUB_LABEL}={label_value(hub)}"
