"""The workload kinds a task may carry, and what the operator needs to know of each one.

``name_max`` is the longest name the operator gives an object of the kind such that every name the
kind's controller derives from it stays valid (DNS-1123 labels of at most 63 characters,
``IsDNS1123Label`` of k8s.io/apimachinery v0.36.3):

* Job: ``<name>-<index>`` hostnames of an Indexed Job's pods and the ``job-name`` label: 58 (see
  ``dispatch/naming.JOB_NAME_MAX``).
* StatefulSet: the ``controller-revision-hash`` label ``<name>-<10-character hash>`` (apps
  controller history, k8s.io/kubernetes v1.36.3 pkg/controller/history): 52.
* Deployment: a DNS subdomain, whose ReplicaSets are ``<name>-<up to 10-character hash>``: kept to 52
  like a StatefulSet's.
* JobSet: child Jobs ``<jobset>-<replicatedJob>-<index>`` must themselves fit a Job name: the
  operator keeps the JobSet name short (40) and the replicated Job names are the user's.
* LeaderWorkerSet: pods ``<name>-<group>-<index>`` and the group's StatefulSet name: 40.
* RayCluster, RayJob: KubeRay's head and worker pod names add a generated suffix: 40.
* Pod: 63.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from computenet.workloads.declared import DeclaredRules


class WorkloadError(ValueError):
    """A workload that cannot be run: an unsupported kind, or a spec its kind's rule cannot read."""


@dataclass(frozen=True)
class Kind:
    api_version: str
    kind: str
    plural: str
    name_max: int
    serving: bool = False
    """Runs until it is removed (never Succeeded): Running while available, metered while it runs."""
    by_role: bool = False
    """Placed and rendered pod set by pod set, each role's requests read from its own pod template;
    otherwise (Job, Deployment, StatefulSet) its one pod set is ``spec.replicas`` x ``spec.resources``."""
    rules: DeclaredRules | None = field(default=None, compare=False, repr=False)
    """A kind declared on the hub (ComputeWorkloadKind): its pod sets and status rules; None for a built-in kind."""
    letter_first: bool = False
    """Its objects' names must be DNS-1035 labels (a letter first: ``IsDNS1035Label``, k8s.io/apimachinery
    v0.36.3 pkg/util/validation/validation.go), because its controller or webhook requires it: JobSet
    (sigs.k8s.io/jobset v0.10.1 pkg/webhooks/jobset_webhook.go, the child Job and pod names),
    LeaderWorkerSet (sigs.k8s.io/lws v0.7.0 pkg/webhooks/leaderworkerset_webhook.go,
    ``NameIsDNS1035Label``), RayJob and RayCluster (ray-project/kuberay ray-operator v1.5.0
    controllers/ray/utils/validation.go); and every declared kind, whose controller may make such
    objects (a TrainJob makes a JobSet of its name)."""

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def key(self) -> str:
        """How the kind is named where a member's kinds are listed: ``"<apiVersion> <kind>"``."""
        return f"{self.api_version} {self.kind}"

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def group_resource(self) -> str:
        """The kind's resource and group as Kubernetes prints a GroupResource: ``trainjobs.trainer.kubeflow.org``.

        ``jobs.batch``, ``pods`` (the core group has no name); the format of
        ``schema.GroupResource.String`` (k8s.io/apimachinery v0.36.3 pkg/runtime/schema/group_version.go).
        """
        return f"{self.plural}.{self.group}" if self.group else self.plural


KINDS: dict[tuple[str, str], Kind] = {
    (k.api_version, k.kind): k
    for k in (
        Kind("batch/v1", "Job", "jobs", 58),
        Kind("jobset.x-k8s.io/v1alpha2", "JobSet", "jobsets", 40, by_role=True, letter_first=True),
        Kind(
            "leaderworkerset.x-k8s.io/v1",
            "LeaderWorkerSet",
            "leaderworkersets",
            40,
            serving=True,
            by_role=True,
            letter_first=True,
        ),
        Kind("ray.io/v1", "RayJob", "rayjobs", 40, by_role=True, letter_first=True),
        Kind("ray.io/v1", "RayCluster", "rayclusters", 40, serving=True, by_role=True, letter_first=True),
        Kind("apps/v1", "Deployment", "deployments", 52, serving=True),
        Kind("apps/v1", "StatefulSet", "statefulsets", 52, serving=True),
        Kind("v1", "Pod", "pods", 63, by_role=True),
    )
}
JOB = KINDS[("batch/v1", "Job")]
DEPLOYMENT = KINDS[("apps/v1", "Deployment")]
STATEFULSET = KINDS[("apps/v1", "StatefulSet")]
POD = KINDS[("v1", "Pod")]


_DECLARED: dict[tuple[str, str], Kind] = {}
"""The kinds declared on the hub (ComputeWorkloadKinds), as this process last read them."""


def declare(kind: Kind) -> None:
    """Make ``kind`` (with ``rules``) a supported kind, replacing an earlier declaration of it.

    A built-in kind cannot be declared: raises WorkloadError.
    """
    key = (kind.api_version, kind.kind)
    if key in KINDS:
        raise WorkloadError(f"{kind.key} is a built-in kind: it cannot be declared")
    _DECLARED[key] = kind


def withdraw(api_version: str, kind: str) -> None:
    """Forget a declared kind (its ComputeWorkloadKind was deleted or became invalid)."""
    _DECLARED.pop((api_version, kind), None)


def current(kind: Kind) -> Kind:
    """The latest declaration of ``kind`` (its rules change when its ComputeWorkloadKind does); itself otherwise."""
    return _DECLARED.get((kind.api_version, kind.kind), kind) if kind.rules is not None else kind


def known_kinds() -> tuple[Kind, ...]:
    """Every supported kind: the built-in ones, then those declared."""
    return (*KINDS.values(), *_DECLARED.values())


def _find(key: tuple[str, str]) -> Kind | None:
    return KINDS.get(key) or _DECLARED.get(key)


def kind_named(api_version: str | None, kind: str | None) -> Kind:
    """The kind of a remote reference (``RemoteRef.api_version``, ``.kind``); a Job when they are absent."""
    return _find((api_version or "", kind or "")) or JOB


def kind_of(workload: Mapping[str, Any]) -> Kind:
    """The supported kind of ``workload`` (``{apiVersion, kind, ...}``); raises :class:`WorkloadError`."""
    key = (str(workload.get("apiVersion") or ""), str(workload.get("kind") or ""))
    found = _find(key)
    if found is None:
        supported = ", ".join(k.key for k in known_kinds())
        raise WorkloadError(
            f"{key[0]} {key[1]} is not a supported workload kind (supported: {supported}; "
            "a ComputeWorkloadKind declares another)"
        )
    return found


def served_kinds(discovered: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
    """The supported kinds a member serves, as sorted ``Kind.key`` strings.

    ``discovered`` maps a group version (``"jobset.x-k8s.io/v1alpha2"``, ``"v1"``) to the kinds its
    discovery document lists (``APIResourceList.resources[].kind``); group versions the member does
    not serve are absent.
    """
    return tuple(sorted(k.key for k in known_kinds() if k.kind in set(discovered.get(k.api_version, ()))))


DISCOVERED_GROUP_VERSIONS: tuple[str, ...] = tuple(sorted({k.api_version for k in KINDS.values()}))
"""The group versions whose discovery tells which built-in kinds a member serves."""


def discovered_group_versions() -> tuple[str, ...]:
    """The group versions whose discovery tells which supported kinds, built-in or declared, a member serves."""
    return tuple(sorted({k.api_version for k in known_kinds()}))
