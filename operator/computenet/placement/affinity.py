"""Node affinity as kube-scheduler evaluates it: required terms filter nodes, preferred terms score them.

A port of k8s.io/component-helpers@v0.36.3 `scheduling/corev1/nodeaffinity/nodeaffinity.go`
(Kubernetes v1.36.3) with the label selector semantics of k8s.io/apimachinery@v0.36.3
`pkg/labels/selector.go` (`NewRequirement`, `Requirement.Matches`) and the field selector terms of
`pkg/fields/selector.go`. The rules, upstream's and therefore ours:

- A NodeSelector's terms are ORed; within a term, every `matchExpressions` requirement (on node
  labels) and every `matchFields` requirement (on `metadata.name`) must hold.
- An empty term (neither expressions nor fields) matches no node; so does an empty term list.
- Operators: `In`, `NotIn` (true when the label is absent), `Exists`, `DoesNotExist`, and `Gt` /
  `Lt`, which compare the node's label and the single value as base-10 int64 (`strconv.ParseInt`);
  a label that does not parse makes the requirement false. `matchFields` allows `In` and `NotIn`
  with exactly one value; a field other than `metadata.name` reads as "".
- A term that does not parse (unknown operator, wrong number of values, invalid key or value,
  a non-integer for Gt/Lt) matches no node, while the other terms still count: the required
  affinity is a `LazyErrorNodeSelector`, whose errors are only reported. Its errors are kept,
  with upstream's field paths and wording, for explanations.
- Preferred terms with weight 0 or no requirements are skipped; a node scores the sum of the
  weights of the terms it matches. If any other preferred term does not parse, upstream's
  `NewPreferredSchedulingTerms` fails as a whole (kube-scheduler's PreScore then errors), so
  `PreferredAffinity.errors` is non-empty and no term is used.
- nodeSelector and required affinity must both hold (`GetRequiredNodeAffinity(...).Match`); that
  combination is made by the placement context, which also narrows to the identifier's partition.

The input types mirror core/v1 (`NodeSelectorRequirement`, `NodeSelectorTerm`,
`PreferredSchedulingTerm`, `NodeAffinity`) as plain frozen values; `pod_spec` builds them from a
pod template. Matching takes the node's labels (with `kubernetes.io/hostname`) and its name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from computenet.placement.label_syntax import label_key_errors, label_value_errors, parse_int64

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
FIELD_OPERATORS = ("In", "NotIn")
NODE_NAME_FIELD = "metadata.name"


@dataclass(frozen=True, slots=True)
class NodeSelectorRequirement:
    """core/v1 NodeSelectorRequirement: `key`, `operator` (one of OPERATORS, unchecked) and `values`."""

    key: str
    operator: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NodeSelectorTerm:
    match_expressions: tuple[NodeSelectorRequirement, ...] = ()
    match_fields: tuple[NodeSelectorRequirement, ...] = ()
    malformed: tuple[str, ...] = ()
    """Shape errors found while reading the term from a pod template (e.g. values not a list of
    strings): such a term cannot be decoded by the API server, and placement treats it as invalid."""

    @property
    def empty(self) -> bool:
        return not self.match_expressions and not self.match_fields and not self.malformed


@dataclass(frozen=True, slots=True)
class PreferredSchedulingTerm:
    weight: int
    preference: NodeSelectorTerm


@dataclass(frozen=True, slots=True)
class NodeAffinity:
    """core/v1 NodeAffinity. `required` is None when absent; an empty tuple matches no node."""

    required: tuple[NodeSelectorTerm, ...] | None = None
    preferred: tuple[PreferredSchedulingTerm, ...] = ()


# ---- parsed forms ----


def _quoted(value: object) -> str:
    """A bad value as Go's field errors print it: strings quoted, lists as JSON."""
    return json.dumps(value, separators=(",", ":"))


def invalid(path: str, value: object, detail: str) -> str:
    """`field.Invalid(path, value, detail).Error()`."""
    return f"{path}: Invalid value: {_quoted(value)}: {detail}"


def not_supported(path: str, value: object, supported: Sequence[str]) -> str:
    """`field.NotSupported(path, value, supported).Error()`."""
    return f"{path}: Unsupported value: {_quoted(value)}: supported values: {', '.join(_quoted(s) for s in supported)}"


@dataclass(frozen=True, slots=True)
class LabelRequirement:
    """A requirement that parsed (`labels.Requirement`); `number` is the Gt/Lt operand."""

    key: str
    operator: str
    values: frozenset[str]
    number: int = 0

    def matches_value(self, value: str | None) -> bool:
        """`Requirement.Matches` for a node whose label `key` is `value` (None: absent)."""
        op = self.operator
        if op == "In":
            return value is not None and value in self.values
        if op == "NotIn":
            return value is None or value not in self.values
        if op == "Exists":
            return value is not None
        if op == "DoesNotExist":
            return value is None
        if value is None:
            return False
        parsed = parse_int64(value)
        if parsed is None:
            return False
        return parsed > self.number if op == "Gt" else parsed < self.number

    def matches(self, labels: Mapping[str, str]) -> bool:
        return self.matches_value(labels.get(self.key))


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    """`fields.OneTermEqualSelector` (In) or `OneTermNotEqualSelector` (NotIn) on one node field."""

    key: str
    equal: bool
    value: str

    def matches_name(self, name: str) -> bool:
        have = name if self.key == NODE_NAME_FIELD else ""
        return (have == self.value) == self.equal


def parse_requirement(req: NodeSelectorRequirement, path: str) -> tuple[LabelRequirement | None, list[str]]:
    """`nodeSelectorRequirementsAsSelector` for one requirement, then `labels.NewRequirement`."""
    if req.operator not in OPERATORS:
        return None, [not_supported(f"{path}.operator", req.operator, OPERATORS)]
    errors = []
    key_problems = label_key_errors(req.key)
    if key_problems:
        errors.append(invalid(f"{path}.key", req.key, "; ".join(key_problems)))
    values_path = f"{path}.values"
    values = list(req.values)
    if req.operator in ("In", "NotIn") and not values:
        errors.append(invalid(values_path, values, "for 'in', 'notin' operators, values set can't be empty"))
    elif req.operator in ("Exists", "DoesNotExist") and values:
        errors.append(invalid(values_path, values, "values set must be empty for exists and does not exist"))
    elif req.operator in ("Gt", "Lt"):
        if len(values) != 1:
            errors.append(invalid(values_path, values, "for 'Gt', 'Lt' operators, exactly one value is required"))
        for i, v in enumerate(values):
            if parse_int64(v) is None:
                errors.append(
                    invalid(f"{values_path}[{i}]", v, "for 'Gt', 'Lt' operators, the value must be an integer")
                )
    for i, v in enumerate(values):
        problems = label_value_errors(v)
        if problems:
            errors.append(invalid(f"{values_path}[{i}][{req.key}]", v, "; ".join(problems)))
    if errors:
        return None, errors
    number = parse_int64(values[0]) if req.operator in ("Gt", "Lt") else None
    return LabelRequirement(req.key, req.operator, frozenset(values), number or 0), []


def parse_field(req: NodeSelectorRequirement, path: str) -> tuple[FieldRequirement | None, list[str]]:
    """`nodeSelectorRequirementsAsFieldSelector` for one requirement."""
    if req.operator not in FIELD_OPERATORS:
        return None, [not_supported(f"{path}.operator", req.operator, FIELD_OPERATORS)]
    if len(req.values) != 1:
        return None, [invalid(f"{path}.values", list(req.values), "must have one element")]
    return FieldRequirement(req.key, req.operator == "In", req.values[0]), []


@dataclass(frozen=True, slots=True)
class Term:
    """A parsed `nodeSelectorTerm`; with `errors` it matches nothing."""

    labels: tuple[LabelRequirement, ...] = ()
    fields: tuple[FieldRequirement, ...] = ()
    errors: tuple[str, ...] = ()
    source: NodeSelectorTerm = field(default_factory=NodeSelectorTerm)

    def matches(self, labels: Mapping[str, str], name: str) -> bool:
        """`nodeSelectorTerm.match` for a node with these labels and name.

        As upstream, field requirements are skipped for a node without a name (none in practice).
        """
        if self.errors:
            return False
        if not all(r.matches(labels) for r in self.labels):
            return False
        return not name or all(f.matches_name(name) for f in self.fields)


def parse_term(term: NodeSelectorTerm, path: str) -> Term:
    """`newNodeSelectorTerm`: every requirement parsed, every error kept (paths as upstream)."""
    errors = list(term.malformed)
    labels, fields_ = [], []
    for i, req in enumerate(term.match_expressions):
        parsed, errs = parse_requirement(req, f"{path}.matchExpressions[{i}]")
        errors += errs
        if parsed is not None:
            labels.append(parsed)
    for i, req in enumerate(term.match_fields):
        parsed_field, errs = parse_field(req, f"{path}.matchFields[{i}]")
        errors += errs
        if parsed_field is not None:
            fields_.append(parsed_field)
    if errors:
        return Term(errors=tuple(errors), source=term)
    return Term(tuple(labels), tuple(fields_), (), term)


@dataclass(frozen=True)
class RequiredAffinity:
    """`LazyErrorNodeSelector`: the non-empty terms, ORed; invalid ones never match."""

    terms: tuple[Term, ...]
    positions: tuple[int, ...]
    """Each term's index in the pod's list (empty terms are dropped but keep their numbers)."""

    @classmethod
    def of(cls, terms: Sequence[NodeSelectorTerm]) -> RequiredAffinity:
        """`NewLazyErrorNodeSelector`."""
        kept = [(i, t) for i, t in enumerate(terms) if not t.empty]
        return cls(tuple(parse_term(t, f"nodeSelectorTerms[{i}]") for i, t in kept), tuple(i for i, _ in kept))

    @cached_property
    def errors(self) -> tuple[str, ...]:
        return tuple(e for t in self.terms for e in t.errors)

    def matches(self, labels: Mapping[str, str], name: str) -> bool:
        """`LazyErrorNodeSelector.Match`: some term matches (errors are only reported)."""
        return any(t.matches(labels, name) for t in self.terms)


@dataclass(frozen=True)
class PreferredAffinity:
    """`PreferredSchedulingTerms`: weighted terms, or the errors that make upstream refuse them all."""

    terms: tuple[tuple[int, Term], ...]
    errors: tuple[str, ...] = ()

    @classmethod
    def of(cls, preferred: Sequence[PreferredSchedulingTerm]) -> PreferredAffinity:
        """`NewPreferredSchedulingTerms`: weight-0 and empty terms skipped, any parse error fails all."""
        terms: list[tuple[int, Term]] = []
        errors: list[str] = []
        for i, p in enumerate(preferred):
            if p.weight == 0 or p.preference.empty:
                continue
            parsed = parse_term(p.preference, f"[{i}]")
            if parsed.errors:
                errors.extend(parsed.errors)
            else:
                terms.append((p.weight, parsed))
        if errors:
            return cls((), tuple(errors))
        return cls(tuple(terms))

    @property
    def total_weight(self) -> int:
        """The score of a node matching every term: what normalization divides by."""
        return sum(w for w, _ in self.terms)

    def score(self, labels: Mapping[str, str], name: str) -> int:
        """`PreferredSchedulingTerms.Score`: the sum of the weights of the terms the node matches."""
        return sum(w for w, t in self.terms if t.matches(labels, name))


def required_matches(
    node_selector: Mapping[str, str],
    affinity: NodeAffinity | None,
    labels: Mapping[str, str],
    name: str,
) -> bool:
    """`GetRequiredNodeAffinity(pod).Match(node)`: nodeSelector and required affinity both hold.

    The one-node reference form, for tests and explanations; placement evaluates the same rule
    over node columns (see `context`).
    """
    if any(labels.get(k) != v for k, v in node_selector.items()):
        return False
    if affinity is None or affinity.required is None:
        return True
    return RequiredAffinity.of(affinity.required).matches(labels, name)
