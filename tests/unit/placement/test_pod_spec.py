"""Reading a pod template's node constraints: what placement evaluates, what it names, what is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from computenet.placement import Toleration
from computenet.placement.affinity import NodeAffinity, NodeSelectorRequirement, NodeSelectorTerm, RequiredAffinity
from computenet.placement.pod_spec import node_constraint_problems, pod_constraints

REQUIRED = "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
PREFERRED = "affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution"
EXPRESSION = f"{REQUIRED}.nodeSelectorTerms[0].matchExpressions[0]"
FIELD = f"{REQUIRED}.nodeSelectorTerms[0].matchFields[0]"
LABEL_VALUE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def with_terms(*terms: object) -> dict[str, Any]:
    selector = {"nodeSelectorTerms": list(terms)}
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": selector}}}


def anti(kind: str) -> dict[str, Any]:
    return {"affinity": {"podAntiAffinity": {kind: [{}]}}}


def requiring(*expressions: dict[str, Any], fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    term: dict[str, Any] = {"matchExpressions": list(expressions)}
    if fields is not None:
        term["matchFields"] = fields
    return {
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}
    }


def preferring(weight: object, *expressions: dict[str, Any]) -> dict[str, Any]:
    term = {"weight": weight, "preference": {"matchExpressions": list(expressions)}}
    return {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [term]}}}


def test_case_05_template_reads_as_required_arch_affinity() -> None:
    spec = requiring({"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]})
    read = pod_constraints(spec)
    assert read.node_affinity == NodeAffinity(
        required=(NodeSelectorTerm((NodeSelectorRequirement("kubernetes.io/arch", "In", ("arm64",)),)),)
    )
    assert read.unevaluated == ()
    assert node_constraint_problems(spec) == []


def test_selector_tolerations_and_node_name_are_read() -> None:
    spec = {
        "nodeSelector": {"disk": "ssd"},
        "nodeName": "n7",
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    }
    read = pod_constraints(spec)
    assert read.node_selector == {"disk": "ssd"}
    assert read.node_name == "n7"
    assert read.tolerations == (Toleration("nvidia.com/gpu", "Exists", "", "NoSchedule"),)
    assert read.node_affinity is None


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        pytest.param(
            {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{}]}}},
            ("podAffinity",),
            id="pod affinity",
        ),
        pytest.param(
            anti("preferredDuringSchedulingIgnoredDuringExecution"),
            ("podAntiAffinity",),
            id="pod anti-affinity, even preferred",
        ),
        pytest.param(
            {"topologySpreadConstraints": [{"maxSkew": 1}]}, ("topologySpreadConstraints",), id="topology spread"
        ),
        pytest.param({"schedulingGates": [{"name": "wait"}]}, ("schedulingGates",), id="scheduling gates"),
        pytest.param(
            {"runtimeClassName": "gvisor"}, ("runtimeClassName",), id="a RuntimeClass (its node selector and overhead)"
        ),
        pytest.param(
            {"containers": [{"ports": [{"containerPort": 80, "hostPort": 8080}]}]}, ("hostPort",), id="host ports"
        ),
        pytest.param({"hostNetwork": True}, ("hostNetwork",), id="host networking"),
        pytest.param(
            {"resourceClaims": [{"name": "gpu", "resourceClaimTemplateName": "one-gpu"}]},
            (),
            id="DRA resource claims are evaluated by placement, not named",
        ),
        pytest.param(
            {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "d"}}]},
            ("persistentVolumeClaim volumes",),
            id="claimed volumes",
        ),
        pytest.param(
            {"volumes": [{"name": "e", "ephemeral": {"volumeClaimTemplate": {}}}]},
            ("ephemeral volumes",),
            id="generic ephemeral volumes",
        ),
        pytest.param(
            {"volumes": [{"name": "t", "emptyDir": {}}], "containers": [{"ports": [{"containerPort": 80}]}]},
            (),
            id="emptyDir and plain ports constrain nothing",
        ),
        pytest.param(
            {"affinity": {"podAntiAffinity": {}}, "topologySpreadConstraints": []},
            (),
            id="empty fields constrain nothing",
        ),
    ],
)
def test_unevaluated_constraints_are_named(spec: dict[str, Any], names: tuple[str, ...]) -> None:
    assert pod_constraints(spec).unevaluated == names


@pytest.mark.parametrize(
    ("spec", "problems"),
    [
        pytest.param(
            requiring({"key": "rank", "operator": "Gt", "values": ["five"]}),
            [
                f"{EXPRESSION}.values[0]: Invalid value: \"five\": for 'Gt', 'Lt' "
                "operators, the value must be an integer; kube-scheduler cannot parse this term, so it matches no node"
            ],
            id="Gt with a word passes the API server but never matches",
        ),
        pytest.param(
            requiring({"key": "rank", "operator": "Gt", "values": [5]}),
            [f'{EXPRESSION}.values[0]: Invalid value: must be a string, e.g. "5" in quotes'],
            id="a number where a string belongs",
        ),
        pytest.param(
            requiring({"key": "zone", "operator": "Near", "values": ["a"]}),
            [f'{EXPRESSION}.operator: Invalid value: "Near": not a valid selector operator'],
            id="an unknown operator",
        ),
        pytest.param(
            requiring({"key": "zone", "operator": "In"}),
            [f"{EXPRESSION}.values: Required value: must be specified when `operator` is 'In' or 'NotIn'"],
            id="In without values",
        ),
        pytest.param(
            requiring({"key": "zone", "operator": "Exists", "values": ["a"]}),
            [f"{EXPRESSION}.values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"],
            id="Exists with values",
        ),
        pytest.param(
            requiring(fields=[{"key": "metadata.uid", "operator": "In", "values": ["a", "b"]}]),
            [
                f"{FIELD}.values: Required value: must be only one value when "
                "`operator` is 'In' or 'NotIn' for node field selector",
                f'{FIELD}.key: Invalid value: "metadata.uid": not a valid field selector key',
            ],
            id="matchFields only on metadata.name, with one value",
        ),
        pytest.param(
            with_terms(),
            [f"{REQUIRED}.nodeSelectorTerms: Required value: must have at least one node selector term"],
            id="no terms at all",
        ),
        pytest.param(
            with_terms({}),
            [f"{REQUIRED}.nodeSelectorTerms: Invalid value: every term is empty, so no node matches"],
            id="only empty terms pass the API server but match no node",
        ),
        pytest.param(
            preferring(0, {"key": "zone", "operator": "In", "values": ["a"]}),
            [f"{PREFERRED}[0].weight: Invalid value: must be in the range 1-100"],
            id="a preferred weight of 0",
        ),
        pytest.param(
            preferring(10, {"key": "zone", "operator": "In", "values": ["not valid!"]}),
            [
                f'{PREFERRED}[0].preference.matchExpressions[0].values[0]: Invalid value: "not valid!": {LABEL_VALUE}; '
                "kube-scheduler refuses all preferred terms then, and the pods stay Pending"
            ],
            id="an invalid label value in a preferred term",
        ),
        pytest.param(
            {"nodeSelector": {"gpu": True}},
            ['nodeSelector.gpu: Invalid value: must be a string, e.g. "True" in quotes'],
            id="a nodeSelector value that is not a string",
        ),
        pytest.param(requiring({"key": "zone", "operator": "NotIn", "values": ["a"]}), [], id="a valid NotIn"),
    ],
)
def test_node_constraint_problems(spec: dict[str, Any], problems: list[str]) -> None:
    assert node_constraint_problems(spec) == problems


def test_a_malformed_term_matches_nothing_but_the_others_still_count() -> None:
    spec = requiring({"key": "zone", "operator": "In", "values": "a"})
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    terms.append({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]})
    affinity = pod_constraints(spec).node_affinity
    assert affinity is not None
    assert affinity.required is not None
    parsed = RequiredAffinity.of(affinity.required)
    assert not parsed.matches({"zone": "a"}, "n")
    assert parsed.matches({"zone": "b"}, "n")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
KEYS = st.sampled_from(
    ["affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms",
     "matchExpressions", "matchFields", "key", "operator", "values", "weight", "preference", "nodeSelector",
     "preferredDuringSchedulingIgnoredDuringExecution", "tolerations", "volumes", "containers", "ports"]
)  # fmt: skip
SHAPED = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(["In", "Gt", "1", "a", ""]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(spec=JSON | SHAPED)
def test_any_template_reads_without_raising(spec: object) -> None:
    """The CRD lets any JSON through: reading it and listing its problems must never raise."""
    read = pod_constraints(spec)
    node_constraint_problems(spec)
    if read.node_affinity is not None and read.node_affinity.required is not None:
        RequiredAffinity.of(read.node_affinity.required).matches({"a": "1"}, "n")
