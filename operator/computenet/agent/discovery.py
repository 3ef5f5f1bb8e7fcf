"""Which of its enabled kinds an agent's member serves: its API discovery, as the agent reads it.

Any authenticated user may read discovery (the system:discovery ClusterRole), so the agent needs no
rule for it. The group list gives each group's versions, preferred first; each version's resource
list gives the kind of each resource (``APIResourceList.resources[].kind``). What the agent makes of
them (:func:`resolve`, pure):

* the kinds it runs in its member, as ``"<apiVersion> <kind>"``, for its report: the built-in kinds
  by the rule the hub applies to a push member's discovery (``workloads.kinds.served_kinds``), of
  those the provider enabled and the Job; a declared kind in every version that serves its resource
  (a work names one version, and the hub's declaration may name any);
* the version to watch each enabled kind in when no work names one: a built-in kind's own version,
  a declared kind's preferred version (searched in the other versions, in the server's order of
  preference, where the preferred one lacks the resource).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kubernetes.aio.client import ApiClient, ApisApi, CustomObjectsApi

from computenet.agent.kinds import AgentKinds, Resource
from computenet.workloads.kinds import JOB, served_kinds

__all__ = ["MemberKinds", "discover", "resolve"]

_TIMEOUT_S = 10


@dataclass(frozen=True)
class MemberKinds:
    """What the member's discovery says of the agent's kinds."""

    keys: tuple[str, ...] = ()
    """The kinds the agent runs there (the Job's, each enabled one the member serves), sorted ``Kind.key`` strings."""
    resources: Mapping[str, Resource] = field(default_factory=dict)
    """Each enabled kind besides the Job's that the member serves, by group resource, in the version to watch."""


def resolve(
    kinds: AgentKinds,
    versions: Mapping[str, Sequence[str]],
    resources: Mapping[str, Mapping[str, str]],
) -> MemberKinds:
    """What the member serves of ``kinds`` (pure).

    ``versions``: each served group's versions, preferred first. ``resources``: for each group version
    read, its resources' kinds by resource name. The core group (v1 Pods) is always served.
    """
    discovered: dict[str, list[str]] = {"v1": ["Pod"]}  # the core group is always served
    discovered.update({gv: list(listed.values()) for gv, listed in resources.items()})
    enabled = {JOB.key, *(k.key for k in kinds.built_in)}
    keys = {k for k in served_kinds(discovered) if k in enabled}
    watched = {k.group_resource: Resource.of(k) for k in kinds.built_in if k.key in keys}
    for gr in sorted(kinds.declared):
        plural, _, group = gr.partition(".")
        for version in versions.get(group, ()):
            gv = f"{group}/{version}"
            kind = resources.get(gv, {}).get(plural)
            if kind:
                keys.add(f"{gv} {kind}")
                watched.setdefault(gr, Resource(gv, kind, plural))
    return MemberKinds(tuple(sorted(keys)), watched)


async def discover(client: ApiClient, kinds: AgentKinds) -> MemberKinds:
    """Read the member's discovery for the Job's kind and the enabled ones.

    Raises what the client raises when the member does not answer.
    """
    groups = await ApisApi(client).get_api_versions(_request_timeout=_TIMEOUT_S)
    wanted = {k.group for k in (JOB, *kinds.built_in) if k.group} | {gr.partition(".")[2] for gr in kinds.declared}
    versions: dict[str, list[str]] = {}
    for g in groups.groups or ():
        if g.name not in wanted:
            continue
        preferred = g.preferred_version.version if g.preferred_version is not None else None
        listed = [v.version for v in g.versions or ()]
        versions[g.name] = sorted(listed, key=lambda v: v != preferred)
    custom = CustomObjectsApi(client)
    resources: dict[str, dict[str, str]] = {}
    for group, served in versions.items():
        for version in served:
            listed_resources = await custom.get_api_resources(group, version, _request_timeout=_TIMEOUT_S)
            resources[f"{group}/{version}"] = {r.name: r.kind for r in listed_resources.resources or ()}
    return resolve(kinds, versions, resources)
