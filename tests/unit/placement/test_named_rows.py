"""Finding a named node's rows through the hash columns decides as comparing every name would."""

from __future__ import annotations

import numpy as np
import pytest

from computenet.placement import Node, SnapshotBuilder
from computenet.placement.affinity_columns import rows_named

HOSTNAME = "kubernetes.io/hostname"


def by_name(column: tuple[str, ...], values: tuple[str, ...]) -> list[bool]:
    """The rule: a row is named when its name is one of `values`."""
    return [name in values for name in column]


def hashes_of(column: tuple[str, ...]) -> np.ndarray:
    return np.array([hash(n) for n in column], dtype=np.int64)


NAMES = ("gpu-0", "gpu-1", "cpu-0", "gpu-0", "", "cpu-1")
MANY = tuple(f"n-{i}" for i in range(40))


@pytest.mark.parametrize(
    ("column", "hashes", "values"),
    [
        pytest.param(NAMES, hashes_of(NAMES), ("cpu-0",), id="one name, one row"),
        pytest.param(NAMES, hashes_of(NAMES), ("gpu-0",), id="a name recurring across clusters names every row"),
        pytest.param(NAMES, hashes_of(NAMES), ("absent",), id="a name no node has names no row"),
        pytest.param(NAMES, hashes_of(NAMES), ("gpu-1", "cpu-1", "absent"), id="several names, some absent"),
        pytest.param(NAMES, hashes_of(NAMES), ("",), id="the empty name finds the free rows"),
        pytest.param(NAMES, hashes_of(NAMES), (), id="no names, no rows"),
        pytest.param(
            NAMES,
            np.full(len(NAMES), hash("cpu-0"), dtype=np.int64),
            ("cpu-0",),
            id="rows whose hash collides with the wanted one's are dropped by name",
        ),
        pytest.param(MANY, hashes_of(MANY), (*MANY[::2], "absent"), id="more than a few names: one isin"),
        pytest.param(
            MANY,
            np.full(len(MANY), hash(MANY[0]), dtype=np.int64),
            MANY[:20],
            id="many names, every hash colliding",
        ),
    ],
)
def test_rows_named_is_name_equality(column: tuple[str, ...], hashes: np.ndarray, values: tuple[str, ...]) -> None:
    assert rows_named(column, hashes, values).tolist() == by_name(column, values)


def node(name: str, hostname: str | None = None) -> Node:
    labels = {"kubernetes.io/arch": "amd64", HOSTNAME: hostname or name}
    return Node(name, {"cpu": 4000, "memory": 2**30}, {}, labels)


def test_the_hash_columns_follow_names_and_hostnames_as_nodes_come_are_renamed_and_go() -> None:
    builder = SnapshotBuilder()
    builder.upsert_nodes("a", [node("n0"), node("n1", "host-1"), node("n2")])
    builder.upsert_nodes("b", [node("n0")])
    first = builder.snapshot()
    builder.remove_node("a", "n2")
    builder.upsert_node("b", node("n0", "host-b0"))
    builder.upsert_node("a", node("n3"))
    for snapshot in (first, builder.snapshot()):
        nodes = snapshot.nodes
        assert nodes.name_hash.tolist() == [hash(n) for n in nodes.names]
        assert nodes.host_hash.tolist() == [hash(h) for h in nodes.hostnames]
        for wanted in ("n0", "n1", "n2", "n3", "host-1", "host-b0", ""):
            assert rows_named(nodes.names, nodes.name_hash, (wanted,)).tolist() == by_name(nodes.names, (wanted,))
            assert rows_named(nodes.hostnames, nodes.host_hash, (wanted,)).tolist() == by_name(
                nodes.hostnames, (wanted,)
            )
