"""Whether a copy of a ConfigMap, Secret or ResourceClaimTemplate can be made, kept, shared or must wait (pure).

A task's ConfigMaps (and the Secrets it names, and its ResourceClaimTemplates) travel with its
workload into the member's target namespace, and the workload owns them there, so that the member's
garbage collector removes them with it (docs/workloads.md, "What travels with the workload"). Two
tasks of one hub namespace often need the same object; a finished Job keeps its copy until its task
is deleted. :func:`decide` says what to do with the object of that name the member already holds:

========  =================================================================================
CREATE    nothing of that name is there.
UPDATE    it is this task's own copy and no other task's workload owns it: refreshed in place
          (a ResourceClaimTemplate whose spec changed is replaced, its spec being immutable).
SHARE     it is this hub's copy from the same hub namespace with the same content: kept as it is,
          and the workload becomes one more owner (:func:`with_owner`); the member removes it
          when its last owner goes.
WAIT      it is this hub's copy from the same hub namespace, another task's, and its content
          differs (the source changed between the two tasks): never changed under that task; this
          one waits, retried, until the older copy is gone.
REFUSE    it is not a copy of this hub from this hub namespace (the member's own, another hub's,
          another namespace's): never overwritten, never shared.
========  =================================================================================

The member's garbage collector deletes a dependent only when none of its owners exists any more: an
owner that still exists ("solid") keeps it, and references to owners that are gone ("dangling") are
removed from it (k8s.io/kubernetes v1.36.3 ``pkg/controller/garbagecollector/garbagecollector.go``,
``attemptToDeleteItem``). That is what makes a shared copy safe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from computenet.api.constants import HUB_LABEL, MANAGED_BY_LABEL, TASK_NAMESPACE_LABEL, TASK_UID_LABEL
from computenet.dispatch.naming import names_task

CONTENT_KEYS = ("data", "binaryData", "type", "immutable", "spec")
"""What a copy carries of its source: a ConfigMap's and Secret's data, a ResourceClaimTemplate's spec."""


class Step(StrEnum):
    """What :func:`decide` says to do with the member's object of a copy's name."""

    CREATE = "create"
    UPDATE = "update"
    SHARE = "share"
    WAIT = "wait"
    REFUSE = "refuse"


def _labels(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _norm(value: Any) -> Any:
    return None if value in (None, {}, [], False, "") else value


def same_content(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether the member's object carries what `wanted` would (``CONTENT_KEYS``; absent, empty and false alike)."""
    return all(_norm(current.get(k)) == _norm(wanted.get(k)) for k in CONTENT_KEYS)


def decide(current: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> Step:
    """What to do with `current`, the member's object of the name of the copy `wanted` (None: there is none).

    `wanted` carries the workload's origin labels of the ``computenet.io/`` prefix
    (``dispatch.naming.origin_labels``; a staging Secret's also name their manager,
    ``computenet-staging``, which `current` must name alike); `current` is
    the object as the member serves it (labels, ``ownerReferences``, content). Owners named as
    :func:`~computenet.dispatch.naming.job_name` names this task's workloads (an earlier attempt's)
    are this task's own.
    """
    if current is None:
        return Step.CREATE
    have, want = _labels(current), _labels(wanted)
    theirs = have.get(TASK_UID_LABEL)
    if (
        not want.get(HUB_LABEL)
        or have.get(MANAGED_BY_LABEL) != want.get(MANAGED_BY_LABEL)
        or have.get(HUB_LABEL) != want.get(HUB_LABEL)
        or have.get(TASK_NAMESPACE_LABEL) != want.get(TASK_NAMESPACE_LABEL)
        or not theirs
    ):
        return Step.REFUSE
    mine = str(want.get(TASK_UID_LABEL) or "")
    owners = (current.get("metadata") or {}).get("ownerReferences") or ()
    others = [o for o in owners if not (isinstance(o, Mapping) and names_task(str(o.get("name") or ""), mine))]
    if theirs == mine and not others:
        return Step.UPDATE
    if same_content(current, wanted):
        return Step.SHARE
    return Step.WAIT


def with_owner(owners: Sequence[Mapping[str, Any]], owner: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """`owners` with `owner` added (an ownerReference: apiVersion, kind, name, uid); None when it is there already."""
    if any(o.get("uid") == owner.get("uid") for o in owners):
        return None
    return [*(dict(o) for o in owners), dict(owner)]
