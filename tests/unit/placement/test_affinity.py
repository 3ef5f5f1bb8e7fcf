"""Node affinity, ported from Kubernetes v1.36.3: upstream's own test tables, row for row.

Rows are named after the cases of k8s.io/component-helpers@v0.36.3
`scheduling/corev1/nodeaffinity/nodeaffinity_test.go` (TestNodeSelectorMatch,
TestPreferredSchedulingTermsScore, TestNodeSelectorRequirementsAsSelector,
TestPodMatchesNodeSelectorAndAffinityTerms). Each required-affinity row is checked twice: by the
one-node reference (`affinity.required_matches`) and by a whole placement decision over a
snapshot holding that one node, so the column evaluation agrees with upstream too. Rows upstream
has that cannot be expressed here are left out and named: "nil node" (a snapshot has no nil node).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from computenet.placement import Demand, place
from computenet.placement.affinity import (
    NodeAffinity,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    PreferredAffinity,
    PreferredSchedulingTerm,
    RequiredAffinity,
    parse_term,
    required_matches,
)
from computenet.placement.label_syntax import parse_int64

from .builders import identifier, node, pool, task

KEY_NAME_ERROR = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def req(key: str, operator: str, *values: str) -> NodeSelectorRequirement:
    return NodeSelectorRequirement(key, operator, values)


def term(*expressions: NodeSelectorRequirement, fields: tuple[NodeSelectorRequirement, ...] = ()) -> NodeSelectorTerm:
    return NodeSelectorTerm(tuple(expressions), fields)


def name_in(*names: str) -> tuple[NodeSelectorRequirement, ...]:
    return (req("metadata.name", "In", *names),)


def required(*terms: NodeSelectorTerm) -> NodeAffinity:
    return NodeAffinity(required=tuple(terms))


# ---- TestNodeSelectorMatch ----

INVALID_TERMS = (
    term(fields=name_in("host_1", "host_2")),
    term(req("label_1", "In", "label_1_val"), fields=name_in("host_1")),
    term(req("invalid key", "In", "label_value")),
)


def test_node_selector_match_invalid_field_selector_and_label_selector() -> None:
    """Upstream row "invalid field selector and label selector": both errors, with upstream paths."""
    parsed = RequiredAffinity.of(INVALID_TERMS)
    assert parsed.errors == (
        'nodeSelectorTerms[0].matchFields[0].values: Invalid value: ["host_1","host_2"]: must have one element',
        f'nodeSelectorTerms[2].matchExpressions[0].key: Invalid value: "invalid key": {KEY_NAME_ERROR}',
    )
    # Lazily, the valid middle term still matches (LazyErrorNodeSelector), the others never do.
    assert parsed.matches({"label_1": "label_1_val"}, "host_1")
    assert not parsed.matches({}, "host_1")


@pytest.mark.parametrize(
    ("terms", "labels", "name", "want"),
    [
        pytest.param(
            (term(req("label_1", "In", "label_1_val"), fields=name_in("host_1")),),
            {},
            "host_1",
            False,
            id="node matches field selector, but not labels",
        ),
        pytest.param(
            (term(req("label_1", "In", "label_1_val"), fields=name_in("host_1")),),
            {"label_1": "label_1_val"},
            "host_1",
            True,
            id="node matches field selector and label selector",
        ),
        pytest.param(
            (term(req("label_1", "In", "label_1_val")), term(fields=name_in("host_1"))),
            {},
            "host_1",
            True,
            id="second term matches",
        ),
    ],
)
def test_node_selector_match(
    terms: tuple[NodeSelectorTerm, ...], labels: dict[str, str], name: str, want: bool
) -> None:
    parsed = RequiredAffinity.of(terms)
    assert parsed.errors == ()
    assert parsed.matches(labels, name) is want


# ---- TestPreferredSchedulingTermsScore ----


def test_preferred_invalid_field_selector_and_label_selector() -> None:
    """Upstream row "invalid field selector and label selector": any error refuses every term."""
    parsed = PreferredAffinity.of([PreferredSchedulingTerm(1, t) for t in INVALID_TERMS])
    assert parsed.errors == (
        '[0].matchFields[0].values: Invalid value: ["host_1","host_2"]: must have one element',
        f'[2].matchExpressions[0].key: Invalid value: "invalid key": {KEY_NAME_ERROR}',
    )
    assert parsed.terms == ()


@pytest.mark.parametrize(
    ("preferred", "labels", "want"),
    [
        pytest.param(
            [PreferredSchedulingTerm(0, term(fields=name_in("host_1", "host_2")))],
            {},
            0,
            id="invalid field selector but no weight, error not reported",
        ),
        pytest.param(
            [
                PreferredSchedulingTerm(5, term(fields=name_in("host_1"))),
                PreferredSchedulingTerm(7, term(req("unknown_label", "In", "unknown_label_val"))),
                PreferredSchedulingTerm(11, term(req("label_1", "In", "label_1_val"))),
            ],
            {"label_1": "label_1_val"},
            16,
            id="first and third term match",
        ),
    ],
)
def test_preferred_scheduling_terms_score(
    preferred: list[PreferredSchedulingTerm], labels: dict[str, str], want: int
) -> None:
    parsed = PreferredAffinity.of(preferred)
    assert parsed.errors == ()
    assert parsed.score(labels, "host_1") == want


# ---- TestNodeSelectorRequirementsAsSelector ----


@pytest.mark.parametrize(
    ("requirements", "matching", "not_matching"),
    [
        pytest.param((), [], [{}, {"foo": "bar"}], id="nil requirements select nothing"),
        pytest.param(
            (req("foo", "In", "bar", "baz"),),
            [{"foo": "bar"}, {"foo": "baz"}],
            [{"foo": "qux"}, {}],
            id="foo in (baz,bar)",
        ),
        pytest.param((req("foo", "Gt", "1"),), [{"foo": "2"}], [{"foo": "1"}, {"foo": "x"}, {}], id="foo>1"),
        pytest.param((req("bar", "Lt", "7"),), [{"bar": "6"}, {"bar": "-3"}], [{"bar": "7"}, {}], id="bar<7"),
    ],
)
def test_requirements_as_selector(
    requirements: tuple[NodeSelectorRequirement, ...],
    matching: list[dict[str, str]],
    not_matching: list[dict[str, str]],
) -> None:
    selector = RequiredAffinity.of([term(*requirements)])
    assert selector.errors == ()
    assert all(selector.matches(labels, "n") for labels in matching)
    assert not any(selector.matches(labels, "n") for labels in not_matching)


@pytest.mark.parametrize(
    ("requirement", "error"),
    [
        pytest.param(
            req("foo", "Exists", "bar", "baz"),
            'root.matchExpressions[0].values: Invalid value: ["bar","baz"]: values set must be empty for exists and '
            "does not exist",
            id="Exists with values is an error",
        ),
        pytest.param(
            req("baz", "invalid", "5"),
            'root.matchExpressions[0].operator: Unsupported value: "invalid": supported values: "In", "NotIn", '
            '"Exists", "DoesNotExist", "Gt", "Lt"',
            id="an unknown operator is not supported",
        ),
    ],
)
def test_requirements_as_selector_errors(requirement: NodeSelectorRequirement, error: str) -> None:
    parsed = parse_term(term(requirement), "root")
    assert parsed.errors == (error,)
    assert not parsed.matches({"foo": "bar", "baz": "5"}, "n")


# ---- TestPodMatchesNodeSelectorAndAffinityTerms ----

ANY = (req("foo", "In", "bar", "value2"),)
POD_CASES = [
    pytest.param({}, None, {}, "", True, id="no selector"),
    pytest.param({"foo": "bar"}, None, {}, "", False, id="missing labels"),
    pytest.param({"foo": "bar"}, None, {"foo": "bar"}, "", True, id="same labels"),
    pytest.param({"foo": "bar"}, None, {"foo": "bar", "baz": "blah"}, "", True, id="node labels are superset"),
    pytest.param({"foo": "bar", "baz": "blah"}, None, {"foo": "bar"}, "", False, id="node labels are subset"),
    pytest.param(
        {}, required(term(*ANY)), {"foo": "bar"}, "", True,
        id="Pod with matchExpressions using In operator that matches the existing node",
    ),
    pytest.param(
        {}, required(term(req("kernel-version", "Gt", "0204"))), {"kernel-version": "0206"}, "", True,
        id="Pod with matchExpressions using Gt operator that matches the existing node",
    ),
    pytest.param(
        {}, required(term(req("mem-type", "NotIn", "DDR", "DDR2"))), {"mem-type": "DDR3"}, "", True,
        id="Pod with matchExpressions using NotIn operator that matches the existing node",
    ),
    pytest.param(
        {}, required(term(req("GPU", "Exists"))), {"GPU": "NVIDIA-GRID-K1"}, "", True,
        id="Pod with matchExpressions using Exists operator that matches the existing node",
    ),
    pytest.param(
        {}, required(term(req("foo", "In", "value1", "value2"))), {"foo": "bar"}, "", False,
        id="Pod with affinity that don't match node's labels won't schedule onto the node",
    ),
    pytest.param(
        {}, NodeAffinity(required=()), {"foo": "bar"}, "", False,
        id="Pod with a nil []NodeSelectorTerm in affinity, can't match the node's labels "
        "and won't schedule onto the node",
    ),
    pytest.param(
        {}, required(), {"foo": "bar"}, "", False,
        id="Pod with an empty []NodeSelectorTerm in affinity, can't match the node's labels "
        "and won't schedule onto the node",
    ),
    pytest.param(
        {}, required(term()), {"foo": "bar"}, "", False,
        id="Pod with empty MatchExpressions is not a valid value will match no objects "
        "and won't schedule onto the node",
    ),
    pytest.param({}, None, {"foo": "bar"}, "", True, id="Pod with no Affinity will schedule onto a node"),
    pytest.param(
        {}, NodeAffinity(required=None), {"foo": "bar"}, "", True,
        id="Pod with Affinity but nil NodeSelector will schedule onto a node",
    ),
    pytest.param(
        {}, required(term(req("GPU", "Exists"), req("GPU", "NotIn", "AMD", "INTER"))), {"GPU": "NVIDIA-GRID-K1"}, "",
        True, id="Pod with multiple matchExpressions ANDed that matches the existing node",
    ),
    pytest.param(
        {}, required(term(req("GPU", "Exists"), req("GPU", "In", "AMD", "INTER"))), {"GPU": "NVIDIA-GRID-K1"}, "",
        False, id="Pod with multiple matchExpressions ANDed that doesn't match the existing node",
    ),
    pytest.param(
        {}, required(term(*ANY), term(req("diffkey", "In", "wrong", "value2"))), {"foo": "bar"}, "", True,
        id="Pod with multiple NodeSelectorTerms ORed in affinity, matches the node's labels "
        "and will schedule onto the node",
    ),
    pytest.param(
        {"foo": "bar"}, required(term(req("foo", "Exists"))), {"foo": "bar"}, "", True,
        id="Pod with an Affinity and a PodSpec.NodeSelector(the old thing that we are deprecating) both are satisfied, "
        "will schedule onto the node",
    ),
    pytest.param(
        {"foo": "bar"}, required(term(req("foo", "Exists"))), {"foo": "barrrrrr"}, "", False,
        id="Pod with an Affinity matches node's labels but the PodSpec.NodeSelector(the old thing that we are "
        "deprecating) is not satisfied, won't schedule onto the node",
    ),
    pytest.param(
        {}, required(term(req("foo", "NotIn", "invalid value: ___@#$%^"))), {"foo": "bar"}, "", False,
        id="Pod with an invalid value in Affinity term won't be scheduled onto the node",
    ),
    pytest.param(
        {}, required(term(fields=name_in("node_1"))), {}, "node_1", True,
        id="Pod with matchFields using In operator that matches the existing node",
    ),
    pytest.param(
        {}, required(term(fields=name_in("node_1"))), {}, "node_2", False,
        id="Pod with matchFields using In operator that does not match the existing node",
    ),
    pytest.param(
        {}, required(term(fields=name_in("node_1")), term(req("foo", "In", "bar"))), {"foo": "bar"}, "node_2", True,
        id="Pod with two terms: matchFields does not match, but matchExpressions matches",
    ),
    pytest.param(
        {}, required(term(req("foo", "In", "bar"), fields=name_in("node_1"))), {"foo": "bar"}, "node_2", False,
        id="Pod with one term: matchFields does not match, but matchExpressions matches",
    ),
    pytest.param(
        {}, required(term(req("foo", "In", "bar"), fields=name_in("node_1"))), {"foo": "bar"}, "node_1", True,
        id="Pod with one term: both matchFields and matchExpressions match",
    ),
    pytest.param(
        {}, required(term(fields=name_in("node_1")), term(req("foo", "In", "not-match-to-bar"))), {"foo": "bar"},
        "node_2", False, id="Pod with two terms: both matchFields and matchExpressions do not match",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("selector", "affinity", "labels", "name", "want"), POD_CASES)
def test_pod_matches_node_selector_and_affinity_terms(
    selector: dict[str, str], affinity: NodeAffinity | None, labels: dict[str, str], name: str, want: bool
) -> None:
    assert required_matches(selector, affinity, labels, name) is want


@pytest.mark.parametrize(("selector", "affinity", "labels", "name", "want"), POD_CASES)
def test_placement_over_columns_agrees_with_upstream(
    selector: dict[str, str], affinity: NodeAffinity | None, labels: dict[str, str], name: str, want: bool
) -> None:
    """The same rows through a decision: the one identifier fits exactly when upstream matches."""
    builder = node(name or "node_0")
    for key, value in labels.items():
        builder.label(key, value)
    snapshot = pool(identifier("only").nodes(builder))
    demand: Demand = replace(task().cpu("1").build(), node_selector=selector, node_affinity=affinity)
    decision = place(snapshot, demand)
    assert (decision.chosen is not None) is want
    if (
        not want
        and affinity is not None
        and affinity.required is not None
        and required_matches(selector, None, labels, name)
    ):
        assert decision.rejections["only"].filter == "NodeAffinity"


# ---- strconv.ParseInt(s, 10, 64), which Gt and Lt use ----


@pytest.mark.parametrize(
    ("text", "want"),
    [
        pytest.param("0204", 204, id="leading zeros are decimal, not octal"),
        pytest.param("+5", 5, id="a plus sign is accepted"),
        pytest.param("-5", -5, id="a minus sign is accepted"),
        pytest.param("9223372036854775807", 2**63 - 1, id="the largest int64"),
        pytest.param("-9223372036854775808", -(2**63), id="the smallest int64"),
        pytest.param("9223372036854775808", None, id="one past int64 is out of range"),
        pytest.param("1_000", None, id="underscores are not digits in base 10"),
        pytest.param(" 1", None, id="spaces are not trimmed"),
        pytest.param("0x10", None, id="no base prefixes"),
        pytest.param("", None, id="empty is not a number"),
        pytest.param("٣", None, id="only ASCII digits"),
        pytest.param("1.5", None, id="no fractions"),
    ],
)
def test_parse_int64(text: str, want: int | None) -> None:
    assert parse_int64(text) == want


@pytest.mark.parametrize(
    ("requirement", "value", "want"),
    [
        pytest.param(req("rank", "Gt", "5"), "6", True, id="Gt holds above the value"),
        pytest.param(req("rank", "Gt", "5"), "5", False, id="Gt is strict"),
        pytest.param(req("rank", "Lt", "5"), "-10", True, id="Lt compares signed integers"),
        pytest.param(req("rank", "Lt", "5"), "4x", False, id="a node label that is not an integer never matches"),
        pytest.param(req("rank", "Gt", "5"), None, False, id="Gt on an absent label is false"),
        pytest.param(req("rank", "NotIn", "5"), None, True, id="NotIn on an absent label is true"),
        pytest.param(req("rank", "DoesNotExist"), None, True, id="DoesNotExist on an absent label is true"),
    ],
)
def test_operators_on_one_label(requirement: NodeSelectorRequirement, value: str | None, want: bool) -> None:
    labels = {} if value is None else {"rank": value}
    assert RequiredAffinity.of([term(requirement)]).matches(labels, "n") is want


@pytest.mark.parametrize(
    ("requirement", "error"),
    [
        pytest.param(
            req("rank", "Gt", "five"),
            "nodeSelectorTerms[0].matchExpressions[0].values[0]: Invalid value: \"five\": for 'Gt', 'Lt' operators, "
            "the value must be an integer",
            id="Gt with a word",
        ),
        pytest.param(
            req("rank", "Lt", "1", "2"),
            "nodeSelectorTerms[0].matchExpressions[0].values: Invalid value: [\"1\",\"2\"]: for 'Gt', 'Lt' operators, "
            "exactly one value is required",
            id="Lt with two values",
        ),
        pytest.param(
            req("zone", "In"),
            "nodeSelectorTerms[0].matchExpressions[0].values: Invalid value: []: for 'in', 'notin' operators, "
            "values set can't be empty",
            id="In without values",
        ),
        pytest.param(
            req("zone", "NotIn", "a" * 64),
            f'nodeSelectorTerms[0].matchExpressions[0].values[0][zone]: Invalid value: "{"a" * 64}": '
            "must be no more than 63 bytes",
            id="a value longer than a label value can be",
        ),
    ],
)
def test_invalid_term_matches_nothing_and_says_why(requirement: NodeSelectorRequirement, error: str) -> None:
    parsed = RequiredAffinity.of([term(requirement)])
    assert parsed.errors == (error,)
    assert not parsed.matches({"rank": "10", "zone": "a"}, "n")
