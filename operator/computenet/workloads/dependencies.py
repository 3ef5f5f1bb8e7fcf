"""The ConfigMaps, Secrets and ResourceClaimTemplates a workload's pods reference, so that they travel with it (pure).

A pod that references a ConfigMap its member does not have never starts
(``CreateContainerConfigError``); Karmada users hit exactly that (karmada#1887). The references a
pod spec can make, as the kubelet resolves them (k8s.io/api v0.36.3 ``core/v1/types.go``):

* ``env[].valueFrom.configMapKeyRef`` / ``secretKeyRef`` (``name``, ``optional``), in containers,
  init containers and ephemeral containers;
* ``envFrom[].configMapRef`` / ``secretRef`` (``name``, ``optional``);
* ``volumes[].configMap`` (``name``, ``optional``) / ``volumes[].secret`` (``secretName``, ``optional``);
* ``volumes[].projected.sources[].configMap`` / ``.secret`` (``name``, ``optional``);
* ``imagePullSecrets[].name`` (a Secret, never optional).

A pod that claims devices through ``resourceClaims[].resourceClaimTemplateName`` is not even
created without that ResourceClaimTemplate in its namespace (the ResourceClaim controller,
k8s.io/kubernetes v1.36.3 ``pkg/controller/resourceclaim/controller.go``, ``handleClaim``); Kueue's
MultiKueue users hit exactly that (kueue#8775). `claim_templates` names them.

Every pod spec of the object is read, whatever its kind: any mapping with a ``containers`` list is one
(a Job's template, each role of a JobSet, a Pod itself).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["ConfigMap", "Secret"]


@dataclass(frozen=True, order=True)
class Reference:
    """One reference of a pod spec: the object's kind and name, whether the pod starts without it."""

    kind: Kind
    name: str
    optional: bool


def _pod_specs(obj: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(obj, Mapping):
        if isinstance(obj.get("containers"), list):
            yield obj
        for value in obj.values():
            yield from _pod_specs(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from _pod_specs(item)


def _ref(kind: Kind, ref: Any, key: str = "name") -> Reference | None:
    if not isinstance(ref, Mapping) or not ref.get(key):
        return None
    return Reference(kind, str(ref[key]), bool(ref.get("optional")))


def _of_pod(spec: Mapping[str, Any]) -> Iterator[Reference | None]:
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(group) or ():
            if not isinstance(c, Mapping):
                continue
            for env in c.get("env") or ():
                source = env.get("valueFrom") if isinstance(env, Mapping) else None
                if isinstance(source, Mapping):
                    yield _ref("ConfigMap", source.get("configMapKeyRef"))
                    yield _ref("Secret", source.get("secretKeyRef"))
            for env_from in c.get("envFrom") or ():
                if isinstance(env_from, Mapping):
                    yield _ref("ConfigMap", env_from.get("configMapRef"))
                    yield _ref("Secret", env_from.get("secretRef"))
    for volume in spec.get("volumes") or ():
        if not isinstance(volume, Mapping):
            continue
        yield _ref("ConfigMap", volume.get("configMap"))
        yield _ref("Secret", volume.get("secret"), "secretName")
        projected = volume.get("projected")
        for source in (projected.get("sources") or ()) if isinstance(projected, Mapping) else ():
            if isinstance(source, Mapping):
                yield _ref("ConfigMap", source.get("configMap"))
                yield _ref("Secret", source.get("secret"))
    for pull in spec.get("imagePullSecrets") or ():
        yield _ref("Secret", pull)


def references(obj: Mapping[str, Any]) -> tuple[Reference, ...]:
    """Every ConfigMap and Secret the pod specs in `obj` reference, sorted.

    A name referenced both optionally and not counts as required.
    """
    found: dict[tuple[Kind, str], bool] = {}
    for spec in _pod_specs(obj):
        for ref in _of_pod(spec):
            if ref is not None:
                found[(ref.kind, ref.name)] = found.get((ref.kind, ref.name), True) and ref.optional
    return tuple(sorted(Reference(kind, name, optional) for (kind, name), optional in found.items()))


def to_copy(refs: tuple[Reference, ...], secrets: frozenset[str]) -> tuple[Reference, ...]:
    """What travels with the workload: every referenced ConfigMap, and the Secrets the task names.

    A Secret the task names but its pods do not reference travels too (required: the task asked);
    a referenced Secret it does not name stays behind (the member must hold it).
    """
    chosen = [r for r in refs if r.kind == "ConfigMap" or r.name in secrets]
    named = {r.name for r in refs if r.kind == "Secret"}
    chosen += [Reference("Secret", name, False) for name in sorted(secrets - named)]
    return tuple(sorted(chosen))


def claim_templates(obj: Mapping[str, Any]) -> tuple[str, ...]:
    """The ResourceClaimTemplates the pod specs in `obj` name (``resourceClaims[].resourceClaimTemplateName``), sorted.

    An entry naming an existing claim (``resourceClaimName``) names no template; such a claim is the
    member's (k8s.io/api v0.36.3 ``core/v1/types.go``, ``PodResourceClaim``).
    """
    names: set[str] = set()
    for spec in _pod_specs(obj):
        for claim in spec.get("resourceClaims") or ():
            name = claim.get("resourceClaimTemplateName") if isinstance(claim, Mapping) else None
            if isinstance(name, str) and name:
                names.add(name)
    return tuple(sorted(names))
