"""Which of a member's Warning events speak of a workload: its own, and those of what its controller made.

A member that accepts a workload and refuses its pods (a ResourceQuota, PodSecurity, a
ValidatingAdmissionPolicy) says so in a ``FailedCreate`` Warning event on the object that tried to
create them. For a Job that is the Job itself; for the other kinds it is what the kind's controller
created: a Deployment's ReplicaSet, a JobSet's child Jobs, a LeaderWorkerSet's StatefulSets, a RayJob's
RayCluster. Those descendants are owned by the workload (``metadata.ownerReferences``; k8s.io/apimachinery
v0.36.3 pkg/apis/meta/v1/types.go) and named after it (``<name>-<hash>`` for a ReplicaSet,
``<jobset>-<replicatedJob>-<index>`` for a child Job, ``<lws>`` and ``<lws>-<group>`` for the
StatefulSets), which is what lets a bounded number of reads find them among a namespace's events.

Pure: events and objects are the JSON of core/v1 Event and of any object with ``metadata``. The shell
(``dispatch.remote.RemoteJobs.warnings``) lists the namespace's Warning events once, reads at most
:data:`MAX_READS` of the objects :func:`to_read` names (and, for a second level, each one's owner
named after the workload), and quotes :func:`newest_warning` of the events :func:`about` keeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_CANDIDATES = 2
"""At most this many objects other than the workload are read per look (newest event first): with one
owner each for a second level, a look is at most 1 + 2 x 2 calls."""

CHILD_PLURALS: Mapping[tuple[str, str], str] = {
    ("apps/v1", "ReplicaSet"): "replicasets",
    ("apps/v1", "StatefulSet"): "statefulsets",
    ("batch/v1", "Job"): "jobs",
    ("v1", "Pod"): "pods",
}
"""Resources of the kinds a workload kind's controller creates, beyond the workload kinds themselves."""


@dataclass(frozen=True)
class Involved:
    """An object an event or an ownerReference names: ``apiVersion``, ``kind``, ``name``, ``uid``."""

    api_version: str
    kind: str
    name: str
    uid: str


def event_time(event: Mapping[str, Any]) -> str:
    """When the event last happened, as its RFC 3339 text ("" if it carries no time): sorts in time order."""
    return str(event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp") or "")


def _warnings(events: Iterable[Any]) -> list[Mapping[str, Any]]:
    """The Warning events (an event without a type counts as one), newest first."""
    found = [e for e in events if isinstance(e, Mapping) and e.get("type", "Warning") == "Warning"]
    return sorted(found, key=event_time, reverse=True)


def newest_warning(events: Iterable[Any]) -> str:
    """``<reason>: <message>`` of the newest Warning among core/v1 Event objects; "" if none."""
    warnings = _warnings(events)
    if not warnings:
        return ""
    newest = warnings[0]
    return f"{newest.get('reason', 'Warning')}: {newest.get('message', '')}".rstrip(": ")


def involved(event: Mapping[str, Any]) -> Involved:
    """The object the event is about (its ``involvedObject``)."""
    ref = event.get("involvedObject")
    return _reference(ref if isinstance(ref, Mapping) else {})


def _reference(ref: Mapping[str, Any]) -> Involved:
    """An ``involvedObject`` or an ownerReference: both spell ``apiVersion``, ``kind``, ``name``, ``uid``."""
    return Involved(*(str(ref.get(k) or "") for k in ("apiVersion", "kind", "name", "uid")))


def named_after(name: str, workload: str) -> bool:
    """Whether a controller may have derived `name` from the workload's: the same name, or ``<workload>-...``."""
    return name == workload or name.startswith(f"{workload}-")


def to_read(events: Iterable[Any], name: str, uid: str, limit: int = MAX_CANDIDATES) -> tuple[Involved, ...]:
    """The objects, other than the workload (`name`, `uid`), whose Warnings may be the workload's.

    Those named after the workload, distinct, by their newest Warning first, at most `limit`: only
    reading each one's ownerReferences tells whether it is the workload's.
    """
    found: dict[str, Involved] = {}
    for event in _warnings(events):
        obj = involved(event)
        if obj.uid and obj.uid != uid and obj.uid not in found and named_after(obj.name, name):
            found[obj.uid] = obj
            if len(found) == limit:
                break
    return tuple(found.values())


def owners(obj: Mapping[str, Any]) -> tuple[Involved, ...]:
    """The object's owners (``metadata.ownerReferences``)."""
    refs = (obj.get("metadata") or {}).get("ownerReferences") or ()
    return tuple(_reference(r) for r in refs if isinstance(r, Mapping))


def about(events: Iterable[Any], uids: Iterable[str]) -> list[Mapping[str, Any]]:
    """The events whose ``involvedObject.uid`` is one of `uids` (the workload and its descendants)."""
    wanted = set(uids) - {""}
    return [e for e in events if isinstance(e, Mapping) and involved(e).uid in wanted]


def object_path(obj: Involved, plural: str, namespace: str) -> str:
    """The API path of a namespaced object: ``/apis/<group>/<version>/namespaces/<ns>/<plural>/<name>``."""
    group, _, version = obj.api_version.rpartition("/")
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    return f"{base}/namespaces/{namespace}/{plural}/{obj.name}"


def plural_of(obj: Involved, kinds: Sequence[tuple[str, str, str]]) -> str | None:
    """The resource of `obj`'s kind among ``(apiVersion, kind, plural)`` rows, else :data:`CHILD_PLURALS`.

    None for a kind neither knows: such an object is not read.
    """
    for api_version, kind, plural in kinds:
        if (api_version, kind) == (obj.api_version, obj.kind):
            return plural
    return CHILD_PLURALS.get((obj.api_version, obj.kind))
