"""The data path's API: task inputs, outputs and credentials, identifier storage, ComputeDataset.

Every value that can never work is refused with the field named; the models are the CRD's source,
so the API server refuses the same (the schema patterns and CEL rules come from the same models).
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from computenet.api.crd import KINDS, crd
from computenet.api.data import ComputeDataset, DataStaging, IdentifierStorage

SHA = "sha256:" + "ab" * 32


def staging(**fields: Any) -> dict[str, Any]:
    return {"inputs": [{"uri": "s3://train-data/x.bin", "mountPath": "/data/x.bin"}], **fields}


def test_a_task_names_inputs_outputs_and_credentials() -> None:
    data = DataStaging.model_validate(
        {
            "inputs": [
                {"uri": "s3://train-data/shards/", "mountPath": "/data/shards", "size": "20Gi", "checksum": SHA},
                {"dataset": "imagenet-mini", "mountPath": "/data/imagenet"},
            ],
            "outputs": [{"mountPath": "/out", "uri": "s3://results/run-1/"}],
            "credentials": [{"bucket": "train-data", "endpoint": "https://s3.example.com", "secretName": "train-keys"}],
        }
    )
    assert data.inputs is not None
    assert [i.mount_path for i in data.inputs] == ["/data/shards", "/data/imagenet"]
    assert data.credentials is not None
    assert data.credentials[0].secret_name == "train-keys"


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        pytest.param(
            {"inputs": [{"mountPath": "/d"}]},
            "inputs.0",
            "set exactly one of uri and dataset",
            id="neither uri nor dataset",
        ),
        pytest.param(
            {"inputs": [{"uri": "s3://abc/k", "dataset": "d", "mountPath": "/d"}]},
            "inputs.0",
            "set exactly one of uri and dataset",
            id="both uri and dataset",
        ),
        pytest.param(
            {"inputs": [{"uri": "gs://abc/k", "mountPath": "/d"}]}, "inputs.0.uri", "pattern", id="not an s3 URI"
        ),
        pytest.param(
            {"inputs": [{"uri": "s3://Abc/k", "mountPath": "/d"}]}, "inputs.0.uri", "pattern", id="upper-case bucket"
        ),
        pytest.param(
            {"inputs": [{"uri": "s3://abc/k", "mountPath": "data"}]},
            "inputs.0.mountPath",
            "pattern",
            id="relative path",
        ),
        pytest.param(
            {"inputs": [{"uri": "s3://abc/k", "mountPath": "/d/"}]},
            "inputs.0.mountPath",
            "pattern",
            id="trailing slash in the mount path",
        ),
        pytest.param(
            {"inputs": [{"uri": "s3://abc/k", "mountPath": "/d", "checksum": "md5:00"}]},
            "inputs.0.checksum",
            "pattern",
            id="checksum not sha256",
        ),
        pytest.param(
            {"inputs": [{"uri": "s3://abc/k", "mountPath": "/d", "size": "lots"}]},
            "inputs.0.size",
            "quantity",
            id="size not a quantity",
        ),
        pytest.param(
            staging(inputs=[{"uri": "s3://abc/a", "mountPath": "/d"}, {"uri": "s3://abc/b", "mountPath": "/d"}]),
            "inputs",
            "duplicate mount_path",
            id="two inputs at one path",
        ),
        pytest.param(
            {"outputs": [{"mountPath": "/out"}]}, "outputs.0.uri", "Field required", id="an output without a uri"
        ),
        pytest.param(
            {"credentials": [{"bucket": "abc", "endpoint": "ftp://store.example.com", "secretName": "k"}]},
            "credentials.0.endpoint",
            "pattern",
            id="endpoint not http(s)",
        ),
        pytest.param(
            {
                "credentials": [
                    {"bucket": "abc", "endpoint": "http://a:1", "secretName": "k"},
                    {"bucket": "abc", "endpoint": "http://b:1", "secretName": "k2"},
                ]
            },
            "credentials",
            "duplicate bucket",
            id="two credentials for one bucket",
        ),
        pytest.param(staging(extra=1), "extra", "Extra inputs", id="an unknown field (a typo)"),
    ],
)
def test_bad_data_is_refused_naming_the_field(raw: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        DataStaging.model_validate(raw)
    errors = info.value.errors()
    located = [".".join(str(p) for p in e["loc"]) for e in errors]
    assert any(loc == field or loc.startswith(field + ".") for loc in located), located
    assert message.lower() in str(info.value).lower()


def test_identifier_storage_carries_its_egress_price() -> None:
    storage = IdentifierStorage.model_validate(
        {
            "endpoint": "http://127.0.0.1:8333",
            "bucket": "cn-east-data",
            "secretRef": {"name": "cn-east-store", "namespace": "computenet-system"},
            "egressPricePerGiB": 0.08,
        }
    )
    assert storage.egress_price_per_gib == 0.08
    assert storage.model_dump(exclude_none=True)["egressPricePerGiB"] == 0.08


def test_a_dataset_lists_one_replica_per_region() -> None:
    replica = {"region": "cn-east", "uri": "s3://cn-east-data/ds/", "size": "1Gi"}
    ds = ComputeDataset.model_validate({"metadata": {"name": "ds"}, "spec": {"replicas": [replica]}})
    assert ds.spec.replicas[0].region == "cn-east"
    with pytest.raises(ValidationError, match="duplicate region"):
        ComputeDataset.model_validate({"spec": {"replicas": [replica, {**replica, "uri": "s3://other/ds/"}]}})
    with pytest.raises(ValidationError, match="at least 1 item"):
        ComputeDataset.model_validate({"spec": {"replicas": []}})


def test_the_crds_carry_the_data_path() -> None:
    by_kind = {k.info.kind: crd(k) for k in KINDS}
    dataset = by_kind["ComputeDataset"]
    assert dataset["spec"]["scope"] == "Namespaced"
    task = by_kind["ComputeTask"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    data = task["properties"]["spec"]["properties"]["data"]["properties"]
    assert data["inputs"]["x-kubernetes-list-map-keys"] == ["mountPath"]
    assert {"rule": "has(self.uri) != has(self.dataset)", "message": "set exactly one of uri and dataset"} in data[
        "inputs"
    ]["items"]["x-kubernetes-validations"]
    identifier = by_kind["ComputeIdentifier"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert "egressPricePerGiB" in identifier["properties"]["spec"]["properties"]["storage"]["properties"]
