"""The scheduler's view of ComputeDatasets: taken in, left out when broken, dropped when deleted."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from computenet.signal import Signal
from computenet.tasks.datasets import DatasetBook


def dataset(name: str, region: str = "cn-east", namespace: str = "team-a", **extra: Any) -> dict[str, Any]:
    replica = {"region": region, "uri": f"s3://{region}-data/{name}.bin", "size": "12Mi", **extra}
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeDataset",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": [replica]},
    }


def test_a_dataset_is_known_by_namespace_and_name_and_wakes_the_scheduler() -> None:
    wake = Signal()
    book = DatasetBook(wake)
    book.upsert("team-a/tokenizer", dataset("tokenizer"))
    assert [r.region for r in book.items[("team-a", "tokenizer")].spec.replicas] == ["cn-east"]
    assert wake.version == 1


def test_a_new_replica_replaces_what_was_known() -> None:
    book = DatasetBook(Signal())
    book.upsert("team-a/tokenizer", dataset("tokenizer"))
    book.upsert("team-a/tokenizer", dataset("tokenizer", region="cn-west"))
    assert [r.region for r in book.items[("team-a", "tokenizer")].spec.replicas] == ["cn-west"]


def test_a_dataset_that_does_not_parse_is_left_out_naming_the_field(caplog: pytest.LogCaptureFixture) -> None:
    wake = Signal()
    book = DatasetBook(wake)
    book.upsert("team-a/tokenizer", dataset("tokenizer"))
    with caplog.at_level(logging.WARNING):
        book.upsert("team-a/tokenizer", dataset("tokenizer", uri="http://not-s3/x"))
    assert ("team-a", "tokenizer") not in book.items
    assert "spec.replicas.0.uri" in caplog.text
    assert wake.version == 2  # what placement knew changed


def test_deleted_and_unlisted_datasets_are_dropped() -> None:
    book = DatasetBook(Signal())
    book.upsert("team-a/a", dataset("a"))
    book.upsert("team-b/b", dataset("b", namespace="team-b"))
    book.delete("team-a/a")
    assert list(book.items) == [("team-b", "b")]
    book.replace({"team-c/c": dataset("c", namespace="team-c")})
    assert list(book.items) == [("team-c", "c")]
