"""Where a task lands, or which reason each identifier gives: one row per rule of the issue."""

from __future__ import annotations

from dataclasses import replace

import pytest

from computenet.placement import Demand, Snapshot, Taint, place
from computenet.placement import reasons as r

from .builders import A100, A100_40, GPU_TAINT, H100, L4, MI300X, identifier, node, pool, task


def h100_node(name: str, used: int = 0) -> object:
    return node(name).gpus(8, H100).cpu("64").memory("512Gi").taint().used(gpus=used)


CASES = [
    pytest.param(
        pool(identifier("frag").nodes(*(node(f"n{i}").gpus(8, H100).used(gpus=6) for i in range(8)))),
        task().gpus(8, H100).build(),
        None,
        {"frag": r.FRAGMENTED},
        id="16 free GPUs as 8 nodes x 2 cannot host one 8-GPU pod",
    ),
    pytest.param(
        pool(identifier("small").nodes(node("n1").gpus(8, H100).used(gpus=2))),
        task().gpus(8, H100).build(),
        None,
        {"small": r.INSUFFICIENT_RESOURCE},
        id="6 free GPUs in total cannot host one 8-GPU pod",
    ),
    pytest.param(
        pool(
            identifier("three-and-halves").nodes(
                *(node(f"a{i}").gpus(8, H100) for i in range(3)),
                *(node(f"b{i}").gpus(8, H100).used(gpus=4) for i in range(2)),
            ),
            identifier("four-whole").nodes(*(node(f"c{i}").gpus(8, H100) for i in range(4))),
        ),
        task().gpus(8, H100).replicas(4).build(),
        "four-whole",
        {"three-and-halves": r.GANG_DOES_NOT_FIT},
        id="gang of 4 x 8 GPUs fits in only one of two identifiers with 32 free each",
    ),
    pytest.param(
        pool(identifier("one-node").nodes(node("n1").gpus(8, H100).cpu("64").memory("256Gi"))),
        task().gpus(2, H100).cpu("16").memory("64Gi").replicas(4).build(),
        "one-node",
        {},
        id="gang of 4 x 2 GPUs packs onto a single 8-GPU node",
    ),
    pytest.param(
        pool(identifier("one-node").nodes(node("n1").gpus(8, H100).cpu("32").memory("256Gi"))),
        task().gpus(2, H100).cpu("16").memory("64Gi").replicas(4).build(),
        None,
        {"one-node": r.INSUFFICIENT_RESOURCE},
        id="gang of 4 x 16 cores does not fit 32 cores even with GPUs to spare",
    ),
    pytest.param(
        pool(
            identifier("a100s").nodes(node("n1").gpus(8, A100)),
            identifier("l4s").nodes(node("n2").gpus(8, L4)),
        ),
        task().gpus(4, H100, A100).build(),
        "a100s",
        {"l4s": r.ACCELERATOR_MISMATCH},
        id="any-of H100 or A100 lands on A100, not on L4",
    ),
    pytest.param(
        pool(identifier("a100s").nodes(node("n1").gpus(8, A100))),
        task().gpus(4, H100).build(),
        None,
        {"a100s": r.ACCELERATOR_MISMATCH},
        id="H100 only does not take A100",
    ),
    pytest.param(
        pool(
            identifier("a100-40").nodes(node("n1").gpus(8, A100_40)),
            identifier("h100").nodes(node("n2").gpus(8, H100, memory_mib=81559)),
        ),
        task().gpus(1, vendor="nvidia", min_memory_mib=80 * 1024).build(),
        "h100",
        {"a100-40": r.ACCELERATOR_MEMORY_TOO_SMALL},
        id="minimum 80Gi device memory: H100 reporting 81559 MiB qualifies, A100 40GB does not",
    ),
    pytest.param(
        pool(
            identifier("mi300x").nodes(node("n1").gpus(8, "AMD_Instinct_MI300X_OAM")),
            identifier("h100").nodes(node("n2").gpus(8, H100)),
        ),
        task().gpus(8, MI300X).build(),
        "mi300x",
        {"h100": r.ACCELERATOR_MISMATCH},
        id="AMD labeller spelling of MI300X matches the table name",
    ),
    pytest.param(
        pool(
            identifier("unlabelled").nodes(node("n1").gpus(4, None)),
            identifier("amd").nodes(node("n2").gpus(4, MI300X)),
        ),
        task().gpus(2, vendor="nvidia").build(),
        "unlabelled",
        {"amd": r.ACCELERATOR_MISMATCH},
        id="vendor-only request accepts an unlabelled NVIDIA node, not AMD",
    ),
    pytest.param(
        pool(identifier("unlabelled").nodes(node("n1").gpus(4, None))),
        task().gpus(2, vendor="nvidia", min_memory_mib=1024).build(),
        None,
        {"unlabelled": r.ACCELERATOR_MEMORY_TOO_SMALL},
        id="unknown model with no memory label never satisfies a memory minimum",
    ),
    pytest.param(
        pool(
            identifier("arm").nodes(node("g1").arch("arm64").cpu("64")),
            identifier("x86").nodes(node("x1").arch("amd64").cpu("64")),
        ),
        task().cpu("8").architectures("arm64").build(),
        "arm",
        {"x86": r.ARCHITECTURE_MISMATCH},
        id="arm64 task goes to the arm64-only identifier",
    ),
    pytest.param(
        pool(identifier("arm").nodes(node("g1").arch("arm64").cpu("64"))),
        task().cpu("8").architectures("amd64").build(),
        None,
        {"arm": r.ARCHITECTURE_MISMATCH},
        id="amd64 task rejects the arm64-only identifier",
    ),
    pytest.param(
        pool(
            identifier("cheap").price({H100: 3.0}).nodes(node("n1").gpus(8, H100)),
            identifier("dear").price({H100: 6.0}).nodes(node("n2").gpus(8, H100)),
        ),
        task().gpus(1, H100).max_price(4.0).build(),
        "cheap",
        {"dear": r.PRICE_ABOVE_MAX},
        id="price cap 4.00/h rejects 6.00/h",
    ),
    pytest.param(
        pool(identifier("unpriced").nodes(node("n1").gpus(8, H100))),
        task().gpus(1, H100).max_price(4.0).build(),
        None,
        {"unpriced": r.PRICE_UNKNOWN},
        id="price cap rejects an identifier without a price",
    ),
    pytest.param(
        pool(identifier("euro").price({H100: 1.0}, currency="EUR").nodes(node("n1").gpus(8, H100))),
        task().gpus(1, H100).max_price(4.0, currency="USD").build(),
        None,
        {"euro": r.CURRENCY_MISMATCH},
        id="price cap in USD cannot compare a EUR price",
    ),
    pytest.param(
        pool(
            identifier("near").region("eu-west-1").nodes(node("n1").cpu("8")),
            identifier("far").region("us-east-1").network({"eu-west-1": 80.0}).nodes(node("n2").cpu("8")),
            identifier("unknown").region("ap-south-1").nodes(node("n3").cpu("8")),
        ),
        task().cpu("1").data("eu-west-1").max_latency(50).build(),
        "near",
        {"far": r.LATENCY_ABOVE_MAX, "unknown": r.LATENCY_UNKNOWN},
        id="latency cap 50 ms: same region passes, 80 ms and unknown do not",
    ),
    pytest.param(
        pool(
            identifier("down").not_ready().nodes(node("n1").cpu("8")),
            identifier("up").nodes(node("n2").cpu("8")),
        ),
        task().cpu("1").build(),
        "up",
        {"down": r.NOT_READY},
        id="identifier not Ready is skipped",
    ),
    pytest.param(
        pool(identifier("tainted").nodes(node("n1").gpus(8, H100).taint())),
        task().gpus(1, H100).tolerations().build(),
        None,
        {"tainted": r.TAINTS_NOT_TOLERATED},
        id="GPU taint without toleration rejects",
    ),
    pytest.param(
        pool(identifier("tainted").nodes(node("n1").gpus(8, H100).taint())),
        task().gpus(1, H100).build(),
        "tainted",
        {},
        id="GPU taint with toleration fits",
    ),
    pytest.param(
        pool(identifier("soft").nodes(node("n1").cpu("8").taint(Taint("spot", "true", "PreferNoSchedule")))),
        task().cpu("1").tolerations().build(),
        "soft",
        {},
        id="PreferNoSchedule taint does not reject",
    ),
    pytest.param(
        pool(
            identifier("mixed").nodes(
                node("gpu").gpus(8, H100).taint(Taint("dedicated", "ml", "NoExecute")), node("cpu").cpu("4")
            )
        ),
        task().gpus(1, H100).build(),
        None,
        {"mixed": r.TAINTS_NOT_TOLERATED},
        id="untainted cpu nodes do not hide that every GPU node is tainted",
    ),
    pytest.param(
        pool(
            identifier("a-h100", cluster="a").selector(pool="h100"),
            identifier("a-l4", cluster="a").selector(pool="l4"),
            clusters={
                "a": [
                    node("h1").gpus(8, H100).label("pool", "h100"),
                    node("l1").gpus(8, L4).label("pool", "l4"),
                ]
            },
        ),
        task().gpus(8, H100).build(),
        "a-h100",
        {"a-l4": r.ACCELERATOR_MISMATCH},
        id="two partitions of one cluster by node selector",
    ),
    pytest.param(
        pool(
            identifier("a-h100", cluster="a").selector(pool="h100"),
            clusters={"a": [node("h1").gpus(8, H100).label("pool", "other")]},
        ),
        task().gpus(8, H100).build(),
        None,
        {"a-h100": r.NO_SCHEDULABLE_NODES},
        id="partition selecting no nodes",
    ),
    pytest.param(
        pool(identifier("drained").nodes(node("n1").cpu("8").cordoned(), node("n2").cpu("8").not_ready())),
        task().cpu("1").build(),
        None,
        {"drained": r.NO_SCHEDULABLE_NODES},
        id="cordoned and NotReady nodes are not capacity",
    ),
    pytest.param(
        pool(
            identifier("zoned").nodes(node("n1").cpu("8").label("zone", "a"), node("n2").cpu("8").label("zone", "b")),
            identifier("zoneless").nodes(node("n3").cpu("8")),
        ),
        task().cpu("1").node_selector({"zone": "b"}).build(),
        "zoned",
        {"zoneless": r.NODE_SELECTOR_MISMATCH},
        id="pod nodeSelector must select a node of the identifier",
    ),
    pytest.param(
        pool(identifier("one").nodes(node("n1").cpu("8").label("zone", "a"), node("n2").cpu("2").label("zone", "b"))),
        task().cpu("4").node_selector({"zone": "b"}).build(),
        None,
        {"one": r.INSUFFICIENT_RESOURCE},
        id="the node the pod nodeSelector picks is too small, the other does not count",
    ),
    pytest.param(
        pool(identifier("host").nodes(node("n1").cpu("8"), node("n2").cpu("8"))),
        task().cpu("4").node_selector({"kubernetes.io/hostname": "n2"}).build(),
        "host",
        {},
        id="pod nodeSelector on the hostname label",
    ),
    pytest.param(
        pool(
            identifier("hpc").compute_class("hpc").nodes(node("n1").cpu("64")),
            identifier("edge").compute_class("edge").nodes(node("n2").cpu("64")),
        ),
        task().cpu("4").compute_class("hpc").build(),
        "hpc",
        {"edge": r.COMPUTE_CLASS_MISMATCH},
        id="compute class hpc only",
    ),
    pytest.param(
        pool(
            identifier("east").region("us-east-1").provider("aws").nodes(node("n1").cpu("8")),
            identifier("west").region("us-west-2").provider("aws").nodes(node("n2").cpu("8")),
            identifier("eu").region("eu-west-1").provider("ovh").nodes(node("n3").cpu("8")),
        ),
        task().cpu("1").regions("us-east-1", "eu-west-1").build(),
        "east",
        {"west": r.REGION_NOT_ALLOWED},
        id="required regions",
    ),
    pytest.param(
        pool(
            identifier("east").region("us-east-1").provider("aws").nodes(node("n1").cpu("8")),
            identifier("eu").region("eu-west-1").provider("ovh").nodes(node("n3").cpu("8")),
        ),
        task().cpu("1").regions(forbidden=("us-east-1",)).build(),
        "eu",
        {"east": r.REGION_NOT_ALLOWED},
        id="forbidden region",
    ),
    pytest.param(
        pool(
            identifier("aws").provider("aws").nodes(node("n1").cpu("8")),
            identifier("ovh").provider("ovh").nodes(node("n2").cpu("8")),
            identifier("gcp").provider("gcp").nodes(node("n3").cpu("8")),
        ),
        task().cpu("1").providers("aws", "ovh", denied=("aws",)).build(),
        "ovh",
        {"aws": r.PROVIDER_NOT_ALLOWED, "gcp": r.PROVIDER_NOT_ALLOWED},
        id="allowed and denied providers",
    ),
    pytest.param(
        pool(identifier("big-cpu").nodes(node("n1").cpu("64").memory("16Gi"), node("n2").cpu("4").memory("256Gi"))),
        task().cpu("32").memory("64Gi").build(),
        None,
        {"big-cpu": r.FRAGMENTED},
        id="cpu on one node, memory on another: no single node has both",
    ),
    pytest.param(
        pool(identifier("full").nodes(node("n1").cpu("8").used(cpu="7500m"))),
        task().cpu("1").build(),
        None,
        {"full": r.INSUFFICIENT_RESOURCE},
        id="half a core free cannot hold one core",
    ),
]


@pytest.mark.parametrize(("snapshot", "demand", "chosen", "rejected"), CASES)
def test_placement(snapshot: Snapshot, demand: Demand, chosen: str | None, rejected: dict[str, str]) -> None:
    decision = place(snapshot, demand)
    assert (decision.chosen.identifier if decision.chosen else None) == chosen
    assert {name: rej.reason for name, rej in decision.rejections.items()} == rejected
    assert len(decision.candidates) + len(decision.rejections) == len(snapshot)


def test_rejection_names_the_model_and_the_fragmentation() -> None:
    snapshot = pool(identifier("frag").nodes(*(node(f"n{i}").gpus(8, H100).used(gpus=6) for i in range(8))))
    decision = place(snapshot, task().gpus(8, H100).build())
    rejection = decision.rejections["frag"]
    assert rejection.phrase == f"insufficient nvidia.com/gpu ({H100}) on any single node"
    assert rejection.message == f"at most 2 nvidia.com/gpu ({H100}) free on one node (16 in total), a replica needs 8"
    assert decision.summary == f"0/1 identifiers fit: 1 insufficient nvidia.com/gpu ({H100}) on any single node"


def test_gang_rejection_says_how_many_replicas_fit() -> None:
    snapshot = pool(
        identifier("p").nodes(
            *(node(f"a{i}").gpus(8, H100) for i in range(3)),
            *(node(f"b{i}").gpus(8, H100).used(gpus=4) for i in range(2)),
        )
    )
    decision = place(snapshot, task().gpus(8, H100).replicas(4).build())
    assert decision.rejections["p"].message == "at most 3 of 4 replicas fit on its nodes"


def test_chosen_model_is_the_cheapest_that_fits_and_sets_the_price() -> None:
    snapshot = pool(
        identifier("both")
        .price({H100: 4.0, A100: 2.5}, cpu=0.01)
        .nodes(node("h").gpus(8, H100).cpu("64"), node("a").gpus(8, A100).cpu("64").used(gpus=4))
    )
    demand = task().gpus(4, H100, A100).cpu("8").replicas(2).build()
    chosen = place(snapshot, demand).chosen
    assert chosen is not None
    assert chosen.model == H100  # A100 is cheaper but only 4 are free: the gang needs 8
    assert chosen.price_per_hour == pytest.approx(2 * (4 * 4.0 + 8 * 0.01))
    cheap = place(snapshot, task().gpus(4, H100, A100).cpu("8").build()).chosen
    assert cheap is not None
    assert (cheap.model, cheap.price_per_hour) == (A100, pytest.approx(4 * 2.5 + 8 * 0.01))


def test_assignment_packs_gang_onto_nodes_that_hold_it() -> None:
    snapshot = pool(identifier("p").nodes(node("n1").gpus(8, H100).used(gpus=6), node("n2").gpus(8, H100).used(gpus=2)))
    decision = place(snapshot, task().gpus(2, H100).replicas(4).build())
    assert {(s.node, s.replicas) for s in decision.assignment} == {("n1", 1), ("n2", 3)}
    spread = place(snapshot, task().gpus(2, H100).replicas(2).spread().build())
    assert {(s.node, s.replicas) for s in spread.assignment} == {("n1", 1), ("n2", 1)}


def test_tainted_node_with_gpus_is_not_counted_for_a_task_without_toleration() -> None:
    snapshot = pool(identifier("p").nodes(node("n1").gpus(8, H100).taint(GPU_TAINT), node("n2").gpus(8, H100)))
    decision = place(snapshot, task().gpus(8, H100).replicas(2).tolerations().build())
    assert decision.rejections["p"].reason == r.INSUFFICIENT_RESOURCE
    assert decision.rejections["p"].message.startswith("8 nvidia.com/gpu")


def test_only_the_tasks_pool_is_considered() -> None:
    snapshot = pool(
        identifier("in-pool").nodes(node("a").gpus(2, H100)),
        identifier("also-in-pool").not_ready().nodes(node("b").gpus(8, H100)),
        identifier("elsewhere").nodes(node("c").gpus(8, H100)),
    )
    demand = replace(task().gpus(8, H100).build(), identifiers=frozenset({"in-pool", "also-in-pool", "gone"}))
    decision = place(snapshot, demand)
    assert decision.chosen is None
    assert set(decision.rejections) == {"in-pool", "also-in-pool"}
    assert decision.summary.startswith("0/2 identifiers fit: ")
