"""ComputeIdentifier and ComputePool specs: every value that can never work is refused, naming the field.

The models are the single source of the CRD, so what they refuse here the API server refuses at
apply time too (``tests/integration/test_api_validation_members.py`` holds the server to it). Tables
marked ``upstream`` come from Kubernetes v1.36.3, ``k8s.io/apimachinery@v0.36.3``:

* ``pkg/util/validation/validation_test.go``: ``TestIsDNS1123Label`` (namespaces, zones),
  ``TestIsDNS1123Subdomain`` (Secret names), ``TestIsQualifiedName`` (label keys),
  ``TestIsValidLabelValue`` (label values), ``TestIsConfigMapKey`` (keys of a Secret's data);
* ``pkg/apis/meta/v1/validation/validation_test.go``: ``TestLabelSelectorMatchExpression`` and the
  rules of ``ValidateLabelSelectorRequirement`` (values required for In and NotIn, forbidden for
  Exists and DoesNotExist, no other operator).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from computenet.api.crd import KINDS, crd
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.api.pool import ComputePoolSpec
from computenet.api.validation import validate_identifier, validate_pool

NO_DEADLINE = settings(deadline=None)
"""Examples are cheap; on a loaded shared machine a slow one must not fail a test."""

ROOT = Path(__file__).resolve().parents[2]
IDENTIFIER = yaml.safe_load((ROOT / "samples" / "identifier-member-1.yaml").read_text())["spec"]
POOL = yaml.safe_load((ROOT / "samples" / "pool.yaml").read_text())["spec"]
DELETE = object()


def with_value(spec: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``spec`` with the field at a dotted path (list indexes as numbers) set, or deleted for DELETE."""
    result = copy.deepcopy(spec)
    *parents, last = path.split(".")
    node: Any = result
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return result


def selector(*expressions: dict[str, Any], labels: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if expressions:
        out["matchExpressions"] = list(expressions)
    if labels is not None:
        out["matchLabels"] = labels
    return out


def fields_of(problems: list[Any]) -> list[str]:
    return [problem.field for problem in problems]


def test_the_samples_are_valid() -> None:
    assert validate_identifier(IDENTIFIER) == []
    assert validate_pool(POOL) == []


# ---- upstream tables ---------------------------------------------------------------------------------

DNS_LABEL_GOOD = ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2", "a" * 63]
DNS_LABEL_BAD = [
    *["", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1"],
    *["_", "a_", "_a", "a_b", "1_", "_1", "1_2", ".", "a.", ".a", "a.b", "1.", ".1", "1.2"],
    *[" ", "a ", " a", "a b", "1 ", " 1", "1 2", "a" * 64],
]
SUBDOMAIN_GOOD = [
    *["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2"],
    *["a.a", "ab.a", "abc.a", "a1.a", "a-1.a", "a--1--2--b.a", "a.1", "ab.1", "abc.1", "a1.1", "a-1.1"],
    *["0.a", "01.a", "012.a", "1a.a", "1-a.a", "0.1", "01.1", "012.1", "1a.1", "1-a.1", "1--a--b--2.1"],
    *["a.b.c.d.e", "aa.bb.cc.dd.ee", "1.2.3.4.5", "11.22.33.44.55", "a" * 253],
]
SUBDOMAIN_BAD = [
    *["", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1"],
    *["_", "a_", "_a", "a_b", "1_", "_1", "1_2", ".", "a.", ".a", "a..b", "1.", ".1", "1..2"],
    *[" ", "a ", " a", "a b", "1 ", " 1", "1 2", "A.a", "aB.a", "ab.A", "A1.a", "a1.A"],
    *["A.1", "aB.1", "A1.1", "1A.1", "0.A", "01.A", "012.A", "1A.a", "1a.A"],
    *["A.B.C.D.E", "AA.BB.CC.DD.EE", "a.B.c.d.e", "aa.bB.cc.dd.ee", "a@b", "a,b", "a;b"],
    *["a:b", "a%b", "a?b", "a$b", "a" * 254],
]
QUALIFIED_NAME_GOOD = [
    *["simple", "now-with-dashes", "1-starts-with-num", "1234", "simple/simple", "now-with-dashes/simple"],
    *["now-with-dashes/now-with-dashes", "now.with.dots/simple", "now-with.dashes-and.dots/simple"],
    *["1-num.2-num/3-num", "1234/5678", "1.2.3.4/5678", "Uppercase_Is_OK_123", "example.com/Uppercase_Is_OK_123"],
    *["requests.storage-foo", "a" * 63, "a" * 253 + "/" + "b" * 63],
]
QUALIFIED_NAME_BAD = [
    *["nospecialchars%^=@", "cantendwithadash-", "-cantstartwithadash-", "only/one/slash", "Example.com/abc"],
    *["example_com/abc", "example.com/", "/simple", "a" * 64, "a" * 254 + "/abc"],
]
LABEL_VALUE_GOOD = ["simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234", "a" * 63, ""]
LABEL_VALUE_BAD = [
    *["nospecialchars%^=@", "Tama-nui-te-r\u0101.is.M\u0101ori.sun", "\\backslashes\\are\\bad"],
    *["-starts-with-dash", "ends-with-dash-", ".starts.with.dot", "ends.with.dot.", "a" * 64],
]
CONFIG_MAP_KEY_GOOD = ["a", "good", "good-good", "still.good", "this.is.also.good", ".so.is.this", "THIS_IS_GOOD"]
CONFIG_MAP_KEY_BAD = [".", "..", "..bad", "b*d", "bad!&bad", "a" * 254]


def short(text: str) -> str:
    return repr(text if len(text) <= 16 else f"{text[:8]}...({len(text)})")


def rows(upstream_test: str, values: list[str]) -> list[Any]:
    return [pytest.param(value, id=f"upstream {upstream_test} {short(value)}") for value in values]


@pytest.mark.parametrize("value", rows("TestIsDNS1123Label good", DNS_LABEL_GOOD))
@pytest.mark.parametrize("path", ["connection.targetNamespace", "zone", "connection.secretRef.namespace"])
def test_dns_label_fields_accept_upstream_good_values(path: str, value: str) -> None:
    assert validate_identifier(with_value(IDENTIFIER, path, value)) == []


@pytest.mark.parametrize("value", rows("TestIsDNS1123Label bad", DNS_LABEL_BAD))
@pytest.mark.parametrize("path", ["connection.targetNamespace", "zone", "connection.secretRef.namespace"])
def test_dns_label_fields_refuse_upstream_bad_values(path: str, value: str) -> None:
    assert fields_of(validate_identifier(with_value(IDENTIFIER, path, value))) == [f"spec.{path}"]


@pytest.mark.parametrize("value", rows("TestIsDNS1123Subdomain good", SUBDOMAIN_GOOD))
def test_secret_name_accepts_upstream_subdomains(value: str) -> None:
    assert validate_identifier(with_value(IDENTIFIER, "connection.secretRef.name", value)) == []


@pytest.mark.parametrize("value", rows("TestIsDNS1123Subdomain bad", SUBDOMAIN_BAD))
def test_secret_name_refuses_upstream_non_subdomains(value: str) -> None:
    problems = validate_identifier(with_value(IDENTIFIER, "connection.secretRef.name", value))
    assert fields_of(problems) == ["spec.connection.secretRef.name"]


@pytest.mark.parametrize("value", rows("TestIsConfigMapKey success", CONFIG_MAP_KEY_GOOD))
def test_secret_key_accepts_upstream_keys(value: str) -> None:
    assert validate_identifier(with_value(IDENTIFIER, "connection.secretRef.key", value)) == []


@pytest.mark.parametrize("value", rows("TestIsConfigMapKey failure", CONFIG_MAP_KEY_BAD))
def test_secret_key_refuses_keys_no_secret_can_hold(value: str) -> None:
    problems = validate_identifier(with_value(IDENTIFIER, "connection.secretRef.key", value))
    assert fields_of(problems) == ["spec.connection.secretRef.key"]


@pytest.mark.parametrize("key", rows("TestIsQualifiedName success", QUALIFIED_NAME_GOOD))
def test_selector_keys_accept_upstream_qualified_names(key: str) -> None:
    requirement = {"key": key, "operator": "Exists"}
    assert validate_pool(with_value(POOL, "identifierSelector", selector(requirement))) == []
    assert validate_pool(with_value(POOL, "identifierSelector", selector(labels={key: "v"}))) == []
    partition = with_value(IDENTIFIER, "connection.nodeSelector", selector(requirement))
    assert validate_identifier(partition) == []


@pytest.mark.parametrize("key", rows("TestIsQualifiedName error", QUALIFIED_NAME_BAD))
def test_selector_keys_refuse_upstream_bad_names(key: str) -> None:
    requirement = {"key": key, "operator": "Exists"}
    problems = validate_pool(with_value(POOL, "identifierSelector", selector(requirement)))
    assert fields_of(problems) == ["spec.identifierSelector.matchExpressions[0].key"]
    problems = validate_pool(with_value(POOL, "identifierSelector", selector(labels={key: "v"})))
    assert fields_of(problems) == ["spec.identifierSelector.matchLabels"]
    assert repr(key)[:20] in problems[0].message or "prefix of a label key" in problems[0].message
    problems = validate_identifier(with_value(IDENTIFIER, "connection.nodeSelector", selector(requirement)))
    assert fields_of(problems) == ["spec.connection.nodeSelector.matchExpressions[0].key"]


@pytest.mark.parametrize("value", rows("TestIsValidLabelValue success", LABEL_VALUE_GOOD))
def test_selector_values_accept_upstream_label_values(value: str) -> None:
    requirement = {"key": "computenet.io/region", "operator": "In", "values": [value]}
    assert validate_pool(with_value(POOL, "identifierSelector", selector(requirement))) == []
    assert validate_pool(with_value(POOL, "identifierSelector", selector(labels={"k": value}))) == []


@pytest.mark.parametrize("value", rows("TestIsValidLabelValue error", LABEL_VALUE_BAD))
def test_selector_values_refuse_upstream_bad_label_values(value: str) -> None:
    requirement = {"key": "computenet.io/region", "operator": "In", "values": [value]}
    problems = validate_pool(with_value(POOL, "identifierSelector", selector(requirement)))
    assert fields_of(problems) == ["spec.identifierSelector.matchExpressions[0].values[0]"]
    problems = validate_pool(with_value(POOL, "identifierSelector", selector(labels={"k": value})))
    assert fields_of(problems) == ["spec.identifierSelector.matchLabels.k"]


@pytest.mark.parametrize(
    ("requirement", "field"),
    [
        pytest.param(
            {"key": "-key", "operator": "In", "values": ["value"]},
            "spec.identifierSelector.matchExpressions[0].key",
            id="upstream TestLabelSelectorMatchExpression key name isn't valid",
        ),
        pytest.param(
            {"key": "key", "operator": "abc", "values": ["value"]},
            "spec.identifierSelector.matchExpressions[0].operator",
            id="upstream TestLabelSelectorMatchExpression operator isn't valid",
        ),
        pytest.param(
            {"key": "key", "operator": "In", "values": ["-value"]},
            "spec.identifierSelector.matchExpressions[0].values[0]",
            id="upstream TestLabelSelectorMatchExpression value name isn't valid",
        ),
        pytest.param(
            {"key": "key", "operator": "In"},
            "spec.identifierSelector.matchExpressions[0].values",
            id="upstream ValidateLabelSelectorRequirement In needs values",
        ),
        pytest.param(
            {"key": "key", "operator": "NotIn", "values": []},
            "spec.identifierSelector.matchExpressions[0].values",
            id="upstream ValidateLabelSelectorRequirement NotIn needs values",
        ),
        pytest.param(
            {"key": "key", "operator": "Exists", "values": ["a"]},
            "spec.identifierSelector.matchExpressions[0].values",
            id="upstream ValidateLabelSelectorRequirement Exists takes no values",
        ),
        pytest.param(
            {"key": "key", "operator": "DoesNotExist", "values": ["a"]},
            "spec.identifierSelector.matchExpressions[0].values",
            id="upstream ValidateLabelSelectorRequirement DoesNotExist takes no values",
        ),
        pytest.param(
            {"key": "key", "operator": "Gt", "values": ["1"]},
            "spec.identifierSelector.matchExpressions[0].operator",
            id="Gt is a node selector operator, not a label selector one",
        ),
        pytest.param(
            {"key": "key", "operator": "in", "values": ["a"]},
            "spec.identifierSelector.matchExpressions[0].operator",
            id="operators are case sensitive",
        ),
        pytest.param(
            {"key": "key", "operator": "In", "values": ["a", "a"]},
            "spec.identifierSelector.matchExpressions[0].values",
            id="duplicate values",
        ),
    ],
)
def test_selector_requirements_follow_upstream(requirement: dict[str, Any], field: str) -> None:
    problems = validate_pool(with_value(POOL, "identifierSelector", selector(requirement)))
    assert field in fields_of(problems)


def test_upstream_valid_label_selector_is_accepted() -> None:
    """upstream TestLabelSelectorMatchExpression: Valid LabelSelector."""
    requirement = {"key": "key", "operator": "In", "values": ["value"]}
    assert validate_pool(with_value(POOL, "identifierSelector", selector(requirement))) == []


# ---- the project's own rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        pytest.param("uri", "cpi://acme/cn-east", "spec.uri", "3 or 4 segments", id="uri with two segments"),
        pytest.param("uri", "http://acme/cn-east/m1", "spec.uri", "must start with", id="uri with another scheme"),
        pytest.param("uri", "cpi://Acme/cn-east/m1", "spec.uri", "DNS label", id="uri with upper case"),
        pytest.param("uri", "cpi://acme/cn-east/m1/", "spec.uri", "DNS label", id="uri with a trailing slash"),
        pytest.param("uri", "cpi://acme/cn-west/m1", "spec.uri", "region segment", id="uri region differs"),
        pytest.param("uri", "cpi://other/cn-east/m1", "spec.uri", "provider segment", id="uri provider differs"),
        pytest.param(
            "uri", "cpi://acme/cn-east/m1/h100", "spec.connection", "nodeSelector", id="partition without selector"
        ),
        pytest.param("provider", "Acme", "spec.provider", "pattern", id="provider with upper case"),
        pytest.param("region", "cn_east", "spec.region", "pattern", id="region with an underscore"),
        pytest.param("architectures", [], "spec.architectures", "at least 1", id="no architecture"),
        pytest.param("architectures", ["amd64", "amd64"], "spec.architectures", "duplicate", id="same arch twice"),
        pytest.param("architectures", ["x86"], "spec.architectures[0]", "amd64", id="unknown architecture"),
        pytest.param("computeClass", "gpu", "spec.computeClass", "general", id="unknown compute class"),
        pytest.param("connection.nodeSelector", {}, "spec.connection.nodeSelector", "must not be empty", id="empty"),
        pytest.param("connection.secretRef", DELETE, "spec.connection", "exactly one of", id="no secret and no agent"),
        pytest.param("pricing.currency", "usd", "spec.pricing.currency", "pattern", id="currency in lower case"),
        pytest.param("pricing.currency", "US", "spec.pricing.currency", "at least 3", id="currency too short"),
        pytest.param(
            "pricing.perCpuCoreHour",
            -0.01,
            "spec.pricing.perCpuCoreHour",
            "greater than or equal to 0",
            id="negative price",
        ),
        pytest.param(
            "pricing.perGiBHour", 2e6, "spec.pricing.perGiBHour", "less than or equal to 1000000", id="absurd price"
        ),
        pytest.param(
            "pricing.perAcceleratorHour",
            {"NVIDIA H100": 2.0},
            "spec.pricing.perAcceleratorHour",
            "key",
            id="accelerator model with a space",
        ),
        pytest.param(
            "pricing.perAcceleratorHour",
            {"NVIDIA-H100": -1},
            "spec.pricing.perAcceleratorHour.NVIDIA-H100",
            "greater than or equal to 0",
            id="negative accelerator price",
        ),
        pytest.param(
            "network.latencyMs",
            {"cn-east": -1},
            "spec.network.latencyMs.cn-east",
            "greater than or equal to 0",
            id="negative latency",
        ),
        pytest.param(
            "network.latencyMs",
            {"cn-east": 600_001},
            "spec.network.latencyMs.cn-east",
            "less than or equal to 600000",
            id="latency>10m",
        ),
        pytest.param("network.latencyMs", {"CN East": 3}, "spec.network.latencyMs", "key", id="region key invalid"),
        pytest.param("network.bandwidthGbps", 0, "spec.network.bandwidthGbps", "greater than 0", id="zero bandwidth"),
        pytest.param("connection.secretRef.key", "..kubeconfig", "spec.connection.secretRef.key", "'..'", id="..x"),
    ],
)
def test_identifier_spec_refusals(path: str, value: Any, field: str, message: str) -> None:
    problems = validate_identifier(with_value(IDENTIFIER, path, value))
    assert problems, "accepted"
    assert problems[0].field == field, problems
    assert message in problems[0].message, problems


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        pytest.param("identifierSelector", {}, "spec.identifierSelector", "must not be empty", id="empty selector"),
        pytest.param("identifierSelector", DELETE, "spec.identifierSelector", "required", id="no selector"),
        pytest.param("placement.strategy", "Random", "spec.placement.strategy", "Binpack", id="unknown strategy"),
        pytest.param(
            "placement.weights.fit",
            101,
            "spec.placement.weights.fit",
            "less than or equal to 100",
            id="weight above 100",
        ),
        pytest.param(
            "placement.weights.price",
            -1,
            "spec.placement.weights.price",
            "greater than or equal to 0",
            id="negative weight",
        ),
        pytest.param(
            "placement.weights",
            {"fit": 0, "price": 0, "locality": 0, "reliability": 0},
            "spec.placement.weights",
            "at least one weight",
            id="all weights zero",
        ),
        pytest.param(
            "identifierSelector",
            {"matchLabels": {"a" * 254 + "/b": "v"}},
            "spec.identifierSelector.matchLabels",
            "no more than 253",
            id="label key prefix longer than a subdomain",
        ),
    ],
)
def test_pool_spec_refusals(path: str, value: Any, field: str, message: str) -> None:
    problems = validate_pool(with_value(POOL, path, value))
    assert problems, "accepted"
    assert problems[0].field == field, problems
    assert message in problems[0].message, problems


# ---- the CRD states the same rules ------------------------------------------------------------------


def _schema(kind: str) -> dict[str, Any]:
    definition = next(k for k in KINDS if k.info.kind == kind)
    schema: dict[str, Any] = crd(definition)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _rules(node: dict[str, Any]) -> list[dict[str, str]]:
    return list(node.get("x-kubernetes-validations", []))


def test_the_crd_carries_the_secret_key_and_label_key_prefix_rules() -> None:
    connection = _schema("ComputeIdentifier")["properties"]["spec"]["properties"]["connection"]["properties"]
    secret_rules = _rules(connection["secretRef"])
    assert any(rule.get("fieldPath") == ".key" and "'..'" in rule["message"] for rule in secret_rules)
    selector_schema = _schema("ComputePool")["properties"]["spec"]["properties"]["identifierSelector"]
    assert any("indexOf('/') <= 253" in rule["rule"] for rule in _rules(selector_schema))
    requirement = selector_schema["properties"]["matchExpressions"]["items"]
    assert any(rule.get("fieldPath") == ".key" and "indexOf" in rule["rule"] for rule in _rules(requirement))


# ---- properties ---------------------------------------------------------------------------------------


@NO_DEADLINE
@given(st.text(max_size=80))
def test_property_any_secret_key_is_either_valid_or_refused_naming_the_key(key: str) -> None:
    problems = validate_identifier(with_value(IDENTIFIER, "connection.secretRef.key", key))
    assert all(problem.field == "spec.connection.secretRef.key" for problem in problems)
    valid = bool(re.fullmatch(r"[-._a-zA-Z0-9]+", key)) and len(key) <= 253 and key != "." and not key.startswith("..")
    assert (problems == []) == valid


@NO_DEADLINE
@given(st.dictionaries(st.text(max_size=20), st.text(max_size=20), max_size=3))
def test_property_match_labels_never_crash_and_name_the_map(labels: dict[str, str]) -> None:
    problems = validate_pool(with_value(POOL, "identifierSelector", {"matchLabels": labels}))
    assert all(problem.field.startswith("spec.identifierSelector") for problem in problems)
    if not problems:
        ComputePoolSpec.model_validate(with_value(POOL, "identifierSelector", {"matchLabels": labels}))


def test_models_parse_the_samples() -> None:
    assert ComputeIdentifierSpec.model_validate(IDENTIFIER).connection.secret_ref.key == "kubeconfig"
    assert ComputePoolSpec.model_validate(POOL).placement.weights.fit == 40
