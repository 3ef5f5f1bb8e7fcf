"""The hub API server accepts the data path's fields and ComputeDataset, and refuses bad ones naming the field.

The CRDs are installed from crds/ and every manifest is applied with ``--dry-run=server``, so the
API server runs the full schema and CEL validation (and its cost estimate) and stores nothing.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from computenet.api.constants import DATASET, IDENTIFIER, TASK

ROOT = Path(__file__).resolve().parents[2]
SHA = "sha256:" + "0f" * 32


@pytest.fixture(scope="module", autouse=True)
def crds(hub: Any) -> None:
    hub.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    for kind in (IDENTIFIER, TASK, DATASET):
        hub.kubectl("wait", "--for=condition=Established", f"crd/{kind.crd_name}", "--timeout=60s")


def dry_run(hub: Any, document: dict[str, Any]) -> Any:
    return hub.kubectl("apply", "--dry-run=server", "-n", "default", "-f", "-", input=json.dumps(document), check=False)


def task_with_data() -> dict[str, Any]:
    task = yaml.safe_load((ROOT / "samples" / "task-gpu.yaml").read_text())
    task["metadata"]["name"] = "data-task"
    task["spec"]["data"] = {
        "region": "cn-east",
        "size": "2Gi",
        "inputs": [
            {"uri": "s3://cn-east-data/train/", "mountPath": "/data/train", "size": "2Gi"},
            {"dataset": "tokenizer", "mountPath": "/data/tok", "checksum": SHA},
        ],
        "outputs": [{"mountPath": "/out", "uri": "s3://results/run-1/"}],
        "credentials": [{"bucket": "cn-east-data", "endpoint": "http://127.0.0.1:8333", "secretName": "east-keys"}],
    }
    return task


DATASET_DOC = {
    "apiVersion": "computenet.io/v1alpha1",
    "kind": "ComputeDataset",
    "metadata": {"name": "tokenizer"},
    "spec": {"replicas": [{"region": "cn-east", "uri": "s3://cn-east-data/tok.bin", "size": "12Mi", "checksum": SHA}]},
}


def test_a_task_with_inputs_outputs_and_credentials_is_accepted(hub: Any) -> None:
    result = dry_run(hub, task_with_data())
    assert result.returncode == 0, result.stderr


def test_a_dataset_is_accepted(hub: Any) -> None:
    result = dry_run(hub, DATASET_DOC)
    assert result.returncode == 0, result.stderr
    assert "computedataset.computenet.io/tokenizer created (server dry run)" in result.stdout


def test_an_identifier_declares_its_store(hub: Any) -> None:
    identifier = yaml.safe_load((ROOT / "samples" / "identifier-member-1.yaml").read_text())
    identifier["metadata"]["name"] = "data-identifier"
    identifier["spec"]["storage"] = {
        "endpoint": "http://127.0.0.1:8333",
        "bucket": "cn-east-data",
        "secretRef": {"name": "cn-east-store", "namespace": "computenet-system"},
        "egressPricePerGiB": 0.05,
    }
    result = dry_run(hub, identifier)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        pytest.param(
            lambda d: d["inputs"][1].pop("dataset"),
            "spec.data.inputs[1]",
            "set exactly one of uri and dataset",
            id="an input with neither uri nor dataset",
        ),
        pytest.param(
            lambda d: d["inputs"][0].update(uri="gs://x/y"), "spec.data.inputs[0].uri", "should match", id="not s3"
        ),
        pytest.param(
            lambda d: d["inputs"][1].update(mountPath="/data/train"),
            "spec.data.inputs[1]",
            "Duplicate value",
            id="two inputs at one path",
        ),
        pytest.param(
            lambda d: d["outputs"][0].update(mountPath="out"),
            "spec.data.outputs[0].mountPath",
            "should match",
            id="a relative output path",
        ),
    ],
)
def test_bad_data_is_refused_naming_the_field(hub: Any, change: Any, field: str, says: str) -> None:
    task = copy.deepcopy(task_with_data())
    change(task["spec"]["data"])
    result = dry_run(hub, task)
    assert result.returncode != 0
    assert field in result.stderr, result.stderr
    assert says in result.stderr, result.stderr
