"""The endpoint's pure parts: the caller's token, the pod a log request means, the snapshot round trip."""

from __future__ import annotations

from typing import Any

import pytest
from placement.builders import H100, node, task

from computenet.api.pool import ComputePoolSpec
from computenet.cli.endpoint import _message
from computenet.logs.auth import Access, bearer_token
from computenet.logs.pods import COMPLETION_INDEX, choose_pod
from computenet.placement import Assumptions, Identifier, Node, Pricing, SnapshotBuilder, place
from computenet.placement.labels import Selector
from computenet.snapshot_export import (
    SnapshotDocument,
    assumed_requests,
    identifier_doc,
    node_doc,
    pool_doc,
    rebuild,
)


@pytest.mark.parametrize(
    ("headers", "token"),
    [
        pytest.param({"Authorization": "Bearer abc"}, "abc", id="a direct call carries Authorization"),
        pytest.param(
            {"X-Computenet-Authorization": "Bearer xyz"}, "xyz", id="through the hub's service proxy, its own header"
        ),
        pytest.param({"Authorization": "Basic dTpw"}, None, id="basic credentials are no token"),
        pytest.param({"Authorization": "Bearer "}, None, id="an empty bearer is no token"),
        pytest.param({}, None, id="no header, no token"),
    ],
)
def test_bearer_token(headers: dict[str, str], token: str | None) -> None:
    assert bearer_token(headers) == token


def test_access_reads_like_the_hubs_forbidden_message() -> None:
    access = Access("get", "computetasks", "log", "research", "train")
    assert access.describe() == "get computetasks/log.computenet.io 'train' in the namespace \"research\""
    assert (
        Access("list", "computeidentifiers").describe() == "list computeidentifiers.computenet.io at the cluster scope"
    )


def pod(name: str, created: str, index: int | None = None) -> dict[str, Any]:
    labels = {COMPLETION_INDEX: str(index)} if index is not None else {}
    return {"metadata": {"name": name, "namespace": "ns", "labels": labels, "creationTimestamp": created}}


@pytest.mark.parametrize(
    ("pods", "replica", "chosen"),
    [
        pytest.param([pod("a", "2026-01-01T00:00:00Z")], 0, "a", id="a NonIndexed Job's only pod is replica 0"),
        pytest.param(
            [pod("r0", "2026-01-01T00:00:00Z", 0), pod("r1", "2026-01-01T00:00:00Z", 1)],
            1,
            "r1",
            id="an Indexed Job's replica is its completion index",
        ),
        pytest.param(
            [pod("old", "2026-01-01T00:00:00Z", 0), pod("new", "2026-01-01T00:01:00Z", 0)],
            0,
            "new",
            id="among retries of one index the newest pod",
        ),
        pytest.param([pod("r0", "2026-01-01T00:00:00Z", 0)], 3, None, id="no pod of that replica yet"),
    ],
)
def test_choose_pod(pods: list[dict[str, Any]], replica: int, chosen: str | None) -> None:
    found = choose_pod(pods, replica)
    assert (found.name if found else None) == chosen


def test_the_exported_snapshot_rebuilds_to_the_same_decision() -> None:
    """A what-if on the document decides exactly as placement did on the operator's own snapshot."""
    idents = [
        Identifier("east", "c1", region="east", pricing=Pricing("USD", per_accelerator_hour={H100: 2.0})),
        Identifier(
            "west",
            "c2",
            region="west",
            pricing=Pricing("USD", per_accelerator_hour={H100: 1.0}),
            node_selector=Selector.of({"pool": "a"}, [("tier", "In", ["gold"])]),
        ),
    ]
    nodes = {
        "c1": [node("e1").gpus(8, H100).build(), node("e2").gpus(8, H100).used(gpus=4).build()],
        "c2": [node("w1").gpus(8, H100).label("pool", "a").label("tier", "gold").build()],
    }
    builder = SnapshotBuilder()
    for ident in idents:
        builder.upsert_identifier(ident)
    for cluster, ns in nodes.items():
        for n in ns:
            builder.upsert_node(cluster, n, n.requested)
    live = builder.snapshot()
    assumptions = Assumptions()
    first = place(live, task("t1").gpus(8, H100).build())
    assumptions.assume(first, now=0.0)
    doc = SnapshotDocument(
        taken="2026-11-30T12:00:00Z",
        identifiers=[identifier_doc(i) for i in idents],
        nodes={
            c: [node_doc(n, n.requested, assumed_requests(list(assumptions)).get((c, n.name))) for n in ns]
            for c, ns in nodes.items()
        },
        pools=[
            pool_doc(
                "default",
                ComputePoolSpec.model_validate({"identifierSelector": {"matchLabels": {"pool": "default"}}}),
                ["east", "west"],
            )
        ],
    )
    again = SnapshotDocument.model_validate_json(doc.model_dump_json(by_alias=True))
    replayed = rebuild(again)
    second = task("t2").gpus(8, H100).build()
    on_live = place(live, second, assumptions=assumptions)
    on_doc = place(replayed, second)
    assert first.chosen is not None
    assert first.chosen.identifier == "west"  # cheaper
    assert on_live.chosen is not None
    assert on_doc.chosen is not None
    assert on_doc.chosen.identifier == on_live.chosen.identifier == "east"  # west's only node is assumed
    assert on_doc.summary == on_live.summary
    assert replayed.identifier("west").node_selector == idents[1].node_selector


def test_a_node_without_devices_takes_no_assumed_devices() -> None:
    cpu_node = Node("c", allocatable={"cpu": 4000, "memory": 1 << 30})
    doc = node_doc(cpu_node, {}, {"cpu": 1000, "devices": 2})
    assert doc.requested == {"cpu": 1000}


def test_assumed_devices_go_to_the_resource_placement_counts_on_the_node() -> None:
    labels = {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB", "nvidia.com/gpu.count": "4"}
    mig_node = Node("m", allocatable={"cpu": 4000, "nvidia.com/mig-1g.10gb": 28}, labels=labels)
    doc = node_doc(mig_node, {}, {"devices": 2})
    assert doc.requested == {"nvidia.com/mig-1g.10gb": 2}


class _Response:
    def __init__(self, status: int, body: bytes, reason: str = "") -> None:
        self.status, self.body, self.reason = status, body, reason

    def read(self) -> bytes:
        return self.body


@pytest.mark.parametrize(
    ("response", "line"),
    [
        pytest.param(
            _Response(403, b'{"message": "forbidden: User \\"u\\" cannot get computetasks/log"}'),
            'the operator answered HTTP 403: forbidden: User "u" cannot get computetasks/log',
            id="the operator's own refusal",
        ),
        pytest.param(
            _Response(503, b'{"kind": "Status", "message": "no endpoints available for service \\"x\\""}'),
            'the hub answered HTTP 503: no endpoints available for service "x"',
            id="the hub's service proxy refuses with a Status",
        ),
        pytest.param(_Response(502, b"bad gateway\n"), "the operator answered HTTP 502: bad gateway", id="plain text"),
        pytest.param(_Response(500, b"", "Internal"), "the operator answered HTTP 500: Internal", id="no body"),
    ],
)
def test_a_refusal_says_who_refused_in_one_line(response: _Response, line: str) -> None:
    assert _message(response) == line
