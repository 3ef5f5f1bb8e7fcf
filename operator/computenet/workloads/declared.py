"""Kinds declared on the hub (ComputeWorkloadKind): their pod sets and status read by paths and CEL (pure).

A platform team runs a CRD the operator has no code for by saying, in a ComputeWorkloadKind, where
the object's pod sets are and how its status reads. ``compile_declaration`` turns that spec (its
JSON, camelCase as stored) into a :class:`~computenet.workloads.kinds.Kind` whose ``rules`` are a
:class:`DeclaredRules`; the built-in kinds' functions (``podsets.pod_sets``, ``status.observe``,
``templates.role_templates``) hand a declared kind to these rules, so placement, rendering and the
follower treat it like a kind with code.

Pod sets, one per ``spec.podSets[]`` item:

* ``count``: a field path (``computenet.workloads.paths``) to the number of pods, ``defaultCount``
  (1) where the object leaves it out;
* ``template``: a path to a pod template (``{metadata, spec}``) in the object's spec, which placement
  reads like a built-in role's and rendering stamps (origin labels, the canonical request, pinning
  to the role's nodes); or ``resources``: a path to a container's ResourceRequirements, for a kind
  whose pod templates live elsewhere (a Kubeflow TrainJob's are in its runtime): its pods are
  counted at those requests and not stamped.

Status: ``failed``, ``succeeded`` and ``running``, each a CEL expression over ``self`` (the whole
object, as a validation rule of a CRD sees it) or a path with the string it must equal, are tried in
that order; none holding is Pending. ``message``, a path, says why a failed object failed. A serving
kind (``serving: true``) never succeeds.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError

from computenet.workloads.kinds import KINDS, Kind, WorkloadError
from computenet.workloads.paths import FieldPath, parse
from computenet.workloads.podsets import PodSet
from computenet.workloads.status import Observed, Phase
from computenet.workloads.templates import RoleTemplate

DEFAULT_NAME_MAX = 40
"""The name length the operator keeps a declared kind's objects to unless told: the most cautious of
the built-in kinds' (a controller adding ``-<role>-<index>-<hash>`` stays within a DNS label)."""


class DeclarationError(ValueError):
    """A ComputeWorkloadKind spec that cannot be used: ``field`` names where (``spec.podSets[0].count``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class StatusTest:
    """One phase's test: a compiled CEL program over ``self``, or a path whose value must equal ``equals``."""

    source: str
    program: Any = None
    path: FieldPath | None = None
    equals: str = ""

    def holds(self, obj: Mapping[str, Any]) -> bool:
        """Whether the test holds for ``obj``; a CEL error (a field absent) counts as not holding."""
        if self.path is not None:
            value = self.path.get(obj)
            return value is not None and _as_string(value) == self.equals
        try:
            result = self.program.evaluate({"self": json_to_cel(dict(obj))})
        except CELEvalError:
            return False
        return isinstance(result, celtypes.BoolType) and bool(result)


def _as_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class DeclaredPodSet:
    role: str
    count: FieldPath | None
    default_count: int
    template: FieldPath | None
    resources: FieldPath | None


@dataclass(frozen=True)
class DeclaredRules:
    """What a declared kind's pod sets and status are; a ``Kind.rules`` (see the module docstring)."""

    pod_sets: tuple[DeclaredPodSet, ...]
    tests: tuple[tuple[Phase, StatusTest], ...]
    message: FieldPath | None = None

    def sets(self, spec: Mapping[str, Any]) -> tuple[PodSet, ...]:
        """The pod sets of an object whose spec is ``spec``; raises WorkloadError naming the path."""
        obj = {"spec": spec}
        out = []
        for ps in self.pod_sets:
            count = ps.count.get(obj) if ps.count is not None else None
            if count is None:
                count = ps.default_count
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                where = ps.count.text if ps.count is not None else "count"
                raise WorkloadError(f"{where}: {count!r} is not a count (a whole number, 0 or more)")
            out.append(PodSet(ps.role, _template(ps, obj), count))
        return tuple(out)

    def observe(self, obj: Mapping[str, Any]) -> Observed:
        """The phase of ``obj`` (its whole JSON) by the declared tests, in order: failed, succeeded, running."""
        for phase, test in self.tests:
            if test.holds(obj):
                if phase == "Failed":
                    said = self.message.get(obj) if self.message is not None else None
                    return Observed("Failed", str(said) if said else f"{test.source} holds")
                return Observed(phase)
        return Observed("Pending")

    def role_templates(self, spec: dict[str, Any]) -> list[RoleTemplate]:
        """The pod template of every role declared with a ``template`` path, found in ``spec`` (edited in place)."""
        obj = {"spec": spec}
        out = []
        for ps in self.pod_sets:
            if ps.template is None:
                continue
            template = ps.template.ensure_map(obj)
            if template is None:
                raise WorkloadError(f"{ps.template.text}: no pod template there")
            out.append(RoleTemplate(ps.role, template, f"spec.workload.{ps.template.text}", run_once=False))
        return out


def _template(ps: DeclaredPodSet, obj: Mapping[str, Any]) -> Mapping[str, Any]:
    if ps.template is not None:
        template = ps.template.get(obj)
        if not isinstance(template, Mapping):
            raise WorkloadError(f"{ps.template.text}: must be a pod template (an object)")
        return template
    assert ps.resources is not None
    resources = ps.resources.get(obj)
    if resources is not None and not isinstance(resources, Mapping):
        raise WorkloadError(f"{ps.resources.text}: must be resource requirements (an object)")
    container = {"name": ps.role, "resources": copy.deepcopy(dict(resources or {}))}
    return {"spec": {"containers": [container]}}


_ENV = celpy.Environment()


def _path(value: Any, field: str, root: str | None = None) -> FieldPath:
    if not isinstance(value, str):
        raise DeclarationError(field, "must be a field path (a string)")
    try:
        path = parse(value)
    except ValueError as e:
        raise DeclarationError(field, str(e)) from None
    if root is not None and path.root != root:
        raise DeclarationError(field, f"{value!r} must start with {root}. (only the object's {root} is read there)")
    return path


def _test(raw: Any, field: str) -> StatusTest:
    if not isinstance(raw, Mapping):
        raise DeclarationError(field, "must be an object with cel, or path and equals")
    cel, path = raw.get("cel"), raw.get("path")
    if (cel is None) == (path is None):
        raise DeclarationError(field, "exactly one of cel and path is required")
    if path is not None:
        equals = raw.get("equals")
        if not isinstance(equals, str):
            raise DeclarationError(f"{field}.equals", "is required with path (the string the value must equal)")
        return StatusTest(str(path), path=_path(path, f"{field}.path"), equals=equals)
    if not isinstance(cel, str) or not cel.strip():
        raise DeclarationError(f"{field}.cel", "must be a CEL expression")
    try:
        program = _ENV.program(_ENV.compile(cel))
    except Exception as e:  # celpy raises its parser's own error types
        raise DeclarationError(f"{field}.cel", f"does not compile: {str(e).splitlines()[0]}") from None
    return StatusTest(cel, program=program)


def compile_status(status: Any, serving: bool) -> tuple[tuple[tuple[Phase, StatusTest], ...], FieldPath | None]:
    """The phase tests (failed, succeeded, running, in that order) and the message path of a declared ``status``.

    Raises :class:`DeclarationError` naming the field (``spec.status.running``).
    """
    if not isinstance(status, Mapping):
        raise DeclarationError("spec.status", "is required: which status fields mean running, succeeded, failed")
    tests: list[tuple[Phase, StatusTest]] = []
    for phase, key in (("Failed", "failed"), ("Succeeded", "succeeded"), ("Running", "running")):
        if status.get(key) is None:
            continue
        if phase == "Succeeded" and serving:
            raise DeclarationError("spec.status.succeeded", "a serving kind never succeeds: leave it out")
        tests.append((phase, _test(status[key], f"spec.status.{key}")))  # type: ignore[arg-type]
    if not any(p == "Running" for p, _ in tests):
        raise DeclarationError("spec.status.running", "is required")
    if not serving and not any(p == "Succeeded" for p, _ in tests):
        raise DeclarationError("spec.status.succeeded", "is required for a kind that runs to completion")
    message = status.get("message")
    return tuple(tests), _path(message, "spec.status.message") if message is not None else None


def compile_declaration(spec: Mapping[str, Any]) -> Kind:
    """The kind a ComputeWorkloadKind's ``spec`` declares; raises :class:`DeclarationError` naming the field."""
    api_version, kind, plural = spec.get("apiVersion"), spec.get("kind"), spec.get("plural")
    if not isinstance(api_version, str) or "/" not in api_version or api_version.startswith("/"):
        raise DeclarationError("spec.apiVersion", "must be <group>/<version> of a custom resource")
    if not isinstance(kind, str) or not kind:
        raise DeclarationError("spec.kind", "is required")
    if api_version in {k.api_version for k in KINDS.values()}:
        raise DeclarationError("spec.apiVersion", f"{api_version} is a built-in kind's group version: not declarable")
    if not isinstance(plural, str) or not plural:
        raise DeclarationError("spec.plural", "is required (the resource name, like trainjobs)")
    serving = bool(spec.get("serving"))
    raw_sets = spec.get("podSets")
    if not isinstance(raw_sets, list) or not raw_sets:
        raise DeclarationError("spec.podSets", "at least one pod set is required")
    sets: list[DeclaredPodSet] = []
    for i, raw in enumerate(raw_sets):
        at = f"spec.podSets[{i}]"
        if not isinstance(raw, Mapping):
            raise DeclarationError(at, "must be an object")
        role = raw.get("role")
        if not isinstance(role, str) or not role:
            raise DeclarationError(f"{at}.role", "is required")
        if role in {s.role for s in sets}:
            raise DeclarationError(f"{at}.role", f"{role!r} is declared twice")
        template, resources = raw.get("template"), raw.get("resources")
        if (template is None) == (resources is None):
            raise DeclarationError(at, "exactly one of template and resources is required")
        default = raw.get("defaultCount", 1)
        if isinstance(default, bool) or not isinstance(default, int) or default < 0:
            raise DeclarationError(f"{at}.defaultCount", "must be a whole number, 0 or more")
        sets.append(
            DeclaredPodSet(
                role,
                _path(raw["count"], f"{at}.count", "spec") if raw.get("count") is not None else None,
                default,
                _path(template, f"{at}.template", "spec") if template is not None else None,
                _path(resources, f"{at}.resources", "spec") if resources is not None else None,
            )
        )
    rules = DeclaredRules(tuple(sets), *compile_status(spec.get("status"), serving))
    name_max = spec.get("nameMax", DEFAULT_NAME_MAX)
    if isinstance(name_max, bool) or not isinstance(name_max, int) or not 20 <= name_max <= 63:
        raise DeclarationError("spec.nameMax", "must be between 20 and 63")
    return Kind(api_version, kind, plural, name_max, serving=serving, by_role=True, rules=rules, letter_first=True)


def follow_spec(kind: Kind) -> dict[str, Any]:
    """What an agent needs to follow an object of the declared ``kind`` (``ComputeWork.spec.workloadKind``), as JSON.

    Its resource (``apiVersion``, ``kind``, ``plural``), whether it serves, and its status rules as
    declared (``{failed, succeeded, running: {cel} | {path, equals}, message}``); not its pod sets,
    which only placement and rendering read. :func:`compile_follow` reads it back.
    """
    if kind.rules is None:
        raise WorkloadError(f"{kind.key} is a built-in kind: an agent follows it by its own code")
    status: dict[str, Any] = {}
    for phase, test in kind.rules.tests:
        key = phase.lower()
        status[key] = {"path": test.source, "equals": test.equals} if test.path is not None else {"cel": test.source}
    if kind.rules.message is not None:
        status["message"] = kind.rules.message.text
    out: dict[str, Any] = {"apiVersion": kind.api_version, "kind": kind.kind, "plural": kind.plural, "status": status}
    if kind.serving:
        out["serving"] = True
    return out


def compile_follow(spec: Mapping[str, Any]) -> Kind:
    """The kind a :func:`follow_spec` describes, with its status rules and no pod sets.

    Raises :class:`DeclarationError` naming the field (``spec.status.running``; ``spec`` is the
    ComputeWorkloadKind's field it was copied from).
    """
    api_version, kind, plural = spec.get("apiVersion"), spec.get("kind"), spec.get("plural")
    if not isinstance(api_version, str) or "/" not in api_version or api_version.startswith("/"):
        raise DeclarationError("spec.apiVersion", "must be <group>/<version> of a custom resource")
    if api_version in {k.api_version for k in KINDS.values()}:
        raise DeclarationError("spec.apiVersion", f"{api_version} is a built-in kind's group version: not declarable")
    if not isinstance(kind, str) or not kind:
        raise DeclarationError("spec.kind", "is required")
    if not isinstance(plural, str) or not plural:
        raise DeclarationError("spec.plural", "is required (the resource name, like trainjobs)")
    serving = bool(spec.get("serving"))
    rules = DeclaredRules((), *compile_status(spec.get("status"), serving))
    return Kind(api_version, kind, plural, 63, serving=serving, by_role=True, rules=rules)
