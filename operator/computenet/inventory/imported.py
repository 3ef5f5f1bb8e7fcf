"""ClusterProfiles of another cluster manager as ComputeIdentifiers: the mapping, pure.

A platform that already keeps its clusters in a ClusterProfile inventory (Open Cluster Management,
Fleet, Karmada, Clusternet...) can offer them to the pool. This module decides what identifier a
foreign profile becomes, and builds the kubeconfig that reaches it the way the Cluster Inventory API
defines: the profile's ``status.accessProviders`` entry says where the cluster is (server, CA,
extensions) and the consumer's own access-provider file says how to get credentials (an exec plugin).
The port of that choice follows sigs.k8s.io/cluster-inventory-api v0.1.2 ``pkg/access/config.go``
(``getClusterAccessorFromClusterProfile`` and ``BuildConfigFromCP``). docs/inventory.md gives the
mapping as a table.

Nothing here talks to a cluster: ``importer.py`` applies the mapping on the hub, and
``exec_credential.py`` runs the provider's plugin, since member connections take no exec users
(``members/kubeconfig.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from computenet.api.constants import ComputeClass
from computenet.inventory.model import (
    PROPERTY_COMPUTE_CLASS,
    PROPERTY_CURRENCY,
    PROPERTY_PRICE_ACCELERATOR_PREFIX,
    PROPERTY_PRICE_CPU,
    PROPERTY_PRICE_MEMORY,
    PROPERTY_PROVIDER,
    PROPERTY_REGION,
    PROPERTY_ZONE,
    AccessProvider,
    ClusterProfile,
)

REGION_PROPERTIES = (PROPERTY_REGION, "topology.kubernetes.io/region", "location")
"""Where a region is looked for, first found wins: ours, the well-known node label, the KEP's example."""
ZONE_PROPERTIES = (PROPERTY_ZONE, "topology.kubernetes.io/zone")
IMPORTED_LABEL = "computenet.io/imported-from"
"""On an identifier made from a profile: ``<namespace>.<name>`` of that profile."""
EXEC_EXTENSION = "client.authentication.k8s.io/exec"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class NotImportable(ValueError):
    """A profile that cannot become an identifier; the message says which field is missing or wrong."""


@dataclass(frozen=True)
class ExecProvider:
    """One entry of the access-provider file: a provider name and how to run its credential plugin."""

    name: str
    exec_config: Mapping[str, Any]


def load_provider_file(text: str) -> list[ExecProvider]:
    """Read the upstream access-provider file (``--clusterprofile-provider-file``), JSON.

    Shape::

        {"providers": [{"name": "google", "execConfig": {"apiVersion": "...", "command": "...", ...}}]}

    Raises NotImportable naming the entry that lacks a name or an execConfig.
    """
    try:
        raw = json.loads(text)
    except ValueError as e:
        raise NotImportable(f"the access-provider file is not JSON: {e}") from None
    found = []
    for i, entry in enumerate((raw or {}).get("providers") or ()):
        name, exec_config = entry.get("name"), entry.get("execConfig")
        if not name or not isinstance(exec_config, dict) or not exec_config.get("command"):
            raise NotImportable(f"providers[{i}] needs a name and an execConfig with a command")
        found.append(ExecProvider(name, exec_config))
    return found


def choose_access(profile: ClusterProfile, providers: Sequence[ExecProvider]) -> tuple[AccessProvider, ExecProvider]:
    """The profile's access entry to use, and the file's provider for it.

    The first provider of the file (in file order) that the profile lists; ``accessProviders`` win
    over the deprecated ``credentialProviders`` of the same name, as upstream. Raises NotImportable
    when none matches.
    """
    status = profile.status
    offered: dict[str, AccessProvider] = {}
    for entry in (status.credential_providers if status else None) or ():
        offered[entry.name] = entry
    for entry in (status.access_providers if status else None) or ():
        offered[entry.name] = entry
    for provider in providers:
        if provider.name in offered:
            return offered[provider.name], provider
    raise NotImportable(
        f"ClusterProfile {profile.metadata.namespace}/{profile.metadata.name} offers access providers "
        f"{sorted(offered)}, none of which the access-provider file configures ({[p.name for p in providers]})"
    )


def kubeconfig_for(profile: ClusterProfile, access: AccessProvider, provider: ExecProvider) -> dict[str, Any]:
    """A kubeconfig reaching the profile's cluster through the provider's exec plugin.

    As upstream's BuildConfigFromCP: server and CA from the profile, the exec plugin from the file,
    never interactive; a ``client.authentication.k8s.io/exec`` cluster extension is what the plugin
    receives as its cluster config. It holds no credential: the plugin fetches one when connecting.
    """
    cluster = dict(access.cluster)
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith("https://"):
        raise NotImportable(f"accessProviders[{access.name}].cluster.server must be an https:// address")
    if cluster.get("insecure-skip-tls-verify"):
        raise NotImportable(f"accessProviders[{access.name}] skips TLS verification; members are always verified")
    name = profile.metadata.name or "cluster"
    exec_config = {k: v for k, v in provider.exec_config.items() if k != "interactiveMode"}
    exec_config["interactiveMode"] = "Never"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": provider.name, "user": {"exec": exec_config}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": provider.name}}],
        "current-context": name,
    }


@dataclass(frozen=True)
class ImportedIdentifier:
    """The ComputeIdentifier a foreign profile becomes, and the Secret holding its kubeconfig."""

    name: str
    labels: Mapping[str, str]
    spec: Mapping[str, Any]
    secret_name: str
    kubeconfig: Mapping[str, Any] = field(default_factory=dict)


def _label(value: str, what: str) -> str:
    text = value.lower()
    if not _DNS_LABEL.match(text):
        raise NotImportable(f"{what} {value!r} is not a DNS label, so it cannot be a segment of a cpi:// URI")
    return text


def identifier_for(
    profile: ClusterProfile,
    providers: Sequence[ExecProvider],
    *,
    namespace: str,
    target_namespace: str = "computenet-workloads",
) -> ImportedIdentifier:
    """Map a foreign ClusterProfile onto a ComputeIdentifier (see docs/inventory.md for the table).

    ``namespace``: the operator's namespace, where the kubeconfig Secret goes. Raises NotImportable
    naming what is missing: a region, a usable access provider, a name that fits a URI segment.
    """
    props = {p.name: p.value for p in (profile.status.properties if profile.status else None) or ()}
    manager = profile.manager
    cluster = _label(profile.metadata.name or "", "the ClusterProfile name")
    provider = _label(
        props.get(PROPERTY_PROVIDER, manager), "the provider (property computenet.io/provider, else the manager)"
    )
    region_text = next((props[k] for k in REGION_PROPERTIES if props.get(k)), None)
    if region_text is None:
        raise NotImportable(
            f"ClusterProfile {profile.metadata.name} states no region (one of {list(REGION_PROPERTIES)})"
        )
    region = _label(region_text, "the region")
    zone = next((props[k] for k in ZONE_PROPERTIES if props.get(k)), None)
    compute_class = props.get(PROPERTY_COMPUTE_CLASS, ComputeClass.GENERAL.value)
    if compute_class not in {c.value for c in ComputeClass}:
        raise NotImportable(
            f"computenet.io/compute-class {compute_class!r} is not one of {[c.value for c in ComputeClass]}"
        )
    access, exec_provider = choose_access(profile, providers)
    name = f"{_label(manager, 'the cluster manager')}-{cluster}"[:253]
    secret = f"{name}-kubeconfig"[:253]
    spec: dict[str, Any] = {
        "uri": f"cpi://{provider}/{region}/{cluster}",
        "provider": provider,
        "region": region,
        "computeClass": compute_class,
        "connection": {
            "secretRef": {"name": secret, "namespace": namespace, "key": "kubeconfig"},
            "targetNamespace": target_namespace,
        },
    }
    if zone:
        spec["zone"] = _label(zone, "the zone")
    pricing = _pricing(props)
    if pricing:
        spec["pricing"] = pricing
    return ImportedIdentifier(
        name=name,
        labels={IMPORTED_LABEL: f"{profile.metadata.namespace}.{profile.metadata.name}"},
        spec=spec,
        secret_name=secret,
        kubeconfig=kubeconfig_for(profile, access, exec_provider),
    )


def _pricing(props: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    per_model = {
        k.removeprefix(PROPERTY_PRICE_ACCELERATOR_PREFIX): float(v)
        for k, v in props.items()
        if k.startswith(PROPERTY_PRICE_ACCELERATOR_PREFIX)
    }
    if per_model:
        out["perAcceleratorHour"] = per_model
    if PROPERTY_PRICE_CPU in props:
        out["perCpuCoreHour"] = float(props[PROPERTY_PRICE_CPU])
    if PROPERTY_PRICE_MEMORY in props:
        out["perGiBHour"] = float(props[PROPERTY_PRICE_MEMORY])
    if out and props.get(PROPERTY_CURRENCY):
        out["currency"] = props[PROPERTY_CURRENCY]
    return out
