"""The real hub API server accepts the samples and refuses bad input, naming the field and the rule.

Each invalid manifest is one mistake a user might make, applied to an otherwise valid sample with
``--dry-run=server``: the API server runs the full schema and CEL validation and stores nothing.
One mistake per manifest matters, because the API server skips CEL rules when the schema already
failed.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from computenet.api.constants import KINDS
from computenet.quantity import is_quantity
from support.timeouts import JOB_S, STATE_S
from support.wait import eventually

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "samples").rglob("*.yaml"))
CONTAINERS = "template.spec.template.spec.containers"


@pytest.fixture(scope="module", autouse=True)
def crds(federation: Any) -> None:
    """Install the CRDs from crds/ on the hub and wait until kubectl can use them."""
    hub = federation.hub
    hub.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    for kind in KINDS:
        hub.kubectl("wait", "--for=condition=Established", f"crd/{kind.crd_name}", "--timeout=60s")

    def short_names_resolve() -> bool:
        # Established means served; kubectl may still hold a discovery cache from before.
        return hub.kubectl("get", "cid,cpool,ctask", "-A", "-o", "name", check=False).returncode == 0

    eventually(short_names_resolve, timeout=STATE_S)


def dry_run(hub: Any, document: dict[str, Any]) -> Any:
    # JSON, not YAML: PyYAML writes the string "1e30" unquoted, and kubectl would read a number.
    return hub.kubectl("apply", "--dry-run=server", "-n", "default", "-f", "-", input=json.dumps(document), check=False)


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "samples" / name).read_text())
    assert isinstance(document, dict)
    return document


DELETE = object()


def mutate(sample: str, path: str, value: Any) -> dict[str, Any]:
    """The sample with one field under spec set (or deleted, for DELETE)."""
    document = copy.deepcopy(load(sample))
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


def test_explain_shows_field_docs(hub: Any) -> None:
    def explain(what: str) -> str:
        # kubectl explain reads the API server's OpenAPI, which follows a new CRD a little later than `get`.
        out = hub.kubectl("explain", what, check=False)
        assert out.returncode == 0, out.stderr
        return str(out.stdout)

    explained = eventually(lambda: explain("ctask.spec"), timeout=STATE_S)
    assert "Replicas, placed together in one identifier" in explained
    assert "resources\t<Object>" in explained
    assert "resources\t<Object> -required-" not in explained, "left out, it is taken from the template"
    nested = eventually(lambda: explain("cid.spec.connection.secretRef.key"), timeout=STATE_S)
    assert "Key within the Secret that holds the kubeconfig" in nested


def _renamed(document: dict[str, Any]) -> dict[str, Any]:
    """The sample under a name of its own, so a running federation's member-1 or default pool (same
    names, other values, some immutable) cannot turn a dry-run create into a refused update."""
    document["metadata"]["name"] = f"sample-{document['metadata']['name']}"
    return document


@pytest.mark.parametrize("path", SAMPLES, ids=[str(path.relative_to(ROOT)) for path in SAMPLES])
def test_sample_is_accepted(hub: Any, path: Path) -> None:
    result = dry_run(hub, _renamed(yaml.safe_load(path.read_text())))
    assert result.returncode == 0, result.stderr
    assert "created (server dry run)" in result.stdout


def test_samples_apply_together(hub: Any) -> None:
    documents = [_renamed(yaml.safe_load(path.read_text())) for path in (ROOT / "samples").glob("*.yaml")]
    stream = yaml.safe_dump_all(documents)
    result = hub.kubectl("apply", "--dry-run=server", "-n", "default", "-f", "-", input=stream, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("created (server dry run)") == len(documents)


def test_template_copied_from_kubectl_create_is_accepted(hub: Any) -> None:
    """``kubectl create job --dry-run=client -o yaml`` writes creationTimestamp: null into templates."""
    document = mutate("task-gpu.yaml", "template.metadata", {"creationTimestamp": None})
    document["spec"]["template"]["spec"]["template"]["metadata"] = {"creationTimestamp": None}
    result = dry_run(hub, document)
    assert result.returncode == 0, result.stderr


NEVER = "Never"


@pytest.mark.parametrize(
    ("sample", "path", "value", "field", "rule"),
    [
        # ComputeTask: sizes and counts
        pytest.param("task-gpu.yaml", "replicas", 0, "spec.replicas", "greater than or equal to 1", id="zero replicas"),
        pytest.param(
            "task-gpu.yaml",
            "replicas",
            -1,
            "spec.replicas",
            "greater than or equal to 1",
            id="negative replicas",
        ),
        pytest.param(
            "task-gpu.yaml",
            "replicas",
            1_000_000,
            "spec.replicas",
            "less than or equal to 10000",
            id="absurd replicas",
        ),
        pytest.param(
            "task-gpu.yaml",
            "resources.accelerators.count",
            0,
            "spec.resources.accelerators.count",
            "greater than or equal to 1",
            id="zero GPUs",
        ),
        pytest.param(
            "task-gpu.yaml",
            "resources.accelerators.count",
            0.5,
            "spec.resources.accelerators.count",
            "must be of type integer",
            id="fractional GPU",
        ),
        pytest.param(
            "task-gpu.yaml",
            "resources.accelerators.count",
            65,
            "spec.resources.accelerators.count",
            "less than or equal to 64",
            id="too many GPUs per replica",
        ),
        pytest.param(
            "task-gpu.yaml",
            "resources.accelerators.count",
            "2",
            "spec.resources.accelerators.count",
            "must be of type integer",
            id="GPU count as a string",
        ),
        # variants and compute requests
        pytest.param(
            "task-variants.yaml", "variants.1.name", "h100", "spec.variants[1]", "Duplicate value", id="variant twice"
        ),
        pytest.param(
            "task-variants.yaml",
            "resources.accelerators.vendor",
            "nvidia",
            "spec.resources.accelerators",
            "conflicts with spec.variants",
            id="top-level accelerators that say which devices beside variants",
        ),
        pytest.param(
            "task-gpu.yaml",
            "resources.accelerators.compute",
            {"tflops": 800, "precision": "bf16"},
            "spec.resources.accelerators.count",
            "compute chooses the count per replica",
            id="compute beside a count",
        ),
        pytest.param(
            "task-gpu.yaml",
            "resources.accelerators.compute",
            {"tflops": 800, "precision": "fp4"},
            "spec.resources.accelerators.compute.precision",
            "Unsupported value",
            id="a precision the catalogue has no figures for",
        ),
        # spec quantities are strings or numbers: the pattern checks strings, the bounds numbers
        pytest.param(
            "task-gpu.yaml", "resources.cpu", "lots", "spec.resources.cpu", "should match", id="malformed cpu"
        ),
        pytest.param("task-gpu.yaml", "resources.cpu", 0, "spec.resources.cpu", "greater than 0", id="zero cpu"),
        pytest.param("task-gpu.yaml", "resources.cpu", -0.5, "spec.resources.cpu", "greater than 0", id="negative cpu"),
        pytest.param(
            "task-gpu.yaml", "resources.cpu", 5000, "spec.resources.cpu", "less than or equal to", id="absurd cpu"
        ),
        pytest.param(
            "task-gpu.yaml",
            "resources.memory",
            "-1Gi",
            "spec.resources.memory",
            "should match",
            id="negative memory",
        ),
        pytest.param(
            "task-gpu.yaml",
            "resources.memory",
            "64GB",
            "spec.resources.memory",
            "should match",
            id="memory with a bytes suffix",
        ),
        pytest.param(
            "task-gpu.yaml",
            "resources.memory",
            2**60,
            "spec.resources.memory",
            "less than or equal to",
            id="absurd memory",
        ),
        pytest.param("task-gpu.yaml", "data.size", "1e30", "spec.data.size", "at most 100Pi", id="absurd data size"),
        pytest.param(
            "task-gpu.yaml",
            "priority",
            2**31,
            "spec.priority",
            "less than or equal to",
            id="priority beyond int32",
        ),
        pytest.param(
            "task-gpu.yaml",
            "constraints.maxPricePerHour",
            -1,
            "spec.constraints.maxPricePerHour",
            "greater than or equal to 0",
            id="negative max price",
        ),
        # ComputeTask: unknown enum values and names
        pytest.param(
            "task-gpu.yaml",
            "resources.accelerators.vendor",
            "nvida",
            "spec.resources.accelerators.vendor",
            'Unsupported value: "nvida"',
            id="unknown vendor",
        ),
        pytest.param(
            "task-gpu.yaml",
            "constraints.computeClass",
            "quantum",
            "spec.constraints.computeClass",
            'Unsupported value: "quantum"',
            id="unknown compute class",
        ),
        pytest.param(
            "task-gang.yaml",
            "constraints.architectures",
            ["x86"],
            "spec.constraints.architectures[0]",
            'Unsupported value: "x86"',
            id="unknown architecture",
        ),
        pytest.param(
            "task-gpu.yaml",
            "failover",
            {"policy": "Sometimes"},
            "spec.failover.policy",
            'Unsupported value: "Sometimes"',
            id="unknown failover policy",
        ),
        pytest.param(
            "task-gpu.yaml",
            "resources.accelerators.models",
            ["H100 80GB"],
            "spec.resources.accelerators.models[0]",
            "should match",
            id="accelerator model with a space",
        ),
        pytest.param("task-gpu.yaml", "replica", 3, 'unknown field "spec.replica"', "", id="misspelt field"),
        # ComputeTask: cross-field rules
        pytest.param(
            "task-gang.yaml",
            "constraints.regions.forbidden",
            ["cn-west"],
            "spec.constraints.regions.forbidden",
            "a region cannot be both required and forbidden",
            id="region both required and forbidden",
        ),
        pytest.param(
            "task-gpu.yaml",
            "constraints.regions.forbidden",
            ["cn-east"],
            "spec.constraints.regions.forbidden",
            "a region cannot be both preferred and forbidden",
            id="region both preferred and forbidden",
        ),
        pytest.param(
            "task-gang.yaml",
            "constraints.providers.allowed",
            ["untrusted-cloud"],
            "spec.constraints.providers.denied",
            "a provider cannot be both allowed and denied",
            id="provider both allowed and denied",
        ),
        pytest.param(
            "task-gang.yaml",
            "constraints.regions.required",
            ["cn-east", "cn-east"],
            "spec.constraints.regions.required[1]",
            "Duplicate value",
            id="duplicate region",
        ),
        pytest.param(
            "task-offers.yaml",
            "data.region",
            DELETE,
            "spec.constraints.maxLatencyMs",
            "set spec.data.region",
            id="max latency without a data region",
        ),
        # ComputeTask: the Job template
        pytest.param(
            "task-gpu.yaml",
            CONTAINERS,
            [],
            f"spec.{CONTAINERS}",
            "should have at least 1 items",
            id="Job template with empty containers",
        ),
        pytest.param(
            "task-gpu.yaml",
            CONTAINERS,
            DELETE,
            f"spec.{CONTAINERS}",
            "Required value",
            id="Job template without containers",
        ),
        pytest.param(
            "task-gpu.yaml",
            f"{CONTAINERS}.0.image",
            DELETE,
            f"spec.{CONTAINERS}[0].image",
            "Required value",
            id="container without image",
        ),
        pytest.param(
            "task-gpu.yaml",
            "template.spec.template.spec.restartPolicy",
            "Always",
            "spec.template.spec.template.spec.restartPolicy",
            'Unsupported value: "Always"',
            id="restart policy a Job refuses",
        ),
        pytest.param(
            "task-gpu.yaml",
            "template.spec.parallelism",
            2,
            "spec.template.spec.parallelism",
            "must equal spec.replicas",
            id="parallelism other than replicas",
        ),
        pytest.param(
            "task-gpu.yaml",
            "template.spec.completions",
            3,
            "spec.template.spec.completions",
            "must equal spec.replicas",
            id="completions other than replicas",
        ),
        pytest.param(
            "task-gpu.yaml",
            "template.spec.completionMode",
            "Ordered",
            "spec.template.spec.completionMode",
            'Unsupported value: "Ordered"',
            id="unknown completion mode",
        ),
        pytest.param(
            "task-gpu.yaml",
            "template.spec.suspend",
            True,
            "spec.template.spec.suspend",
            "use spec.suspend instead",
            id="suspended Job template",
        ),
        pytest.param(
            "task-gpu.yaml",
            "template.spec.backoffLimit",
            -1,
            "spec.template.spec.backoffLimit",
            "greater than or equal to 0",
            id="negative backoff limit",
        ),
        pytest.param(
            "task-gpu.yaml",
            "template.spec.maxFailedIndexes",
            1,
            "spec.template.spec.maxFailedIndexes",
            "needs Indexed completion",
            id="failed-index limit on a Job that is not Indexed",
        ),
        pytest.param(
            "task-gpu.yaml",
            "template.spec.template.spec.nodeName",
            "gpu-node-7",
            "spec.template.spec.template.spec.nodeName",
            "pins the pod to a node",
            id="pod pinned to a node",
        ),
        pytest.param(
            "task-gpu.yaml",
            "template.spec.template.spec.initContainers",
            [{"name": "train", "image": "busybox"}],
            "spec.template.spec.template.spec.initContainers",
            "cannot have the name of a container",
            id="init container named like a container",
        ),
        pytest.param(
            "task-gpu.yaml",
            CONTAINERS,
            [{"name": "train", "image": "a"}, {"name": "train", "image": "b"}],
            f"spec.{CONTAINERS}[1]",
            "Duplicate value",
            id="two containers of one name",
        ),
        pytest.param(
            "task-gpu.yaml",
            f"{CONTAINERS}.0.resources.requests.cpu",
            -1,
            f"spec.{CONTAINERS}[0].resources.requests.cpu",
            "greater than or equal to 0",
            id="negative container request",
        ),
        pytest.param(
            "task-gpu.yaml",
            f"{CONTAINERS}.0.resources.requests.cpu",
            "-500m",
            f"spec.{CONTAINERS}[0].resources.requests.cpu",
            "should match",
            id="negative container request as a string",
        ),
        pytest.param(
            "task-gpu.yaml",
            f"{CONTAINERS}.0.resources.requests.cpu",
            "1e3m",
            f"spec.{CONTAINERS}[0].resources.requests.cpu",
            "should match",
            id="an exponent with a suffix is no quantity",
        ),
        pytest.param(
            "task-gpu.yaml",
            "template.metadata",
            {"labels": {"computenet.io/task-uid": "mine"}},
            "spec.template.metadata.labels",
            "reserved for the operator",
            id="reserved label in template",
        ),
        # ComputeIdentifier
        pytest.param(
            "identifier-member-1.yaml",
            "uri",
            "https://acme/cn-east/member-1",
            "spec.uri",
            "must look like cpi://",
            id="URI with another scheme",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "uri",
            "cpi://ACME/cn-east/member-1",
            "spec.uri",
            "must look like cpi://",
            id="URI in upper case",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "uri",
            "cpi://acme/cn-east",
            "spec.uri",
            "must look like cpi://",
            id="URI without cluster",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "provider",
            "globex",
            "spec.uri",
            "the provider segment of uri must equal spec.provider",
            id="URI provider disagrees",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "region",
            "cn-west",
            "spec.uri",
            "the region segment of uri must equal spec.region",
            id="URI region disagrees",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "uri",
            "cpi://acme/cn-east/member-1/gpus",
            "spec.connection",
            "needs connection.nodeSelector",
            id="partition without node selector",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "connection.secretRef",
            {"namespace": "computenet-system", "key": "kubeconfig"},
            "spec.connection.secretRef.name",
            "Required value",
            id="Secret reference without a name",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "computeClass",
            "gpu",
            "spec.computeClass",
            'Unsupported value: "gpu"',
            id="unknown identifier class",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "pricing.perAcceleratorHour.NVIDIA-L4",
            -0.5,
            "spec.pricing.perAcceleratorHour.NVIDIA-L4",
            "greater than or equal to 0",
            id="negative price",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "pricing.currency",
            "usd",
            "spec.pricing.currency",
            "should match",
            id="currency not an ISO code",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "network.latencyMs",
            {"CN East": 3},
            "spec.network.latencyMs",
            "every key must be a region name",
            id="latency to a malformed region",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "connection.nodeSelector",
            {},
            "spec.connection.nodeSelector",
            "must not be empty",
            id="empty node selector",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "connection.nodeSelector",
            {"matchExpressions": [{"key": "gpu", "operator": "In"}]},
            "spec.connection.nodeSelector.matchExpressions[0].values",
            "values must be non-empty for In and NotIn",
            id="In without values",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "connection.nodeSelector",
            {"matchLabels": {"gpu type": "h100"}},
            "spec.connection.nodeSelector.matchLabels",
            "every key must be a label key",
            id="malformed label key",
        ),
        # ComputePool
        pytest.param(
            "pool.yaml",
            "identifierSelector",
            {},
            "spec.identifierSelector",
            "must not be empty",
            id="empty pool selector",
        ),
        pytest.param(
            "pool.yaml",
            "identifierSelector",
            DELETE,
            "spec.identifierSelector",
            "Required value",
            id="no pool selector",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "topology.levels",
            [{"name": "rack", "nodeLabel": "example.com/rack"}, {"name": "pod", "nodeLabel": "example.com/rack"}],
            "spec.topology.levels",
            "each node label names one level",
            id="two levels of one node label",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "topology.levels",
            [{"name": "rack", "nodeLabel": "example.com/a"}, {"name": "rack", "nodeLabel": "example.com/b"}],
            "spec.topology.levels",
            "Duplicate value",
            id="one level name twice",
        ),
        pytest.param(
            "pool.yaml",
            "placement.strategy",
            "Random",
            "spec.placement.strategy",
            'Unsupported value: "Random"',
            id="unknown strategy",
        ),
        pytest.param(
            "pool.yaml",
            "placement.weights",
            {"fit": 0, "price": 0, "locality": 0, "reliability": 0},
            "spec.placement.weights",
            "at least one weight must be greater than 0",
            id="all weights zero",
        ),
        pytest.param(
            "pool.yaml",
            "placement.weights.fit",
            101,
            "spec.placement.weights.fit",
            "less than or equal to 100",
            id="weight above 100",
        ),
    ],
)
def test_invalid_manifest_is_refused(hub: Any, sample: str, path: str, value: Any, field: str, rule: str) -> None:
    result = dry_run(hub, mutate(sample, path, value))
    assert result.returncode != 0, f"accepted: {result.stdout}"
    refusals = [line for line in result.stderr.splitlines() if field in line and rule in line]
    assert refusals, f"expected {field!r} with {rule!r} in:\n{result.stderr}"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param("resources.cpu", 0.5, id="cpu as a YAML float"),
        pytest.param("resources.cpu", 2, id="cpu as a YAML int"),
        pytest.param("resources.memory", 68719476736, id="memory as a YAML int"),
        pytest.param("resources.cpu", "1e0", id="cpu as an exponent"),
        pytest.param("resources.cpu", DELETE, id="cpu left to the template"),
        pytest.param("resources.accelerators.count", DELETE, id="GPU count left to the template"),
        pytest.param(f"{CONTAINERS}.0.resources.requests.cpu", 0.5, id="container cpu as a YAML float"),
        pytest.param(f"{CONTAINERS}.0.resources.limits.cpu", 8, id="container limit as a YAML int"),
        pytest.param(f"{CONTAINERS}.0.resources.requests.memory", "64e9", id="container memory as an exponent"),
        pytest.param(
            "template.spec.template.spec.initContainers",
            [{"name": "sidecar", "image": "busybox", "restartPolicy": "Always", "resources": {"limits": {"cpu": 1}}}],
            id="a sidecar init container",
        ),
    ],
)
def test_what_kubernetes_accepts_is_accepted(hub: Any, path: str, value: Any) -> None:
    result = dry_run(hub, _renamed(mutate("task-gpu.yaml", path, value)))
    assert result.returncode == 0, result.stderr


def test_pod_failure_policy_needs_restart_policy_never(hub: Any) -> None:
    document = mutate("task-gpu.yaml", "template.spec.podFailurePolicy", {"rules": []})
    assert dry_run(hub, _renamed(copy.deepcopy(document))).returncode == 0
    document["spec"]["template"]["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    result = dry_run(hub, document)
    assert result.returncode != 0
    assert "spec.template.spec.template.spec.restartPolicy" in result.stderr
    assert "must be Never when podFailurePolicy is set" in result.stderr


@pytest.mark.parametrize(
    "text",
    [
        "500m",
        "1.5Gi",
        "1e3",
        "100M",
        "1Ki",
        ".5",
        "5.",
        "+1",
        "1E",
        "7n",
        "1KB",
        "1ki",
        "1e3m",
        "1.5.5",
        "e3",
        "0x10",
        "1 Gi",
    ],
)
def test_quantity_parser_agrees_with_the_api_server(hub: Any, text: str) -> None:
    """computenet.quantity must accept exactly what the API server's quantity parser accepts."""
    result = dry_run(hub, mutate("task-gpu.yaml", "data.size", text))
    refused_as_malformed = "spec.data.size" in result.stderr and "Kubernetes quantity" in result.stderr
    assert refused_as_malformed == (not is_quantity(text)), result.stderr


@pytest.fixture
def names() -> str:
    return f"api-test-{uuid.uuid4().hex[:8]}"


def inert_identifier(name: str) -> dict[str, Any]:
    """An identifier no pool selects and no Secret backs, so a running operator leaves it alone."""
    document = load("identifier-member-1.yaml")
    document["metadata"] = {"name": name}
    document["spec"]["uri"] = f"cpi://acme/cn-east/{name}"
    document["spec"]["connection"]["secretRef"]["name"] = f"{name}-no-such-secret"
    return document


def test_uri_is_immutable(hub: Any, names: str) -> None:
    document = inert_identifier(names)
    hub.kubectl("create", "-f", "-", input=yaml.safe_dump(document))
    try:
        document["spec"]["uri"] = f"cpi://acme/cn-east/{names}-moved"
        result = hub.kubectl("apply", "-f", "-", input=yaml.safe_dump(document), check=False)
        assert result.returncode != 0
        assert "spec.uri" in result.stderr
        assert "uri is immutable" in result.stderr
    finally:
        hub.kubectl("delete", "cid", names, "--wait=false", check=False)


def header(output: str) -> list[str]:
    return output.splitlines()[0].split()


def test_kubectl_get_shows_the_printer_columns(hub: Any, names: str) -> None:
    identifier = inert_identifier(names)
    pool = load("pool.yaml")
    pool["metadata"] = {"name": names}
    pool["spec"]["identifierSelector"] = {"matchLabels": {"api-test": names}}
    task = load("task-gang.yaml")
    task["metadata"] = {"name": names}
    task["spec"].update(pool=names, suspend=True)
    hub.kubectl("create", "namespace", names)
    try:
        for document in (identifier, pool):
            hub.kubectl("create", "-f", "-", input=yaml.safe_dump(document))
        hub.kubectl("create", "-n", names, "-f", "-", input=yaml.safe_dump(task))

        cid = hub.kubectl("get", "cid", names).stdout
        assert header(cid) == ["NAME", "URI", "READY", "GPUS", "REGION", "PRICE", "AGE"]
        assert f"cpi://acme/cn-east/{names}" in cid
        assert "cn-east" in cid
        wide = hub.kubectl("get", "cid", names, "-o", "wide").stdout
        assert header(wide)[-4:] == ["PROVIDER", "CLASS", "HEARTBEAT", "AGE"]
        assert header(hub.kubectl("get", "cpool", names).stdout) == [
            "NAME",
            "READY",
            "GPUS",
            "QUEUED",
            "RUNNING",
            "AGE",
        ]
        assert header(hub.kubectl("get", "ctask", "-n", names).stdout) == [
            "NAME",
            "PHASE",
            "IDENTIFIER",
            "GPUS",
            "AGE",
        ]
        everything = hub.kubectl("get", "computenet", "-A").stdout
        assert names in everything, "the computenet category lists all three kinds"
    finally:
        hub.kubectl("delete", "namespace", names, "--wait=false", check=False)
        hub.kubectl("delete", "cid,cpool", names, "--wait=false", check=False)


def test_server_applies_defaults(hub: Any, names: str) -> None:
    task = load("task-offers.yaml")
    task["metadata"] = {"name": names}
    result = hub.kubectl(
        "create", "--dry-run=server", "-n", "default", "-o", "yaml", "-f", "-", input=yaml.safe_dump(task)
    )
    spec = yaml.safe_load(result.stdout)["spec"]
    assert (spec["pool"], spec["replicas"], spec["priority"]) == ("default", 1, 0)
    assert spec["failover"] == {"policy": NEVER, "gracePeriodSeconds": 300, "unavailableSeconds": 600}
    assert spec["template"]["spec"]["template"]["spec"]["restartPolicy"] == NEVER


# ---- edits after dispatch (docs/api.md, "What an edit to a running task does") ----

_GT_TWO = {"key": "topology.example.com/rack", "operator": "Gt", "values": ["two"]}
_NEVER_PLACED = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [_GT_TWO]}]}
    }
}
SPEC_EDITS = [
    ("template", "template.spec.template.spec.containers.0.image", "busybox:edited"),
    ("template", "template.spec.template.spec.containers.0.command", ["sleep", "1"]),  # a field CEL does not type
    ("template", "template.spec.backoffLimit", 7),
    ("replicas", "replicas", 2),
    ("resources", "resources.cpu", "4"),
    ("resources", "resources.accelerators.count", 2),
    ("pool", "pool", "another-pool"),
    ("data", "data.region", "cn-west"),
    ("queueName", "queueName", "another-queue"),
    ("identifier", "identifier", "member-2"),
    ("constraints", "constraints.regions.forbidden", ["cn-west"]),
    ("constraints", "constraints.regions.required", ["cn-east"]),
    ("constraints", "constraints.maxPricePerHour", 4),
    ("constraints", "constraints.architectures", ["amd64"]),
]
RELAXING_EDITS = [  # in this order each is carried out or relaxes the one before
    ("constraints.regions.preferred", ["cn-west"]),
    ("constraints.maxPricePerHour", 6),
    ("priority", 100),
    ("failover", {"policy": "Never", "gracePeriodSeconds": 60}),
    ("constraints", DELETE),
    ("suspend", True),
]


def _set_phase(hub: Any, name: str, phase: str) -> None:
    """Write ``status.phase`` as the operator does, through the status subresource."""
    patch = json.dumps({"status": {"phase": phase, "attempt": 1}})
    hub.kubectl("patch", "ctask", name, "-n", "default", "--subresource=status", "--type=merge", "-p", patch)


def _held_task(hub: Any, name: str, phase: str | None) -> dict[str, Any]:
    """A task in ``phase`` as the operator would have written it.

    Its pods carry a node affinity the operator refuses (``Gt two``), so an operator running on this
    hub never dispatches it and keeps the phase written here (it only adds ``Valid=False``).
    """
    document = mutate("task-gpu.yaml", "template.spec.template.spec.affinity", _NEVER_PLACED)
    document["metadata"] = {"name": name, "namespace": "default"}
    hub.kubectl("apply", "-f", "-", input=json.dumps(document))
    if phase is not None:
        _set_phase(hub, name, phase)
    return document


def _edited(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    edited = copy.deepcopy(document)
    *parents, last = f"spec.{path}".split(".")
    node: Any = edited
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return edited


def _apply(hub: Any, document: dict[str, Any]) -> Any:
    return hub.kubectl("apply", "-f", "-", input=json.dumps(document), check=False)


@pytest.mark.parametrize("phase", ["Dispatching", "Running"])
def test_a_dispatched_task_refuses_edits_of_what_runs_or_where_naming_the_field(
    hub: Any, names: str, phase: str
) -> None:
    document = _held_task(hub, names, phase)
    try:
        for field, path, value in SPEC_EDITS:
            result = _apply(hub, _edited(document, path, value))
            assert result.returncode != 0, f"spec.{path} = {value!r} accepted while {phase}"
            assert "spec: Invalid value" in result.stderr, result.stderr
            assert f"spec.{field} cannot" in result.stderr, "the message names the field"
            assert "while the task is Dispatching or Running" in result.stderr
            assert "set spec.suspend to true" in result.stderr
        assert status_phase(hub, names) == phase
        assert _apply(hub, document).returncode == 0, "applying the unchanged manifest again is no edit"
    finally:
        hub.kubectl("delete", "ctask", names, "-n", "default", "--wait=false", check=False)


def test_a_dispatched_deployment_refuses_edits_of_its_workload(hub: Any, names: str) -> None:
    document = _held_task(hub, names, None)
    pod_template = document["spec"].pop("template")["spec"]["template"]
    document["spec"]["workload"] = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": pod_template}}
    hub.kubectl("replace", "-f", "-", input=json.dumps(document))
    _set_phase(hub, names, "Running")
    try:
        for path, value in [
            ("workload.spec.template.spec.containers.0.image", "busybox:edited"),
            ("workload.spec.minReadySeconds", 30),
            ("workload.kind", "StatefulSet"),
        ]:
            result = _apply(hub, _edited(document, path, value))
            assert result.returncode != 0, f"spec.{path} = {value!r} accepted while Running"
            assert "spec: Invalid value" in result.stderr, result.stderr
            assert "spec.workload cannot change while the task is Dispatching or Running" in result.stderr
    finally:
        hub.kubectl("delete", "ctask", names, "-n", "default", "--wait=false", check=False)


@pytest.mark.parametrize("phase", ["Dispatching", "Running"])
def test_a_dispatched_task_takes_the_edits_it_can_carry_out_or_that_relax_it(hub: Any, names: str, phase: str) -> None:
    document = _held_task(hub, names, phase)
    try:
        for path, value in RELAXING_EDITS:
            document = _edited(document, path, value)
            result = _apply(hub, document)
            assert result.returncode == 0, f"spec.{path} = {value!r} refused while {phase}: {result.stderr}"
        _set_phase(hub, names, "Offered")
        assert _apply(hub, _edited(document, "identifier", "member-1")).returncode == 0, "pinned while it waits"
        _set_phase(hub, names, phase)
        unpinned = _apply(hub, document)
        assert unpinned.returncode == 0, f"removing the pin relaxes it: {unpinned.stderr}"
        assert status_phase(hub, names) == phase
    finally:
        hub.kubectl("delete", "ctask", names, "-n", "default", "--wait=false", check=False)


@pytest.mark.parametrize("phase", [None, "Pending", "Offered"])
def test_a_waiting_task_takes_every_edit(hub: Any, names: str, phase: str | None) -> None:
    document = _held_task(hub, names, phase)
    try:
        for _, path, value in SPEC_EDITS:
            result = _apply(hub, _edited(document, path, value))
            assert result.returncode == 0, f"spec.{path} = {value!r} refused while {phase}: {result.stderr}"
            hub.kubectl("apply", "-f", "-", input=json.dumps(document))
    finally:
        hub.kubectl("delete", "ctask", names, "-n", "default", "--wait=false", check=False)


def test_status_writes_of_a_dispatched_task_are_never_refused(hub: Any, names: str) -> None:
    """The rules compare spec with spec: a status write leaves spec as it is, whatever the phase moves to."""
    _held_task(hub, names, "Dispatching")
    try:
        for status in (
            {"phase": "Running", "startTime": "2026-01-01T00:00:00Z"},
            {"phase": "Running", "usage": {"coreSeconds": 8.0}, "message": "still running"},
            {"phase": "Offered", "placement": None},
            {"phase": "Dispatching", "attempt": 2},
            {"phase": "Succeeded", "completionTime": "2026-01-01T00:01:00Z"},
        ):
            result = hub.kubectl(
                "patch", "ctask", names, "-n", "default", "--subresource=status", "--type=merge",
                "-p", json.dumps({"status": status}), check=False,
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            assert status_phase(hub, names) == status["phase"]
    finally:
        hub.kubectl("delete", "ctask", names, "-n", "default", "--wait=false", check=False)


def status_phase(hub: Any, name: str) -> str | None:
    obj = json.loads(hub.kubectl("get", "ctask", name, "-n", "default", "-o", "json").stdout)
    phase: str | None = (obj.get("status") or {}).get("phase")
    return phase


def test_template_node_affinity_that_cannot_match_is_invalid(hub: Any, operator: Any) -> None:
    """The API server cannot check a node affinity's values; the operator reports them on the object."""
    name = f"gt-two-{uuid.uuid4().hex[:6]}"
    expression = {"key": "topology.example.com/rack", "operator": "Gt", "values": ["two"]}
    terms = [{"matchExpressions": [expression]}]
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}
    task = mutate("task-offers.yaml", "template.spec.template.spec.affinity", affinity)
    task["metadata"] = {"name": name}
    field = (
        "spec.template.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        ".nodeSelectorTerms[0].matchExpressions[0].values[0]"
    )
    hub.kubectl("apply", "-n", "default", "-f", "-", input=json.dumps(task))
    try:

        def valid_false() -> dict[str, Any]:
            obj = json.loads(hub.kubectl("get", "ctask", name, "-n", "default", "-o", "json").stdout)
            conditions = (obj.get("status") or {}).get("conditions") or []
            valid: dict[str, Any] = next((c for c in conditions if c["type"] == "Valid"), {})
            assert valid.get("status") == "False", valid
            return valid

        valid = eventually(valid_false, timeout=2 * JOB_S)
        assert valid["reason"] == "InvalidSpec"
        assert field in valid["message"]
        assert "must be an integer" in valid["message"]
    finally:
        hub.kubectl("delete", "ctask", name, "-n", "default", "--wait=false", check=False)
