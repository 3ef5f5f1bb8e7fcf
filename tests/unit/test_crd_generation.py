"""The CRDs and the API reference are generated from the models, structural, and committed up to date."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, Field

from computenet.api.crd import KINDS, KindDefinition, crd
from computenet.api.fields import cel_string
from computenet.api.generate import CRD_DIR, REFERENCE, check, main, render, write
from computenet.api.schema import SchemaError, structural, structural_problems
from computenet.api.task import EDITS_AFTER_DISPATCH, EditVerdict

ROOT = Path(__file__).resolve().parents[2]
KIND_IDS = [kind.info.kind for kind in KINDS]


def schema_of(kind: KindDefinition) -> dict[str, Any]:
    schema = crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert isinstance(schema, dict)
    return schema


def walk(schema: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield path, schema
    for name, sub in schema.get("properties", {}).items():
        yield from walk(sub, f"{path}.{name}")
    if isinstance(schema.get("additionalProperties"), Mapping):
        yield from walk(schema["additionalProperties"], f"{path}{{}}")
    if "items" in schema:
        yield from walk(schema["items"], f"{path}[]")


def node(schema: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    for part in path.strip(".").split("."):
        schema = schema["properties"][part]
    return schema


def rules(schema: Mapping[str, Any]) -> list[str]:
    return [rule["message"] for rule in schema.get("x-kubernetes-validations", [])]


OPEN = {"description": "d", "x-kubernetes-preserve-unknown-fields": True}


@pytest.mark.parametrize(
    ("schema", "problems"),
    [
        pytest.param({**OPEN, "not": {"enum": [True, False]}}, [], id="not with an enum is a value validation"),
        pytest.param({**OPEN, "not": {"pattern": "^-"}}, [], id="not with a pattern is a value validation"),
        pytest.param(
            {**OPEN, "not": {"type": "boolean"}},
            [".: not may hold only value validations"],
            id="not with a type is not structural",
        ),
        pytest.param(
            {**OPEN, "not": {"enum": [True], "description": "x"}},
            [".: not may hold only value validations"],
            id="not with a description is not structural",
        ),
        pytest.param({**OPEN, "not": {}}, [".: not may hold only value validations"], id="an empty not"),
    ],
)
def test_not_holds_only_value_validations(schema: dict[str, Any], problems: list[str]) -> None:
    """Upstream's rule: apiextensions-apiserver v0.36.3 schema/validation.go, validateNestedValueValidation."""
    assert [p.split(" (")[0] for p in structural_problems(schema)] == problems


def test_quantities_that_accept_numbers_refuse_booleans_in_the_crd() -> None:
    schema = schema_of(next(k for k in KINDS if k.info.kind == "ComputeTask"))
    cpu = node(schema, ".spec.resources.cpu")
    assert cpu["not"] == {"enum": [True, False]}
    assert cpu["x-kubernetes-preserve-unknown-fields"] is True


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_schema_is_structural(kind: KindDefinition) -> None:
    schema = schema_of(kind)
    assert structural_problems(schema) == []
    for path, sub in walk(schema):
        assert "$ref" not in sub, path
        assert sub.get("additionalProperties") is not False, path
        assert "anyOf" not in sub or sub.get("x-kubernetes-int-or-string") is True, path
        assert "nullable" not in sub, path


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_every_field_is_documented(kind: KindDefinition) -> None:
    schema = schema_of(kind)
    undocumented = [
        path
        for path, sub in walk(schema)
        if path and not path.endswith(("[]", "{}")) and path != ".metadata" and not sub.get("description")
    ]
    assert undocumented == []


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_names_scope_and_subresources(kind: KindDefinition) -> None:
    document = crd(kind)
    spec = document["spec"]
    assert document["apiVersion"] == "apiextensions.k8s.io/v1"
    assert document["metadata"]["name"] == kind.info.crd_name
    assert spec["group"] == "computenet.io"
    assert spec["names"]["shortNames"] == list(kind.info.short_names)
    assert spec["names"]["categories"] == ["computenet"]
    assert spec["scope"] == ("Namespaced" if kind.info.namespaced else "Cluster")
    (version,) = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_printer_columns_point_at_real_fields(kind: KindDefinition) -> None:
    schema = schema_of(kind)
    columns = crd(kind)["spec"]["versions"][0]["additionalPrinterColumns"]
    assert columns[-1]["name"] == "Age"
    for column in columns[:-1]:
        path = column["jsonPath"].split("[")[0]  # .status.conditions[?(@.type=="Ready")].status
        target = node(schema, path)
        if "[" in column["jsonPath"]:
            target = node(target["items"], column["jsonPath"].rsplit(".", 1)[1])
        expected = {"string": "string", "integer": "integer", "date": "string"}[column["type"]]
        assert target["type"] == expected, column


@pytest.mark.parametrize(
    ("kind", "columns"),
    [
        pytest.param(KINDS[0], ["URI", "Ready", "GPUs", "Region", "Price", "Age"], id="identifier"),
        pytest.param(KINDS[1], ["Ready", "GPUs", "Queued", "Running", "Age"], id="pool"),
        pytest.param(KINDS[2], ["Phase", "Identifier", "GPUs", "Age"], id="task"),
    ],
)
def test_default_columns_make_kubectl_get_useful(kind: KindDefinition, columns: list[str]) -> None:
    shown = [c["name"] for c in crd(kind)["spec"]["versions"][0]["additionalPrinterColumns"] if not c.get("priority")]
    assert shown == columns


@pytest.mark.parametrize("path", [".spec.data.size"])
def test_quantities_are_int_or_string_with_rules(path: str) -> None:
    field = node(schema_of(KINDS[2]), path)
    assert field["x-kubernetes-int-or-string"] is True
    assert field["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    assert "type" not in field
    assert field["maxLength"] == 64
    assert any("Kubernetes quantity" in message for message in rules(field))
    assert any("at most" in message for message in rules(field))


@pytest.mark.parametrize(
    ("kind", "path", "key", "value"),
    [
        pytest.param(KINDS[2], ".spec.replicas", "maximum", 10_000, id="replicas bounded"),
        pytest.param(KINDS[2], ".spec.replicas", "default", 1, id="replicas default"),
        pytest.param(KINDS[2], ".spec.resources.accelerators.count", "type", "integer", id="whole GPUs"),
        pytest.param(KINDS[2], ".spec.resources.accelerators.count", "maximum", 64, id="GPUs per replica bounded"),
        pytest.param(KINDS[2], ".spec.priority", "minimum", -1_000_000_000, id="priority within int32"),
        pytest.param(KINDS[2], ".spec.constraints.regions.required", "maxItems", 32, id="lists bounded for CEL"),
        pytest.param(
            KINDS[2],
            ".spec.constraints.regions.required",
            "x-kubernetes-list-type",
            "set",
            id="regions are a set",
        ),
        pytest.param(KINDS[2], ".spec.failover.policy", "enum", ["Never", "Requeue"], id="failover policies"),
        pytest.param(KINDS[0], ".spec.connection.secretRef.key", "default", "kubeconfig", id="kubeconfig key"),
        pytest.param(KINDS[0], ".spec.connection.secretRef", "required", ["name", "namespace"], id="secret names"),
        pytest.param(KINDS[0], ".spec.uri", "maxLength", 261, id="uri bounded"),
        pytest.param(
            KINDS[0],
            ".status.conditions",
            "x-kubernetes-list-map-keys",
            ["type"],
            id="conditions keyed by type",
        ),
        pytest.param(KINDS[1], ".spec", "required", ["identifierSelector"], id="pool needs a selector"),
    ],
)
def test_schema_details(kind: KindDefinition, path: str, key: str, value: Any) -> None:
    assert node(schema_of(kind), path)[key] == value


@pytest.mark.parametrize(
    ("kind", "path", "message"),
    [
        pytest.param(KINDS[2], ".spec.constraints.regions", "both required and forbidden", id="regions"),
        pytest.param(KINDS[2], ".spec.constraints.providers", "both allowed and denied", id="providers"),
        pytest.param(KINDS[2], ".spec", "set spec.data.region", id="latency needs data region"),
        pytest.param(KINDS[2], ".spec.template.metadata", "reserved for the operator", id="reserved labels"),
        pytest.param(KINDS[0], ".spec", "provider segment of uri", id="uri provider"),
        pytest.param(KINDS[0], ".spec", "region segment of uri", id="uri region"),
        pytest.param(KINDS[0], ".spec", "needs connection.nodeSelector", id="partition selector"),
        pytest.param(KINDS[0], ".spec.uri", "uri is immutable", id="uri immutable"),
        pytest.param(KINDS[0], ".spec.network.latencyMs", "every key must be a region name", id="map keys"),
        pytest.param(KINDS[1], ".spec.identifierSelector", "must not be empty", id="selector not empty"),
        pytest.param(KINDS[1], ".spec.placement.weights", "at least one weight", id="weights"),
    ],
)
def test_cross_field_rules_are_cel(kind: KindDefinition, path: str, message: str) -> None:
    assert any(message in text for text in rules(node(schema_of(kind), path)))


def test_every_task_spec_field_says_what_an_edit_does_while_it_runs() -> None:
    spec_fields = list(node(schema_of(KINDS[2]), ".spec")["properties"])
    assert [edit.field for edit in EDITS_AFTER_DISPATCH] == spec_fields, "one row per field, in the spec's order"
    assert KINDS[2].edits == EDITS_AFTER_DISPATCH


def test_edits_of_a_dispatched_task_are_refused_by_one_root_level_transition_rule() -> None:
    schema = schema_of(KINDS[2])
    (rule,) = schema["x-kubernetes-validations"]
    guarded = [e for e in EDITS_AFTER_DISPATCH if e.verdict != EditVerdict.CARRIED_OUT]
    assert {e.field for e in guarded} >= {"template", "resources", "replicas", "constraints"}
    assert not {"suspend", "priority", "failover"} & {e.field for e in guarded}, "carried out, never refused"
    assert rule["fieldPath"] == ".spec"
    assert rule["rule"].startswith("!has(oldSelf.status) || !has(oldSelf.status.phase)")
    assert rule["rule"].count("oldSelf.status.phase in ['Dispatching', 'Running']") == 1, "the phase is read once"
    assert "['Dispatching', 'Running']) || self.spec == oldSelf.spec || (" in rule["rule"], "a status write: one =="
    for edit in guarded:
        assert f"({edit.kept})" in rule["rule"]
        assert edit.refusal.startswith(f"spec.{edit.field} cannot ")
        assert "set spec.suspend to true" in edit.refusal
        assert cel_string(edit.refusal) in rule["messageExpression"], edit.field
    assert "self.spec.template == oldSelf.spec.template" in rule["rule"]
    assert "cannot be tightened" in next(e.refusal for e in guarded if e.field == "constraints")
    assert not any("x-kubernetes-validations" in schema_of(kind) for kind in KINDS if kind is not KINDS[2])


def test_the_reference_has_the_table_of_edits_to_a_running_task() -> None:
    reference = render()[REFERENCE]
    assert "\n### What an edit to a running task does\n" in reference
    assert "| `template` | refused | The member's Job was made from it. |" in reference
    assert "| `suspend` | carried out | `true` ends the attempt" in reference
    assert "| `constraints` | relaxed only |" in reference


def test_template_checks_containers_and_passes_the_rest_through() -> None:
    template = node(schema_of(KINDS[2]), ".spec.template")
    job = template["properties"]["spec"]
    pod = job["properties"]["template"]["properties"]["spec"]
    containers = pod["properties"]["containers"]
    assert job["x-kubernetes-preserve-unknown-fields"] is True
    assert pod["x-kubernetes-preserve-unknown-fields"] is True
    assert pod["required"] == ["containers"]
    assert containers["minItems"] == 1
    assert containers["items"]["required"] == ["name", "image"]
    assert containers["items"]["x-kubernetes-preserve-unknown-fields"] is True


class _Inner(BaseModel):
    """Inner docstring."""

    value: int = Field(description="A value.")


class _Outer(BaseModel):
    inner: _Inner | None = Field(None, description="Field description wins.")
    names: list[str] = Field(default_factory=list, description="Names.")


def test_structural_inlines_refs_and_strips_optional() -> None:
    schema = structural(_Outer.model_json_schema())
    inner = schema["properties"]["inner"]
    assert inner["description"] == "Field description wins."
    assert inner["type"] == "object"
    assert inner["properties"]["value"] == {"description": "A value.", "type": "integer"}
    assert "default" not in inner
    assert "title" not in schema


@pytest.mark.parametrize(
    ("schema", "complaint"),
    [
        pytest.param({"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, "unions", id="union"),
        pytest.param({"type": "array", "uniqueItems": True, "items": {"type": "string"}}, "SetOf", id="python set"),
        pytest.param({"$ref": "#/$defs/Missing"}, "unresolved", id="dangling reference"),
        pytest.param(
            {"type": "object", "patternProperties": {"^a$": {"type": "string"}}, "propertyNames": {}},
            "needs a description",
            id="undescribed map key",
        ),
    ],
)
def test_structural_refuses_what_it_cannot_translate(schema: dict[str, Any], complaint: str) -> None:
    with pytest.raises(SchemaError, match=complaint):
        structural(schema)


def test_committed_files_are_up_to_date() -> None:
    assert check(ROOT) == [], "run `make crds` and commit the result"


def test_render_produces_one_crd_per_kind_and_the_reference() -> None:
    files = render()
    assert set(files) == {CRD_DIR / f"{kind.info.crd_name}.yaml" for kind in KINDS} | {REFERENCE}
    for kind in KINDS:
        document = yaml.safe_load(files[CRD_DIR / f"{kind.info.crd_name}.yaml"])
        assert document == crd(kind), "the YAML must load back to the same CRD (no anchors, no lossy strings)"
    assert "&id" not in "".join(files.values())


def test_reference_documents_every_kind_and_field() -> None:
    reference = render()[REFERENCE]
    for heading in ("## ComputeIdentifier", "## ComputePool", "## ComputeTask", "### ComputeTaskSpec"):
        assert f"\n{heading}\n" in reference
    assert "| `maxLatencyMs` |" in reference
    assert "a region cannot be both required and forbidden" in reference
    assert "One of: `Never`, `Requeue`." in reference
    assert reference.count("### LabelSelector") == 1, "shared types are described once"


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    for relative in render():
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, target)
    return tmp_path


def run_generator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "computenet.api.generate", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_check_passes_on_a_faithful_copy(repo_copy: Path) -> None:
    result = run_generator("--check", "--out", str(repo_copy))
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


@pytest.mark.parametrize(
    ("change", "named"),
    [
        pytest.param("edit", "crds/computetasks.computenet.io.yaml", id="hand-edited CRD"),
        pytest.param("delete", "crds/computepools.computenet.io.yaml", id="missing CRD"),
        pytest.param("stale", "crds/computeleftovers.computenet.io.yaml", id="CRD no model produces"),
        pytest.param("docs", "docs/api.md", id="hand-edited reference"),
    ],
)
def test_check_catches_drift(repo_copy: Path, change: str, named: str) -> None:
    target = repo_copy / named
    if change == "edit":
        target.write_text(target.read_text().replace("maximum: 10000", "maximum: 20000"))
    elif change == "delete":
        target.unlink()
    elif change == "stale":
        target.write_text("kind: CustomResourceDefinition\n")
    else:
        target.write_text(target.read_text() + "\nhand-written note\n")
    result = run_generator("--check", "--out", str(repo_copy))
    assert result.returncode == 1
    assert named in result.stderr
    assert "make crds" in result.stderr


def test_write_creates_files_and_removes_stale_crds(tmp_path: Path) -> None:
    stale = tmp_path / "crds" / "old.computenet.io.yaml"
    stale.parent.mkdir()
    stale.write_text("old")
    assert main(["--out", str(tmp_path)]) == 0
    assert not stale.exists()
    assert check(tmp_path) == []
    assert write(tmp_path) == [], "writing again changes nothing"
