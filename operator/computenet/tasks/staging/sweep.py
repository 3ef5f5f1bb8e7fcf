"""Which attempts' staging objects a member may still hold after they ended, and which can go. Pure.

An attempt's mover Jobs and Secret copies are removed when it ends (the lifecycle's ``Release``,
``Stager.clean``). An operator that restarts between the end and that removal, or a member that did
not answer it, would leave them: the orphan sweep finds them by their labels and removes those of
attempts that are no longer live. An attempt is seen through what carries its labels: a mover Job
(``app.kubernetes.io/managed-by=computenet-staging``, this hub's label), or the attempt's own
workload (the Secret copies it mounts carry the same labels). Secrets themselves are not listed:
the operator may not list a member's Secrets, only remove them by label.

An attempt is **live** while its task is Dispatching or Running it (``status.attempt``), and the task
is not being deleted; **ended** when the task moved on (another attempt, a finished phase) or is
gone from the hub; **unknown** when the book does not hold the task, which the hub itself then
answers (never inferred from memory alone, as for the workloads the sweep removes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from computenet.api.constants import ATTEMPT_LABEL, TASK_NAME_LABEL, TASK_NAMESPACE_LABEL, TASK_UID_LABEL
from computenet.dispatch.naming import label_value
from computenet.tasks.lifecycle import ACTIVE
from computenet.tasks.record import TaskRecord
from computenet.tasks.staging.manifests import staging_selector

__all__ = ["StagedAttempt", "attempt_of", "state"]

State = Literal["live", "ended", "unknown"]


@dataclass(frozen=True)
class StagedAttempt:
    """One attempt whose staging objects may be in ``namespace`` of a member; its labels' values."""

    namespace: str
    task_uid: str
    attempt: str
    task_namespace: str = ""
    task_name: str = ""

    @property
    def selector(self) -> str:
        """The label selector of this attempt's mover Jobs and Secret copies (``staging_selector``)."""
        return staging_selector(self.task_uid, self.attempt)


def attempt_of(namespace: str, labels: Mapping[str, str]) -> StagedAttempt | None:
    """The attempt an object's origin labels name, or None when they do not name one."""
    uid, attempt = labels.get(TASK_UID_LABEL), labels.get(ATTEMPT_LABEL)
    if not uid or not attempt:
        return None
    return StagedAttempt(namespace, uid, attempt, labels.get(TASK_NAMESPACE_LABEL, ""), labels.get(TASK_NAME_LABEL, ""))


def state(seen: StagedAttempt, record: TaskRecord | None) -> State:
    """Whether the attempt ``seen`` is still live, given the task's record in the book (None: not there)."""
    if record is None:
        return "unknown"
    live = record.phase in ACTIVE and not record.deleting and label_value(str(record.attempt)) == seen.attempt
    return "live" if live else "ended"
