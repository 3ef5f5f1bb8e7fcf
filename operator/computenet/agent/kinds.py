"""What an agent runs: the workload kinds and dependencies its provider enabled, and each work's kind (pure).

The provider enables kinds in the agent's chart (``workloadKinds``), and the chart grants the
agent's member identity exactly those: a built-in kind by its name (``Deployment``), a kind declared
on the hub (ComputeWorkloadKind) by its resource and group as Kubernetes prints a GroupResource
(``trainjobs.trainer.kubeflow.org``). A work of a declared kind carries what the agent needs to
follow it (``ComputeWork.spec.workloadKind``: its resource and status rules), so the agent never
reads the hub's declarations. Secrets travel to the member only where the provider allows the agent
to write them (``dependencies.secrets``); ConfigMaps and ResourceClaimTemplates always may.

A work whose kind or dependencies the agent may not run is refused with a message naming the chart
value that would allow it; the hub fails the task in those words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from computenet.workloads.declared import DeclarationError, compile_follow
from computenet.workloads.kinds import JOB, KINDS, Kind, WorkloadError

__all__ = ["AgentKinds", "Resource", "kind_watches", "parse_workload_kinds", "refusal", "work_kind"]

BUILT_IN = {k.kind: k for k in KINDS.values() if k is not JOB}
"""The built-in kinds a provider may enable by name (batch/v1 Jobs always run)."""

_GROUP_RESOURCE = re.compile(r"^[a-z][a-z0-9-]{0,62}(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?){2,}$")
"""``<plural>.<group>``: a CRD's group has at least one dot (k8s.io/apiextensions-apiserver v0.36.3
pkg/apis/apiextensions/validation/validation.go: ``should be a domain with at least one dot``)."""

DEPENDENCY_KINDS = frozenset({"ConfigMap", "Secret", "ResourceClaimTemplate"})


@dataclass(frozen=True)
class AgentKinds:
    """What this agent runs besides batch/v1 Jobs, as its provider enabled it."""

    built_in: tuple[Kind, ...] = ()
    declared: frozenset[str] = frozenset()
    """Declared kinds' group resources (``trainjobs.trainer.kubeflow.org``)."""
    secrets: bool = False
    """Whether Secrets travel into the member (its identity may write Secrets)."""

    @property
    def names(self) -> tuple[str, ...]:
        """The enabled kinds as the chart's value lists them."""
        return (*(k.kind for k in self.built_in), *sorted(self.declared))

    @property
    def group_resources(self) -> frozenset[str]:
        """Each enabled kind but the Job's as a group resource (``deployments.apps``, ``widgets.example.com``)."""
        return frozenset({*(k.group_resource for k in self.built_in), *self.declared})


def parse_workload_kinds(value: str) -> tuple[tuple[Kind, ...], frozenset[str]]:
    """The built-in kinds and declared group resources of ``--workload-kinds`` (comma-separated).

    ``"Deployment,trainjobs.trainer.kubeflow.org"``; raises ValueError naming an entry that is neither a
    built-in kind nor ``<plural>.<group>``, or that names a built-in kind's resource.
    """
    built_in: list[Kind] = []
    declared: set[str] = set()
    by_resource = {k.group_resource: k for k in BUILT_IN.values()}
    for name in (n.strip() for n in value.split(",")):
        if not name:
            continue
        if name in BUILT_IN:
            built_in.append(BUILT_IN[name])
        elif name in by_resource:
            raise ValueError(f"--workload-kinds: {name} is the built-in {by_resource[name].kind}: name it so")
        elif _GROUP_RESOURCE.match(name):
            declared.add(name)
        else:
            raise ValueError(
                f"--workload-kinds: unknown {name} (a built-in kind, one of {', '.join(sorted(BUILT_IN))}, "
                "or a declared kind as <plural>.<group>, like trainjobs.trainer.kubeflow.org)"
            )
    return tuple(dict.fromkeys(built_in)), frozenset(declared)


def work_kind(spec: Mapping[str, Any]) -> Kind:
    """The kind of a work's workload (``ComputeWork.spec`` as JSON); raises WorkloadError saying why not.

    A built-in kind by the manifest's apiVersion and kind; a declared one from ``spec.workloadKind``,
    which must name the manifest's kind.
    """
    manifest = spec.get("manifest") or {}
    key = (str(manifest.get("apiVersion") or ""), str(manifest.get("kind") or ""))
    carried = spec.get("workloadKind")
    if carried is None:
        if key == ("", ""):
            return JOB  # as a remote reference without apiVersion and kind reads (``kinds.kind_named``)
        if key in KINDS:
            return KINDS[key]
        raise WorkloadError(f"{key[0]} {key[1]} is neither a built-in kind nor described by the work's workloadKind")
    if not isinstance(carried, Mapping):
        raise WorkloadError("spec.workloadKind must be an object")
    try:
        kind = compile_follow(carried)
    except DeclarationError as e:
        raise WorkloadError(f"spec.workloadKind: {e}") from None
    if (kind.api_version, kind.kind) != key:
        raise WorkloadError(f"spec.workloadKind describes {kind.key}, not the manifest's {key[0]} {key[1]}")
    return kind


def refusal(kinds: AgentKinds, kind: Kind, dependencies: Sequence[Mapping[str, Any]]) -> str:
    """Why this agent does not run a work of ``kind`` with these ``dependencies``, naming the chart value, or ""."""
    if kind is not JOB and kind not in kinds.built_in and kind.group_resource not in kinds.declared:
        served = ", ".join(("Job", *kinds.names))
        name = kind.group_resource if kind.rules is not None else kind.kind
        return f"this agent does not run {kind.key} (it runs {served}): enable {name} in the agent's workloadKinds"
    for obj in dependencies:
        what = str(obj.get("kind") or "")
        if what not in DEPENDENCY_KINDS:
            return (
                f"the work carries a {what or 'kindless object'}: "
                "only ConfigMaps, Secrets and ResourceClaimTemplates travel"
            )
        if what == "Secret" and not kinds.secrets:
            name = (obj.get("metadata") or {}).get("name", "")
            return (
                f"this agent takes no Secrets into its member (the work carries Secret {name}): "
                "enable dependencies.secrets in the agent's chart values"
            )
    return ""


@dataclass(frozen=True)
class Resource:
    """An enabled kind's resource in one version, as the agent watches it."""

    api_version: str
    kind: str
    plural: str

    @classmethod
    def of(cls, kind: Kind) -> Resource:
        return cls(kind.api_version, kind.kind, kind.plural)

    def as_kind(self) -> Kind:
        """The built-in kind of this resource, else a declared kind's resource (the work carries its rules)."""
        return KINDS.get((self.api_version, self.kind)) or Kind(
            self.api_version, self.kind, self.plural, 63, by_role=True
        )

    @property
    def group_resource(self) -> str:
        group = self.api_version.rpartition("/")[0]
        return f"{self.plural}.{group}" if group else self.plural


def kind_watches(
    enabled: frozenset[str], wanted: Sequence[Kind], served: Mapping[str, Resource]
) -> dict[str, Resource]:
    """The watch of each enabled kind besides the Job's: in the version its works name, else as the member serves it.

    ``enabled``: group resources (``AgentKinds.group_resources``). ``wanted``: the kinds of the works held
    now (a version the works name is the one whose status their rules read; the first by name wins if
    they name several); a kind a work names is watched even where discovery does not list it, so its
    list tells for sure whether the member serves it (404) before its work is refused. ``served``: the
    enabled kinds the member's discovery lists, by group resource, for the objects of a kind no work
    names any more (an attempt the hub removed while the agent was away is deleted once it is listed).
    A kind neither named nor served is not watched: a member without its CRD costs no watch.
    """
    out: dict[str, Resource] = {}
    for kind in sorted(wanted, key=lambda k: k.api_version):
        gr = kind.group_resource
        if kind is not JOB and gr in enabled and gr not in out:
            out[gr] = Resource.of(kind)
    for gr, resource in served.items():
        if gr in enabled and gr not in out:
            out[gr] = resource
    return out
