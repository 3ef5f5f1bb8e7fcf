"""The data's ETA and cost per identifier next to the compute price, in offers, why and simulate."""

from __future__ import annotations

from typing import Any

import pytest
from placement.builders import H100, node

from computenet.api.pool import ComputePoolSpec
from computenet.cli import data_figures, offers, simulate, why
from computenet.cli.output import table
from computenet.placement import Identifier, Network, Pricing, Store
from computenet.snapshot_export import SnapshotDocument, StoreDoc, identifier_doc, identifier_of, node_doc, pool_doc

GIB = 1 << 30


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        pytest.param(0, "0s", id="nothing to move"),
        pytest.param(0.3, "<1s", id="under a second"),
        pytest.param(45.4, "45s", id="seconds"),
        pytest.param(812, "13m32s", id="minutes and seconds"),
        pytest.param(7500, "2h05m", id="hours and minutes"),
    ],
)
def test_an_eta_reads_like_a_kubectl_age(seconds: float, shown: str) -> None:
    assert data_figures.eta(seconds) == shown


@pytest.mark.parametrize(
    ("row", "cells"),
    [
        pytest.param({}, {}, id="a task without data shows no data cells"),
        pytest.param(
            {"dataBytes": 0, "dataTransferSeconds": 0.0, "dataCost": 0.0, "dataCurrency": "USD"},
            {"dataEta": "0s", "dataCostText": "0.00 USD"},
            id="data already there: nothing to wait for, nothing to pay",
        ),
        pytest.param(
            {"dataBytes": 100 * GIB, "dataTransferSeconds": 859.0, "dataCost": 10.0, "dataCurrency": "USD"},
            {"dataEta": "14m19s", "dataCostText": "10.00 USD"},
            id="data moved: its ETA and egress cost",
        ),
        pytest.param(
            {"dataBytes": 100 * GIB},
            {"dataEta": "?", "dataCostText": "?"},
            id="unknown figures are a question mark, not zero",
        ),
    ],
)
def test_data_cells(row: dict[str, Any], cells: dict[str, str]) -> None:
    assert data_figures.cells(row) == cells


def offered(*entries: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "t", "namespace": "ns"},
        "spec": {"suspend": True},
        "status": {"offers": list(entries)},
    }


WEST_OFFER = {
    "identifier": "west",
    "score": 81.0,
    "fit": 90.0,
    "pricePerHour": 8.0,
    "currency": "USD",
    "dataBytes": 100 * GIB,
    "dataTransferSeconds": 859.0,
    "dataCost": 10.0,
    "dataCurrency": "USD",
}
EAST_OFFER = {
    "identifier": "east",
    "score": 70.0,
    "fit": 90.0,
    "pricePerHour": 10.0,
    "currency": "USD",
    "dataBytes": 0,
    "dataTransferSeconds": 0.0,
    "dataCost": 0.0,
    "dataCurrency": "USD",
}


def test_offers_show_the_datas_eta_and_cost_right_after_the_price() -> None:
    rows = offers.rows(offers.offers_of(offered(WEST_OFFER, EAST_OFFER)))
    assert table(rows, offers.columns(rows), wide=False).splitlines() == [
        "IDENTIFIER   SCORE   FIT    PRICE/H     DATA ETA   DATA COST   MODEL",
        "west         81.0    90.0   8.00 USD    14m19s     10.00 USD   <none>",
        "east         70.0    90.0   10.00 USD   0s         0.00 USD    <none>",
    ]


def test_offers_of_a_task_without_data_print_as_before() -> None:
    rows = offers.rows(offers.offers_of(offered({"identifier": "a", "score": 1.0, "fit": 2.0})))
    assert [c.header for c in offers.columns(rows)] == [c.header for c in offers.COLUMNS]


def test_why_shows_the_datas_figures_of_every_candidate_in_wide_output() -> None:
    task = offered(WEST_OFFER, EAST_OFFER)
    rows, columns = why.table_rows(why.explain(task))
    assert table(rows, columns, wide=True).splitlines() == [
        "IDENTIFIER   VERDICT   SCORE   FIT    MODEL    VARIANT   PRICE/H     DATA ETA   DATA COST   REASON",
        "west         offer     81.0    90.0   <none>   <none>    8.00 USD    14m19s     10.00 USD   -",
        "east         offer     70.0    90.0   <none>   <none>    10.00 USD   0s         0.00 USD    -",
    ]
    assert "DATA ETA" not in table(rows, columns, wide=False)


def cn_snapshot(west_price: float) -> SnapshotDocument:
    """Data in cn-east; west 30 ms away at 1 Gbit/s; each region's store charges for what leaves it."""
    idents = [
        Identifier(
            "east", "c1", region="cn-east", pricing=Pricing("USD", per_accelerator_hour={H100: 10.0}),
            network=Network({"cn-west": 30.0}, 10.0), store=Store(0.10, "USD", "http://cn-east:8333"),
        ),
        Identifier(
            "west", "c2", region="cn-west", pricing=Pricing("USD", per_accelerator_hour={H100: west_price}),
            network=Network({"cn-east": 30.0}, 1.0), store=Store(0.05, "USD", "http://cn-west:8333"),
        ),
    ]  # fmt: skip
    nodes = {"c1": [node("e1").gpus(8, H100).build()], "c2": [node("w1").gpus(8, H100).build()]}
    policy = ComputePoolSpec.model_validate(
        {"identifierSelector": {"matchLabels": {"pool": "default"}}, "placement": {"weights": {"locality": 0}}}
    )
    return SnapshotDocument(
        taken="2026-11-30T12:00:00Z",
        identifiers=[identifier_doc(i) for i in idents],
        nodes={c: [node_doc(n, n.requested, None) for n in ns] for c, ns in nodes.items()},
        pools=[pool_doc("default", policy, ["east", "west"])],
    )


def gpu_task(name: str, data: dict[str, Any], deadline: int | None = None) -> dict[str, Any]:
    job: dict[str, Any] = {
        "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "x"}]}}
    }
    if deadline:
        job["activeDeadlineSeconds"] = deadline
    return {
        "kind": "ComputeTask",
        "metadata": {"name": name},
        "spec": {
            "resources": {"cpu": "1", "memory": "1Gi", "accelerators": {"count": 1}},
            "data": data,
            "template": {"spec": job},
        },
    }


def test_the_snapshot_document_keeps_each_identifiers_store() -> None:
    doc = cn_snapshot(8.0)
    assert identifier_of(doc.identifiers[0]).store == Store(0.10, "USD", "http://cn-east:8333")
    stored = {"egressPricePerGiB": 0.10, "currency": "USD", "endpoint": "http://cn-east:8333"}
    assert doc.model_dump(mode="json")["identifiers"][0]["store"] == stored
    # A snapshot saved by an older operator names no endpoint: it still reads.
    older = StoreDoc.model_validate({"egressPricePerGiB": 0.10, "currency": "USD"})
    assert older.endpoint == ""


@pytest.mark.parametrize(
    ("deadline", "chosen", "eta", "cost"),
    [
        pytest.param(None, "east", "0s", "0.00 USD", id="one hour of 2/h cheaper compute does not pay 10 of egress"),
        pytest.param(36000, "west", "14m19s", "10.00 USD", id="ten hours of it do: the task runs west, its data moved"),
    ],
)
def test_simulate_places_east_data_west_only_when_it_pays(
    deadline: int | None, chosen: str, eta: str, cost: str
) -> None:
    task = gpu_task("train", {"region": "cn-east", "size": "100Gi"}, deadline)
    doc = simulate.simulate([task], cn_snapshot(8.0), "ns")
    entry = doc["tasks"][0]
    assert (entry["result"], entry["identifier"]) == ("placed", chosen)
    row = simulate.table_rows(doc)[0]
    assert (row["dataEta"], row["dataCostText"]) == (eta, cost)
    assert f"{eta}" in table(simulate.table_rows(doc), simulate.COLUMNS, wide=True)


def test_simulate_reads_datasets_beside_the_tasks_and_a_replica_makes_its_region_free() -> None:
    dataset = {
        "kind": "ComputeDataset",
        "metadata": {"name": "corpus"},
        "spec": {
            "replicas": [
                {"region": "cn-east", "uri": "s3://cn-east-data/c/", "size": "100Gi"},
                {"region": "cn-west", "uri": "s3://cn-west-data/c/"},
            ]
        },
    }
    task = gpu_task("train", {"inputs": [{"dataset": "corpus", "mountPath": "/c"}], "maxTransferSeconds": 0})
    doc = simulate.simulate([task], cn_snapshot(8.0), "ns", [dataset])
    entry = doc["tasks"][0]
    assert (entry["identifier"], entry["dataBytes"], entry["dataCost"]) == ("west", 0, 0.0)
    without = simulate.simulate([task], cn_snapshot(8.0), "ns")
    # Not knowing the dataset, placement has nothing to locate: no figures, and nothing for the caps to hold.
    assert "dataBytes" not in without["tasks"][0]


@pytest.mark.parametrize(
    ("endpoint", "chosen", "moved"),
    [
        pytest.param("http://cn-west:8333", "west", 0,
                     id="a URI in the store cn-west's identifier declares sits in cn-west, whatever spec.data.region"),
        pytest.param("http://cn-west:8333/", "west", 0, id="the endpoint's trailing slash does not matter"),
        pytest.param("https://s3.elsewhere.example", "east", 0,
                     id="a URI in a store no identifier declares sits in spec.data.region"),
    ],
)  # fmt: skip
def test_a_uri_input_sits_in_the_region_of_the_identifier_whose_store_holds_it(
    endpoint: str, chosen: str, moved: int
) -> None:
    data = {
        "region": "cn-east",
        "maxTransferSeconds": 0,  # only where the data already is
        "inputs": [{"uri": "s3://cn-west-data/corpus/", "mountPath": "/c", "size": "100Gi"}],
        "credentials": [{"bucket": "cn-west-data", "endpoint": endpoint, "secretName": "keys"}],
    }
    entry = simulate.simulate([gpu_task("train", data)], cn_snapshot(8.0), "ns")["tasks"][0]
    assert (entry["result"], entry["identifier"], entry["dataBytes"]) == ("placed", chosen, moved)


def test_why_live_reads_the_namespaces_datasets_and_says_when_it_could_not() -> None:
    dataset = {
        "kind": "ComputeDataset",
        "metadata": {"name": "corpus", "namespace": "ns"},
        "spec": {"replicas": [{"region": "cn-west", "uri": "s3://cn-west-data/c/", "size": "100Gi"}]},
    }
    task = gpu_task("train", {"region": "cn-east", "inputs": [{"dataset": "corpus", "mountPath": "/c"}]}, 36000)
    task["metadata"]["namespace"] = "ns"
    task["spec"]["data"]["maxTransferSeconds"] = 0
    doc = why.explain(task)
    live = why.relive(doc, task, cn_snapshot(10.0), [dataset])
    rows = {r["identifier"]: r for r in live["identifiers"]}
    assert rows["west"]["verdict"] == "chosen"  # the replica in cn-west makes it free of transfer
    unread = why.relive(doc, task, cn_snapshot(10.0), [], note="ComputeDatasets of ns not read: HTTP 403")
    assert unread["live"].endswith("(ComputeDatasets of ns not read: HTTP 403)")
    assert {r["identifier"]: r["verdict"] for r in unread["identifiers"]}["west"] != "chosen"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param({"inputs": [{"dataset": "corpus", "mountPath": "/c"}]}, True, id="a dataset input: read them"),
        pytest.param(
            {"inputs": [{"uri": "s3://b/k", "mountPath": "/c"}]}, False, id="URI inputs only: nothing to read"
        ),
        pytest.param(None, False, id="no data: nothing to read"),
    ],
)
def test_why_live_reads_datasets_only_for_a_task_that_names_one(data: dict[str, Any] | None, expected: bool) -> None:
    task = gpu_task("train", data or {})
    if data is None:
        del task["spec"]["data"]
    assert why.names_datasets(task) is expected
