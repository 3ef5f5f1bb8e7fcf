"""What a pod template says about where its pods may run, read from the plain PodSpec mapping.

A ComputeTask's Job template reaches the operator unvalidated (the CRD preserves it as is), so
everything here reads defensively and never raises: a field of the wrong shape is reported by
`node_constraint_problems` and makes the constraint it belongs to match nothing, as the member's
API server would refuse the Job anyway.

- `pod_constraints`: the parts placement evaluates (nodeSelector, tolerations, nodeName, node
  affinity, DRA resourceClaims) as placement types, plus the names of the parts it cannot evaluate from a node
  snapshot (`unevaluated`: pod (anti-)affinity, topology spread, scheduling gates, ...), which a
  decision names instead of silently ignoring.
- `node_constraint_problems`: what is wrong with those fields, one "path: message" string each
  (paths relative to the pod spec, e.g. `affinity.nodeAffinity...nodeSelectorTerms[0]...`). It
  reports what the member's API server rejects (ValidateNodeSelector, ValidatePreferredSchedulingTerms,
  ValidateNodeSelectorRequirement, ValidateNodeFieldSelectorRequirement and the nodeSelector label
  checks of ValidatePodSpec in k8s.io/kubernetes@v1.36.3 `pkg/apis/core/validation/validation.go`)
  and what it accepts but kube-scheduler v1.36.3 cannot parse (`Gt`/`Lt` with a non-integer, an
  invalid label value in a preferred term, only empty required terms), which leaves pods Pending.
  Meant for the task's Valid condition: a non-empty list should become Valid=False.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from computenet.placement.affinity import (
    OPERATORS,
    NodeAffinity,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    PreferredSchedulingTerm,
    invalid,
)
from computenet.placement.devices import PodClaim
from computenet.placement.label_syntax import (
    dns1123_subdomain_errors,
    label_key_errors,
    label_value_errors,
    parse_int64,
)
from computenet.placement.nodes import Toleration

REQUIRED_PATH = "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
PREFERRED_PATH = "affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution"
_UNPARSEABLE = "kube-scheduler cannot parse this term, so it matches no node"
_PREFERRED_UNPARSEABLE = "kube-scheduler refuses all preferred terms then, and the pods stay Pending"


@dataclass(frozen=True)
class PodConstraints:
    """The node constraints of one pod template, as placement reads them."""

    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    node_name: str | None = None
    node_affinity: NodeAffinity | None = None
    unevaluated: tuple[str, ...] = ()
    """Names of constraints placement cannot evaluate from its snapshot, e.g. "podAntiAffinity"."""
    claims: tuple[PodClaim, ...] = ()
    """The pod's DRA resourceClaims, evaluated against each identifier's devices (see `devices`)."""


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: object) -> Sequence[Any]:
    return value if isinstance(value, list | tuple) else ()


# ---- reading ----


def _requirement(raw: object, path: str, shape: list[str]) -> NodeSelectorRequirement | None:
    if not isinstance(raw, Mapping):
        shape.append(f"{path}: Invalid value: must be an object with key, operator and values")
        return None
    key, operator, values = raw.get("key"), raw.get("operator"), raw.get("values")
    ok = True
    for name, value in (("key", key), ("operator", operator)):
        if not isinstance(value, str):
            shape.append(f"{path}.{name}: Invalid value: must be a string")
            ok = False
    if values is not None and not isinstance(values, list | tuple):
        shape.append(f"{path}.values: Invalid value: must be a list of strings")
        ok = False
    for i, v in enumerate(_items(values)):
        if not isinstance(v, str):
            shape.append(f'{path}.values[{i}]: Invalid value: must be a string, e.g. "{v}" in quotes')
            ok = False
    if not ok:
        return None
    return NodeSelectorRequirement(str(key), str(operator), tuple(str(v) for v in _items(values)))


def _term(raw: object, path: str) -> NodeSelectorTerm:
    shape: list[str] = []
    if raw is None:  # null decodes as the zero term: empty, so it matches nothing (or is skipped)
        return NodeSelectorTerm()
    if not isinstance(raw, Mapping):
        return NodeSelectorTerm(malformed=(f"{path}: Invalid value: must be an object",))
    parts: dict[str, tuple[NodeSelectorRequirement, ...]] = {}
    for name in ("matchExpressions", "matchFields"):
        value = raw.get(name)
        if value is not None and not isinstance(value, list | tuple):
            shape.append(f"{path}.{name}: Invalid value: must be a list")
        reqs = [_requirement(r, f"{path}.{name}[{i}]", shape) for i, r in enumerate(_items(value))]
        parts[name] = tuple(r for r in reqs if r is not None)
    return NodeSelectorTerm(parts["matchExpressions"], parts["matchFields"], tuple(shape))


def _node_affinity(pod_spec: Mapping[str, Any]) -> NodeAffinity | None:
    raw = _mapping(pod_spec.get("affinity")).get("nodeAffinity")
    if raw is None:
        return None
    raw = _mapping(raw)
    required = None
    selector = raw.get("requiredDuringSchedulingIgnoredDuringExecution")
    if selector is not None:
        terms = _mapping(selector).get("nodeSelectorTerms")
        required = tuple(_term(t, f"{REQUIRED_PATH}.nodeSelectorTerms[{i}]") for i, t in enumerate(_items(terms)))
        if not isinstance(selector, Mapping) or (terms is not None and not isinstance(terms, list | tuple)):
            required = (NodeSelectorTerm(malformed=(f"{REQUIRED_PATH}: Invalid value: must be a NodeSelector",)),)
    preferred = []
    for i, p in enumerate(_items(raw.get("preferredDuringSchedulingIgnoredDuringExecution"))):
        p = _mapping(p)
        weight = p.get("weight")
        path = f"{PREFERRED_PATH}[{i}]"
        term = _term(p.get("preference", {}), f"{path}.preference")
        if not isinstance(weight, int) or isinstance(weight, bool):
            bad = f"{path}.weight: Invalid value: must be an integer"
            term = NodeSelectorTerm(term.match_expressions, term.match_fields, (*term.malformed, bad))
            weight = 1
        preferred.append(PreferredSchedulingTerm(weight, term))
    return NodeAffinity(required, tuple(preferred))


def _tolerations(pod_spec: Mapping[str, Any]) -> tuple[Toleration, ...]:
    out = []
    for t in _items(pod_spec.get("tolerations")):
        t = _mapping(t)
        out.append(
            Toleration(
                key=str(t.get("key") or ""),
                operator=str(t.get("operator") or "Equal"),
                value=str(t.get("value") or ""),
                effect=str(t.get("effect") or ""),
            )
        )
    return tuple(out)


def _has_host_port(pod_spec: Mapping[str, Any]) -> bool:
    for group in ("containers", "initContainers"):
        for container in _items(pod_spec.get(group)):
            for port in _items(_mapping(container).get("ports")):
                if _mapping(port).get("hostPort"):
                    return True
    return False


def unevaluated_constraints(pod_spec: Mapping[str, Any]) -> tuple[str, ...]:
    """The pod's node-constraining fields that a node snapshot cannot answer, in PodSpec order.

    Pod (anti-)affinity and topology spread depend on other pods' placement, scheduling gates on
    a controller lifting them, a RuntimeClass on its own node selector and overhead, host ports
    and host networking on ports already taken, and volumes on their storage topology. None of
    these is in the snapshot. DRA resource claims are (see `claims_of`).
    """
    spec = _mapping(pod_spec)
    affinity = _mapping(spec.get("affinity"))
    names = [name for name in ("podAffinity", "podAntiAffinity") if affinity.get(name)]
    names += [name for name in ("topologySpreadConstraints", "schedulingGates") if _items(spec.get(name))]
    if spec.get("runtimeClassName"):
        names.append("runtimeClassName")
    if spec.get("hostNetwork") is True:
        names.append("hostNetwork")
    if _has_host_port(spec):
        names.append("hostPort")
    volumes = [_mapping(v) for v in _items(spec.get("volumes"))]
    names += [f"{kind} volumes" for kind in ("persistentVolumeClaim", "ephemeral") if any(v.get(kind) for v in volumes)]
    return tuple(names)


def claims_of(pod_spec: Mapping[str, Any]) -> tuple[PodClaim, ...]:
    """The pod's ``resourceClaims`` (PodResourceClaim, core/v1 v1.36.3): name, and template or claim name.

    An entry of the wrong shape reads as a claim naming neither, which placement refuses by name.
    """
    out = []
    for i, raw in enumerate(_items(pod_spec.get("resourceClaims"))):
        entry = _mapping(raw)
        name, template, claim = (entry.get(k) for k in ("name", "resourceClaimTemplateName", "resourceClaimName"))
        out.append(
            PodClaim(
                name=name if isinstance(name, str) and name else f"#{i}",
                template=template if isinstance(template, str) and template else None,
                claim=claim if isinstance(claim, str) and claim else None,
            )
        )
    return tuple(out)


def pod_constraints(pod_spec: object) -> PodConstraints:
    """Read a PodSpec mapping (anything else reads as an empty spec); never raises."""
    spec = _mapping(pod_spec)
    selector = {str(k): str(v) for k, v in _mapping(spec.get("nodeSelector")).items()}
    node_name = spec.get("nodeName")
    return PodConstraints(
        node_selector=selector,
        tolerations=_tolerations(spec),
        node_name=str(node_name) if node_name else None,
        node_affinity=_node_affinity(spec),
        unevaluated=unevaluated_constraints(spec),
        claims=claims_of(spec),
    )


# ---- problems ----


def _requirement_problems(req: NodeSelectorRequirement, path: str, *, preferred: bool) -> list[str]:
    """ValidateNodeSelectorRequirement, then what kube-scheduler's parser adds on top."""
    out = []
    op, values = req.operator, list(req.values)
    if op in ("In", "NotIn") and not values:
        out.append(f"{path}.values: Required value: must be specified when `operator` is 'In' or 'NotIn'")
    elif op in ("Exists", "DoesNotExist") and values:
        out.append(f"{path}.values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
    elif op in ("Gt", "Lt") and len(values) != 1:
        out.append(f"{path}.values: Required value: must be specified single value when `operator` is 'Lt' or 'Gt'")
    elif op not in OPERATORS:
        out.append(invalid(f"{path}.operator", op, "not a valid selector operator"))
    key_problems = label_key_errors(req.key)
    if key_problems:
        out.append(invalid(f"{path}.key", req.key, "; ".join(key_problems)))
    for i, v in enumerate(values):
        for message in label_value_errors(v):
            if preferred:
                out.append(invalid(f"{path}.values[{i}]", v, f"{message}; {_PREFERRED_UNPARSEABLE}"))
            else:
                out.append(invalid(f"{path}.values[{i}]", v, message))
    if op in ("Gt", "Lt") and len(values) == 1 and parse_int64(values[0]) is None:
        why = _PREFERRED_UNPARSEABLE if preferred else _UNPARSEABLE
        out.append(
            invalid(f"{path}.values[0]", values[0], f"for 'Gt', 'Lt' operators, the value must be an integer; {why}")
        )
    return out


def _field_problems(req: NodeSelectorRequirement, path: str) -> list[str]:
    """ValidateNodeFieldSelectorRequirement: In/NotIn with one value, on metadata.name only."""
    out = []
    if req.operator in ("In", "NotIn"):
        if len(req.values) != 1:
            out.append(
                f"{path}.values: Required value: "
                "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"
            )
    else:
        out.append(invalid(f"{path}.operator", req.operator, "not a valid selector operator"))
    if req.key != "metadata.name":
        out.append(invalid(f"{path}.key", req.key, "not a valid field selector key"))
    else:
        for i, v in enumerate(req.values):
            out += [invalid(f"{path}.values[{i}]", v, m) for m in dns1123_subdomain_errors(v)]
    return out


def _term_problems(term: NodeSelectorTerm, path: str, *, preferred: bool) -> list[str]:
    out = list(term.malformed)
    for i, req in enumerate(term.match_expressions):
        out += _requirement_problems(req, f"{path}.matchExpressions[{i}]", preferred=preferred)
    for i, req in enumerate(term.match_fields):
        out += _field_problems(req, f"{path}.matchFields[{i}]")
    return out


def node_constraint_problems(pod_spec: object) -> list[str]:
    """Everything wrong with the pod's node constraints, one "path: message" each; never raises."""
    spec = _mapping(pod_spec)
    out: list[str] = []
    raw_selector = spec.get("nodeSelector")
    if raw_selector is not None and not isinstance(raw_selector, Mapping):
        out.append("nodeSelector: Invalid value: must be a map of strings to strings")
    for k, v in _mapping(raw_selector).items():
        if not isinstance(k, str) or not isinstance(v, str):
            out.append(f'nodeSelector.{k}: Invalid value: must be a string, e.g. "{v}" in quotes')
            continue
        key_problems = label_key_errors(k)
        if key_problems:
            out.append(invalid("nodeSelector", k, "; ".join(key_problems)))
        out += [invalid(f"nodeSelector[{k}]", v, m) for m in label_value_errors(v)]
    affinity = _node_affinity(spec)
    if affinity is None:
        return out
    if affinity.required is not None:
        terms = affinity.required
        if not terms:
            out.append(f"{REQUIRED_PATH}.nodeSelectorTerms: Required value: must have at least one node selector term")
        for i, term in enumerate(terms):
            out += _term_problems(term, f"{REQUIRED_PATH}.nodeSelectorTerms[{i}]", preferred=False)
        if terms and all(t.empty for t in terms):
            out.append(f"{REQUIRED_PATH}.nodeSelectorTerms: Invalid value: every term is empty, so no node matches")
    for i, p in enumerate(affinity.preferred):
        if not 1 <= p.weight <= 100:
            out.append(f"{PREFERRED_PATH}[{i}].weight: Invalid value: must be in the range 1-100")
        out += _term_problems(p.preference, f"{PREFERRED_PATH}[{i}].preference", preferred=True)
    return out
