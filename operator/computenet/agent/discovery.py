"""Which version of each enabled declared kind the member serves: its API discovery, as the agent reads it.

Any authenticated user may read discovery (the system:discovery ClusterRole), so the agent needs no
rule for it. The group list gives each group's preferred version; that version's resource list
gives the kind of the resource (``APIResourceList.resources[].kind``); a group whose preferred
version lacks the resource is searched in its other versions, in the server's order of preference.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from kubernetes.aio.client import ApiClient, ApisApi, CustomObjectsApi

from computenet.agent.kinds import Resource

__all__ = ["discover", "resolve"]

_TIMEOUT_S = 10


def resolve(
    group_resources: Collection[str],
    versions: Mapping[str, Sequence[str]],
    resources: Mapping[str, Mapping[str, str]],
) -> dict[str, Resource]:
    """The served resource of each group resource (pure).

    ``versions``: each served group's versions, preferred first. ``resources``: for each group version
    read, its resources' kinds by resource name. A group resource served in none is left out.
    """
    out: dict[str, Resource] = {}
    for gr in sorted(group_resources):
        plural, _, group = gr.partition(".")
        for version in versions.get(group, ()):
            gv = f"{group}/{version}"
            kind = resources.get(gv, {}).get(plural)
            if kind:
                out[gr] = Resource(gv, kind, plural)
                break
    return out


async def discover(client: ApiClient, group_resources: Collection[str]) -> dict[str, Resource]:
    """Read the member's discovery for these group resources (``trainjobs.trainer.kubeflow.org``).

    Raises what the client raises when the member does not answer.
    """
    groups = await ApisApi(client).get_api_versions(_request_timeout=_TIMEOUT_S)
    wanted = {gr.partition(".")[2] for gr in group_resources}
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
    return resolve(group_resources, versions, resources)
