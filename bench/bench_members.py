"""Benchmark: one big member carved into many identifiers, memory and status latency at scale.

Why: the operator keeps every node of every member in memory (as small fact records) and rewrites
an identifier's status when one of its nodes changes. Unit tests use a handful of nodes; this runs
one real member with 10,000 kwok nodes, split into 100 ComputeIdentifiers by node selector over
one shared connection, and measures what the issue sets goals for:

- the operator's resident memory once it has settled (goal: under 200 MB), and
- the time from a node change in the member to the owning identifier's status showing it
  (goal: under 5 s).

It is a benchmark, not a test: it prints one JSON line with the numbers and never asserts.

    COMPUTENET_BIN_DIR=$(hack/build-binaries.sh) .venv/bin/python bench/bench_members.py

The member starts with its first node group only (the federation launcher creates nodes one by
one); the other groups are created here with concurrent requests, and the operator is started
once kwok has marked every node Ready, so the settle time is the operator's own. At this size
kwok cannot renew 10,000 node leases on a small machine, so the member is tuned to keep its nodes
Ready (see `tune_member_for_scale`; `--no-tune-member` runs the launcher as is).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from stop_on_signal import Terminated, install, shielded

from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from computenet.testing.localapi import ApiError, LocalApi
from computenet.testing.topology import NVIDIA_GPU, Accelerators, MemberShape, NodeGroup, node_manifests

GOAL_RSS_MB = 200
GOAL_LATENCY_S = 5
GROUP_LABEL = "computenet.io/node-group"
IDENTIFIERS_PATH = "/apis/computenet.io/v1alpha1/computeidentifiers"
PROVIDER, REGION, ZONE = "east-cloud", "cn-east", "cn-east-1a"

# (node cpu, node memory, accelerators or None), cycled over the groups.
FLAVOURS: tuple[tuple[str, str, Accelerators | None], ...] = (
    ("96", "1Ti", Accelerators(NVIDIA_GPU, 8, "NVIDIA-H100-80GB-HBM3", 81559)),
    ("64", "512Gi", Accelerators(NVIDIA_GPU, 4, "NVIDIA-A100-SXM4-80GB", 81920)),
    ("16", "64Gi", Accelerators(NVIDIA_GPU, 2, "NVIDIA-L4", 23034)),
    ("32", "128Gi", None),
)

NODES_READY_TIMEOUT_S = 1200.0
SETTLE_TIMEOUT_S = 900.0
CHANGE_TIMEOUT_S = 60.0
CHANGE_POLL_S = 0.05
QUIET_BEFORE_CHANGE_S = 1.0


def log(msg: str) -> None:
    print(f"[bench_members {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- the member ------------------------------------------------------------------------------


def member_shape(groups: int, per_group: int) -> MemberShape:
    """`groups` node groups g000, g001, ... of `per_group` nodes each, flavours cycling."""
    return MemberShape(
        region=REGION,
        zone=ZONE,
        groups=tuple(
            NodeGroup(f"g{i:03d}", per_group, cpu, memory, accelerators=acc)
            for i, (cpu, memory, acc) in ((i, FLAVOURS[i % len(FLAVOURS)]) for i in range(groups))
        ),
    )


def tune_member_for_scale(fed: Federation, member: Cluster) -> None:
    """Let one small machine simulate 10,000 nodes that stay Ready.

    kwok renews a Lease per node every few seconds (the launcher asks for 40 s leases); at 10,000
    nodes that is more writes than a 2-core machine serves, so leases go stale, the node lifecycle
    controller marks nodes NotReady, kwok marks them Ready again, and the member never settles.
    This restarts kwok with hour-long leases and the member's controller-manager with a day of
    grace before a silent node is unhealthy. Neither is the operator: it sees the same nodes.
    """
    kwok = f"{member.name}/kwok"
    with shielded():  # a signal between stop and start would leave a process the state file does not list
        rec = fed.supervisor.stop(kwok)
        argv = [a for a in rec.argv if not a.startswith("--node-lease-duration-seconds=")]
        fed.supervisor.start(kwok, [*argv, "--node-lease-duration-seconds=3600"], Path(rec.log), rec.env)
    kcm = f"{member.name}/kube-controller-manager"
    grace = ["--node-monitor-grace-period=24h", "--node-startup-grace-period=24h"]
    with shielded():
        rec = fed.supervisor.stop(kcm)
        fed.supervisor.start(kcm, [*rec.argv, *grace], Path(rec.log), rec.env)


def create_nodes(api: LocalApi, nodes: list[dict[str, Any]], workers: int = 16) -> None:
    """POST nodes concurrently; one that already exists is fine."""

    def post(node: dict[str, Any]) -> None:
        try:
            api.request("POST", "/api/v1/nodes", node, timeout=60)
        except ApiError as e:
            if e.status != 409:
                raise

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(post, nodes))


def count_ready_nodes(api: LocalApi) -> tuple[int, int]:
    """(all nodes, Ready nodes), read from the API server's watch cache."""
    items = api.request("GET", "/api/v1/nodes?resourceVersion=0", timeout=120)["items"]
    ready = sum(
        any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions") or ()) for n in items
    )
    return len(items), ready


def wait_nodes_ready(api: LocalApi, expected: int) -> None:
    deadline = time.monotonic() + NODES_READY_TIMEOUT_S
    while True:
        total, ready = count_ready_nodes(api)
        log(f"member nodes: {total} created, {ready} Ready (of {expected})")
        if ready >= expected:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {ready}/{expected} nodes Ready after {NODES_READY_TIMEOUT_S:.0f}s")
        time.sleep(10)


# ---- the hub -----------------------------------------------------------------------------------


def identifier_name(member: Cluster, group: str) -> str:
    return f"{member.name}-{group}"


def partition_manifest(member: Cluster, shape: MemberShape, group: str) -> dict[str, Any]:
    """An identifier for the member's nodes of one group, through the member's one Secret."""
    manifest = devenv.identifier_manifest(1, member, shape, [shape.region])
    manifest["metadata"]["name"] = identifier_name(member, group)
    manifest["spec"]["uri"] = f"cpi://{PROVIDER}/{REGION}/{member.name}/{group}"
    manifest["spec"]["provider"] = PROVIDER
    manifest["spec"]["connection"]["nodeSelector"] = {"matchLabels": {GROUP_LABEL: group}}
    return manifest


def register_partitions(fed: Federation, shape: MemberShape) -> None:
    """What devenv.register_members does, but one identifier per node group instead of per member."""
    hub, member = fed.hub, fed.members[0]
    devenv.apply(hub, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": devenv.NAMESPACE}})
    member.kubectl("apply", "-f", str(devenv.REPO / "deploy" / "member-rbac.yaml"))
    devenv.apply(hub, devenv.secret_manifest(member))
    devenv.apply(hub, *(partition_manifest(member, shape, g.name) for g in shape.groups))
    devenv.apply(hub, devenv.pool_manifest())


def identifier_statuses(hub: LocalApi) -> dict[str, dict[str, Any]]:
    items = hub.request("GET", IDENTIFIERS_PATH, timeout=60)["items"]
    return {i["metadata"]["name"]: i.get("status") or {} for i in items}


def identifier_status(hub: LocalApi, name: str) -> dict[str, Any]:
    status: dict[str, Any] = hub.request("GET", f"{IDENTIFIERS_PATH}/{name}").get("status") or {}
    return status


def is_settled(status: dict[str, Any], per_group: int) -> bool:
    ready: dict[str, Any] = next((c for c in status.get("conditions") or () if c["type"] == "Ready"), {})
    return (status.get("nodes") or {}).get("total") == per_group and ready.get("status") == "True"


# ---- the operator process ----------------------------------------------------------------------


def operator_pid(fed: Federation) -> int:
    records = json.loads((fed.state_dir / "processes.json").read_text())
    return int(next(r["pid"] for r in records if r["name"] == devenv.OPERATOR))


def memory_mb(pid: int) -> tuple[float, float]:
    """(resident, peak resident) memory of a process in MB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return int(fields["VmRSS"][0]) / 1024, int(fields["VmHWM"][0]) / 1024


def wait_settled(fed: Federation, names: list[str], per_group: int) -> None:
    hub = fed.hub.api
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    last_report = 0.0
    while True:
        fed.supervisor.check_running(devenv.OPERATOR)
        statuses = identifier_statuses(hub)
        settled = sum(is_settled(statuses.get(n, {}), per_group) for n in names)
        if settled == len(names):
            return
        if time.monotonic() - last_report > 10:
            rss, _ = memory_mb(operator_pid(fed))
            log(f"{settled}/{len(names)} identifiers settled; operator RSS {rss:.0f} MB")
            last_report = time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {settled}/{len(names)} identifiers settled after {SETTLE_TIMEOUT_S:.0f}s")
        time.sleep(0.5)


# ---- node change -> status -----------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One change to a group's nodes, and how to see it in that group's identifier status."""

    kind: str
    group: NodeGroup
    apply: Callable[[], None]
    seen: Callable[[dict[str, Any]], bool]


def allocatable_of(status: dict[str, Any], resource: str) -> int:
    return int(((status.get("resources") or {}).get("allocatable") or {}).get(resource, "0"))


def lower_allocatable(member: LocalApi, hub_status: dict[str, Any], group: NodeGroup, node: str) -> Change:
    """One node of the group loses one GPU (or one pod slot when the group has no GPUs)."""
    resource = group.accelerators.resource if group.accelerators else "pods"
    expected = allocatable_of(hub_status, resource) - 1

    def apply() -> None:
        for _ in range(5):  # kwok may write the node between our read and write
            obj = member.request("GET", f"/api/v1/nodes/{node}")
            amount = int(obj["status"]["allocatable"][resource])
            obj["status"]["allocatable"][resource] = str(amount - 1)
            try:
                member.request("PUT", f"/api/v1/nodes/{node}/status", obj)
                return
            except ApiError as e:
                if e.status != 409:
                    raise
        raise RuntimeError(f"could not update node {node}: conflicts")

    return Change("allocatable", group, apply, lambda s: allocatable_of(s, resource) == expected)


def add_node(member: LocalApi, hub_status: dict[str, Any], group: NodeGroup, name: str) -> Change:
    """A new node joins the group."""
    node = node_manifests(MemberShape(REGION, ZONE, (replace(group, count=1),)))[0]
    node["metadata"]["name"] = name
    node["metadata"]["labels"]["kubernetes.io/hostname"] = name
    expected = (hub_status.get("nodes") or {}).get("total", 0) + 1

    def apply() -> None:
        member.request("POST", "/api/v1/nodes", node)

    return Change("add", group, apply, lambda s: (s.get("nodes") or {}).get("total") == expected)


def time_change(fed: Federation, change: Change) -> float | None:
    """Seconds from making the change in the member to its identifier's status showing it."""
    hub = fed.hub.api
    name = identifier_name(fed.members[0], change.group.name)
    start = time.monotonic()
    change.apply()
    while time.monotonic() - start < CHANGE_TIMEOUT_S:
        if change.seen(identifier_status(hub, name)):
            return time.monotonic() - start
        time.sleep(CHANGE_POLL_S)
    return None


def measure_changes(fed: Federation, shape: MemberShape, samples: int, seed: int) -> list[float | None]:
    rng = random.Random(seed)
    member, hub = fed.members[0].api, fed.hub.api
    latencies: list[float | None] = []
    for i in range(samples):
        time.sleep(QUIET_BEFORE_CHANGE_S)  # let the previous change's follow-ups (kwok Ready) pass
        fed.supervisor.check_running(devenv.OPERATOR)
        group = rng.choice(shape.groups)
        before = identifier_status(hub, identifier_name(fed.members[0], group.name))
        if i % 2 == 0:
            node = f"{group.name}-{rng.randrange(group.count)}"
            change = lower_allocatable(member, before, group, node)
        else:
            change = add_node(member, before, group, f"{group.name}-extra-{i}")
        latency = time_change(fed, change)
        shown = "timed out" if latency is None else f"{latency:.2f}s"
        log(f"change {i + 1}/{samples}: {change.kind} in {group.name} -> status in {shown}")
        latencies.append(latency)
    return latencies


# ---- the run -------------------------------------------------------------------------------------


@contextmanager
def timed(what: str, into: dict[str, float], key: str) -> Iterator[None]:
    log(f"{what}...")
    start = time.monotonic()
    yield
    into[key] = round(time.monotonic() - start, 1)
    log(f"{what}: {into[key]}s")


def run(fed_dir: Path, groups: int, per_group: int, samples: int, seed: int, tune: bool) -> dict[str, Any]:
    shape = member_shape(groups, per_group)
    first = MemberShape(shape.region, shape.zone, shape.groups[:1])
    phases: dict[str, float] = {}
    with timed("starting the federation (first node group only)", phases, "federation_start_s"):
        fed = Federation.start(fed_dir, shapes=[first], log=log)
    try:
        member = fed.members[0]
        if tune:
            tune_member_for_scale(fed, member)
        rest = [n for n in node_manifests(shape) if n["metadata"]["labels"][GROUP_LABEL] != first.groups[0].name]
        with timed(f"creating {len(rest)} more nodes", phases, "nodes_create_s"):
            create_nodes(member.api, rest)
        with timed("waiting for kwok to mark every node Ready", phases, "nodes_ready_s"):
            wait_nodes_ready(member.api, groups * per_group)
        devenv.install_crds(fed.hub)
        register_partitions(fed, shape)
        names = [identifier_name(member, g.name) for g in shape.groups]
        start = time.monotonic()
        with timed("starting the operator", phases, "operator_healthy_s"):
            op = devenv.start_operator(fed)
        with timed(f"waiting for {len(names)} identifiers to settle", phases, "settle_wait_s"):
            wait_settled(fed, names, per_group)
        settle_s = time.monotonic() - start
        time.sleep(5)  # let the status writes behind the last one finish before reading memory
        pid = operator_pid(fed)
        rss, peak = memory_mb(pid)
        log(f"settled {settle_s:.1f}s after operator start; RSS {rss:.0f} MB, peak {peak:.0f} MB")
        latencies = measure_changes(fed, shape, samples, seed)
        rss_after, peak_after = memory_mb(pid)
        seen = sorted(x for x in latencies if x is not None)
        warnings = [line for line in op.log_text().splitlines() if " WARNING " in line or " ERROR " in line]
        return {
            "bench": "members",
            "nodes": groups * per_group,
            "identifiers": len(names),
            "settle_s": round(settle_s, 1),
            "operator_rss_mb": round(rss, 1),
            "operator_peak_rss_mb": round(peak, 1),
            "node_change_to_status_p50_s": round(statistics.median(seen), 2) if seen else None,
            "node_change_to_status_max_s": round(max(seen), 2) if seen else None,
            "goal_rss_mb": GOAL_RSS_MB,
            "goal_latency_s": GOAL_LATENCY_S,
            "node_change_samples": [None if x is None else round(x, 2) for x in latencies],
            "node_change_timeouts": latencies.count(None),
            "operator_rss_after_changes_mb": round(rss_after, 1),
            "operator_peak_rss_after_changes_mb": round(peak_after, 1),
            "operator_log_warnings": len(warnings),
            "member_tuned_for_scale": tune,
            **phases,
        }
    finally:
        with shielded():
            log("stopping the federation")
            fed.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=100, help="node groups, one identifier each")
    parser.add_argument("--nodes-per-group", type=int, default=100)
    parser.add_argument("--samples", type=int, default=10, help="node changes to time")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--no-tune-member",
        dest="tune",
        action="store_false",
        help="keep the launcher's 40 s kwok leases and default node grace (nodes flap at 10,000)",
    )
    parser.add_argument("--dir", type=Path, help="state directory (default: a fresh temporary one, kept)")
    args = parser.parse_args()
    # `timeout`, CI and a closed terminal send SIGTERM, SIGINT or SIGHUP: exit through the `finally`
    # that stops the federation, with 128 + the signal's number.
    install(log)
    fed_dir = args.dir or Path(tempfile.mkdtemp(prefix="bench-members-"))
    log(f"state and logs in {fed_dir}")
    try:
        result = run(fed_dir, args.groups, args.nodes_per_group, args.samples, args.seed, args.tune)
    except Terminated as e:
        log(f"{e}: the federation and the operator are stopped; state and logs in {fed_dir}")
        return e.exit_code
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
