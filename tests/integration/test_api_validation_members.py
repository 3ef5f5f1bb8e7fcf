"""The real hub refuses ComputeIdentifiers and ComputePools that can never work, naming the field.

Each manifest is a sample with one mistake, applied with ``--dry-run=server`` so the API server runs
the CRD's schema and CEL rules and stores nothing. The same mistakes are refused by the models
(``tests/unit/test_api_identifier_pool.py``); values come from the upstream validation tables named
there. The quantity rows hold the CRD's quantity fields to what Kubernetes accepts in a pod.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from computenet.api.constants import KINDS
from computenet.api.validation import validate_task
from support.timeouts import STATE_S
from support.wait import eventually

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
DELETE = object()


@pytest.fixture(scope="module", autouse=True)
def crds(federation: Any) -> None:
    """Install the CRDs from crds/ on the hub and wait until kubectl can use them."""
    hub = federation.hub
    hub.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    for kind in KINDS:
        hub.kubectl("wait", "--for=condition=Established", f"crd/{kind.crd_name}", "--timeout=60s")
    eventually(
        lambda: hub.kubectl("get", "cid,cpool,ctask", "-A", "-o", "name", check=False).returncode == 0,
        timeout=STATE_S,
    )


def sample(name: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "samples" / name).read_text())
    assert isinstance(document, dict)
    document["metadata"]["name"] = f"members-test-{document['metadata']['name']}"  # never an update of a real one
    return document


def mutate(name: str, path: str, value: Any) -> dict[str, Any]:
    """The sample with one field under spec set (or deleted, for DELETE); list indexes as numbers."""
    document = copy.deepcopy(sample(name))
    *parents, last = f"spec.{path}".split(".")
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return document


def dry_run(hub: Any, document: dict[str, Any]) -> Any:
    # JSON, not YAML: the value reaches the server with exactly the JSON type the row means.
    return hub.kubectl("apply", "--dry-run=server", "-n", "default", "-f", "-", input=json.dumps(document), check=False)


def assert_refused(result: Any, field: str, rule: str) -> None:
    assert result.returncode != 0, f"accepted: {result.stdout}"
    refusals = [line for line in result.stderr.splitlines() if field in line and rule in line]
    assert refusals, f"expected {field!r} with {rule!r} in:\n{result.stderr}"


ID = "identifier-member-1.yaml"
POOL = "pool.yaml"
REQ = {"key": "computenet.io/region", "operator": "In", "values": ["cn-east"]}


@pytest.mark.parametrize(
    ("name", "path", "value", "field", "rule"),
    [
        # ComputeIdentifier: where it is and how to reach it
        pytest.param(ID, "uri", "cpi://acme/cn-east", "spec.uri", "must look like cpi://", id="uri with two segments"),
        pytest.param(ID, "uri", "cpi://Acme/cn-east/m1", "spec.uri", "must look like cpi://", id="uri in upper case"),
        pytest.param(ID, "uri", "cpi://acme/cn-west/m1", "spec.uri", "region segment", id="uri region differs"),
        pytest.param(
            ID, "uri", "cpi://acme/cn-east/m1/h100", "spec.connection", "nodeSelector", id="partition, no selector"
        ),
        pytest.param(ID, "provider", "Acme", "spec.provider", "should match", id="provider in upper case"),
        pytest.param(ID, "zone", "a.b", "spec.zone", "should match", id="upstream TestIsDNS1123Label bad 'a.b' zone"),
        pytest.param(
            ID,
            "connection.targetNamespace",
            "Work_Loads",
            "spec.connection.targetNamespace",
            "should match",
            id="upstream TestIsDNS1123Label bad target namespace",
        ),
        pytest.param(
            ID,
            "connection.targetNamespace",
            "a" * 64,
            "spec.connection.targetNamespace",
            "Too long",
            id="upstream TestIsDNS1123Label bad 64 characters",
        ),
        pytest.param(
            ID,
            "connection.secretRef.name",
            "a..b",
            "spec.connection.secretRef.name",
            "should match",
            id="upstream TestIsDNS1123Subdomain bad 'a..b'",
        ),
        pytest.param(
            ID,
            "connection.secretRef.key",
            "..bad",
            "spec.connection.secretRef.key",
            "must not be '.' or '..'",
            id="upstream TestIsConfigMapKey failure '..bad'",
        ),
        pytest.param(
            ID,
            "connection.secretRef.key",
            ".",
            "spec.connection.secretRef.key",
            "must not be '.' or '..'",
            id="upstream TestIsConfigMapKey failure '.'",
        ),
        pytest.param(
            ID,
            "connection.secretRef.key",
            "b*d",
            "spec.connection.secretRef.key",
            "should match",
            id="upstream TestIsConfigMapKey failure 'b*d'",
        ),
        pytest.param(
            ID,
            "connection.nodeSelector",
            {"matchExpressions": [{"key": "gpu", "operator": "Exists", "values": ["x"]}]},
            "spec.connection.nodeSelector.matchExpressions[0].values",
            "empty for Exists and DoesNotExist",
            id="upstream ValidateLabelSelectorRequirement partition Exists with values",
        ),
        pytest.param(
            ID,
            "connection.nodeSelector",
            {"matchExpressions": [{"key": "gpu", "operator": "Gt", "values": ["1"]}]},
            "spec.connection.nodeSelector.matchExpressions[0].operator",
            "Unsupported value",
            id="Gt is not a label selector operator",
        ),
        pytest.param(
            ID,
            "connection.nodeSelector",
            {"matchLabels": {"a" * 254 + "/gpu": "h100"}},
            "spec.connection.nodeSelector.matchLabels",
            "no more than 253 characters",
            id="upstream TestIsQualifiedName error prefix of 254 characters",
        ),
        pytest.param(
            ID,
            "connection.nodeSelector",
            {},
            "spec.connection.nodeSelector",
            "must not be empty",
            id="empty partition selector",
        ),
        # ComputeIdentifier: what it costs and how near it is
        pytest.param(ID, "pricing.currency", "usd", "spec.pricing.currency", "should match", id="currency lower case"),
        pytest.param(
            ID,
            "pricing.perCpuCoreHour",
            -0.01,
            "spec.pricing.perCpuCoreHour",
            "greater than or equal to 0",
            id="negative price",
        ),
        pytest.param(
            ID,
            "pricing.perAcceleratorHour",
            {"NVIDIA H100": 2},
            "spec.pricing.perAcceleratorHour",
            "every key must be an accelerator model",
            id="accelerator model with a space",
        ),
        pytest.param(
            ID,
            "network.latencyMs",
            {"cn-east": -1},
            "spec.network.latencyMs.cn-east",
            "greater than or equal to 0",
            id="negative latency",
        ),
        pytest.param(
            ID,
            "network.latencyMs",
            {"CN_East": 3},
            "spec.network.latencyMs",
            "every key must be a region name",
            id="latency to a region that cannot exist",
        ),
        pytest.param(
            ID, "network.bandwidthGbps", 0, "spec.network.bandwidthGbps", "greater than 0", id="zero bandwidth"
        ),
        pytest.param(ID, "architectures", [], "spec.architectures", "should have at least 1", id="no architecture"),
        # ComputePool
        pytest.param(
            POOL,
            "identifierSelector",
            {"matchExpressions": [{"key": "-key", "operator": "In", "values": ["value"]}]},
            "spec.identifierSelector.matchExpressions[0].key",
            "should match",
            id="upstream TestLabelSelectorMatchExpression key name isn't valid",
        ),
        pytest.param(
            POOL,
            "identifierSelector",
            {"matchExpressions": [{"key": "key", "operator": "abc", "values": ["value"]}]},
            "spec.identifierSelector.matchExpressions[0].operator",
            "Unsupported value",
            id="upstream TestLabelSelectorMatchExpression operator isn't valid",
        ),
        pytest.param(
            POOL,
            "identifierSelector",
            {"matchExpressions": [{"key": "key", "operator": "In", "values": ["-value"]}]},
            "spec.identifierSelector.matchExpressions[0].values[0]",
            "should match",
            id="upstream TestLabelSelectorMatchExpression value name isn't valid",
        ),
        pytest.param(
            POOL,
            "identifierSelector",
            {"matchExpressions": [{"key": "key", "operator": "NotIn"}]},
            "spec.identifierSelector.matchExpressions[0].values",
            "non-empty for In and NotIn",
            id="upstream ValidateLabelSelectorRequirement NotIn without values",
        ),
        pytest.param(
            POOL,
            "identifierSelector",
            {"matchExpressions": [{"key": "a" * 254 + "/b", "operator": "Exists"}]},
            "spec.identifierSelector.matchExpressions[0].key",
            "no more than 253 characters",
            id="upstream TestIsQualifiedName error key prefix of 254 characters",
        ),
        pytest.param(
            POOL,
            "identifierSelector",
            {"matchLabels": {"Example.com/abc": "x"}},
            "spec.identifierSelector.matchLabels",
            "every key must be a label key",
            id="upstream TestIsQualifiedName error 'Example.com/abc'",
        ),
        pytest.param(
            POOL, "placement.weights.price", -1, "spec.placement.weights.price", "greater than or equal to 0", id="w<0"
        ),
    ],
)
def test_a_member_spec_that_can_never_work_is_refused_naming_the_field(
    hub: Any, name: str, path: str, value: Any, field: str, rule: str
) -> None:
    assert_refused(dry_run(hub, mutate(name, path, value)), field, rule)


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        pytest.param(ID, "connection.secretRef.key", ".so.is.this", id="upstream TestIsConfigMapKey success"),
        pytest.param(ID, "connection.secretRef.name", "a" * 253, id="upstream TestIsDNS1123Subdomain 253"),
        pytest.param(ID, "connection.targetNamespace", "a" * 63, id="upstream TestIsDNS1123Label 63"),
        pytest.param(
            ID,
            "connection.nodeSelector",
            {"matchLabels": {"a" * 253 + "/" + "b" * 63: "Uppercase_Is_OK_123"}},
            id="upstream TestIsQualifiedName longest key",
        ),
        pytest.param(
            POOL,
            "identifierSelector",
            {"matchExpressions": [{"key": "key", "operator": "In", "values": [""]}]},
            id="upstream TestIsValidLabelValue empty value",
        ),
        pytest.param(
            POOL,
            "identifierSelector",
            {"matchExpressions": [{"key": "computenet.io/region", "operator": "Exists"}]},
            id="every identifier that has a region",
        ),
    ],
)
def test_an_upstream_valid_value_is_accepted(hub: Any, name: str, path: str, value: Any) -> None:
    result = dry_run(hub, mutate(name, path, value))
    assert result.returncode == 0, result.stderr


# ---- quantities as Kubernetes reads them ------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(0.5, id="cpu: 0.5"),
        pytest.param(2, id="cpu: 2"),
        pytest.param("500m", id='cpu: "500m"'),
        pytest.param(1.5, id="cpu: 1.5"),
    ],
)
def test_cpu_is_accepted_as_kubernetes_accepts_it(hub: Any, value: Any) -> None:
    result = dry_run(hub, mutate("task-gpu.yaml", "resources.cpu", value))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        pytest.param("abc", "should match", id='cpu: "abc"'),
        pytest.param(-1, "greater than 0", id="cpu: -1"),
        pytest.param("-1", "should match", id='cpu: "-1"'),
        pytest.param(0, "greater than 0", id="cpu: 0"),
        pytest.param(5000, "less than or equal to 4096", id="cpu: 5000"),
    ],
)
def test_cpu_that_kubernetes_refuses_is_refused_naming_the_field(hub: Any, value: Any, rule: str) -> None:
    assert_refused(dry_run(hub, mutate("task-gpu.yaml", "resources.cpu", value)), "spec.resources.cpu", rule)


def test_cpu_true_passes_the_open_schema_and_the_operator_refuses_it(hub: Any) -> None:
    """No structural schema types "number or string" and CEL cannot see an untyped field, so a
    boolean passes the API server; the operator's validation refuses it naming the field (Valid=False)."""
    document = mutate("task-gpu.yaml", "resources.cpu", True)
    assert dry_run(hub, document).returncode == 0
    problems = validate_task(document["spec"])
    assert "spec.resources.cpu" in [problem.field for problem in problems], problems


def test_int_or_string_quantities_refuse_floats_naming_the_field(hub: Any) -> None:
    """data.size keeps int-or-string with CEL bounds: 0.5 is refused there, with the field named."""
    assert_refused(dry_run(hub, mutate("task-gpu.yaml", "data.size", 0.5)), "spec.data.size", "integer")
