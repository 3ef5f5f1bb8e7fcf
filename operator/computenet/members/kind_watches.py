"""Which workload kinds the operator watches in a member: the ones the member serves (pure).

A watch of a kind whose CRD the member does not serve answers 404 on every try, and retrying it
for ever only fills the log (about once a minute per kind and member). So the hub's workloads
are watched, beside the Jobs every member runs, for the kinds the member's API discovery lists
(``MemberConnection.workload_kinds``, shown as the identifier's ``status.workloadKinds``): a watch
starts when its kind appears and stops when it goes (a CRD removed takes its objects with it).
Until discovery has answered, the built-in kinds every API server serves (apps/v1 Deployment and
StatefulSet, v1 Pod) are watched; a CRD-served kind waits for discovery, a second or so.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from computenet.workloads.kinds import JOB, Kind

BUILT_IN_GROUPS = frozenset({"", "apps", "batch"})
"""API groups every kube-apiserver serves: the core group, apps/v1 and batch/v1 are enabled by
default (k8s.io/kubernetes v1.36.3 pkg/controlplane, ``DefaultAPIResourceConfigSource``)."""


@dataclass(frozen=True)
class WatchChanges:
    """The kinds whose watches are to start and to stop, each sorted by plural."""

    start: tuple[Kind, ...] = ()
    stop: tuple[Kind, ...] = ()


def kinds_to_watch(kinds: Iterable[Kind], served: Collection[str] | None) -> frozenset[Kind]:
    """Of ``kinds``, those to watch beside the Jobs (always watched on their own).

    ``served``: the member's kinds as ``Kind.key`` strings, or None while its discovery has not
    answered (then the built-in kinds).
    """
    return frozenset(
        k for k in kinds if k is not JOB and (k.key in served if served is not None else k.group in BUILT_IN_GROUPS)
    )


def watch_changes(wanted: Collection[Kind], running: Collection[Kind]) -> WatchChanges:
    """What to start and stop so that the running watches are the wanted ones."""

    def order(ks: Iterable[Kind]) -> tuple[Kind, ...]:
        return tuple(sorted(ks, key=lambda k: (k.plural, k.api_version)))

    return WatchChanges(
        start=order(k for k in wanted if k not in running), stop=order(k for k in running if k not in wanted)
    )
