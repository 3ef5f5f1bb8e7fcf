"""Benchmark: what the operator holds for 1,000 pull members of 100 nodes, stage by stage.

Why: the 1,000-agent benchmark (``bench_agents.py``) prints the operator's resident memory as one
figure; this one shows where it goes, without a hub. It feeds agent reports through the code the
operator runs on them (the ComputeAgent object decoded from JSON and read by
:func:`~computenet.members.report.report_facts`, the pull feed and each agent's
:class:`~computenet.members.pull.PullConnection`, the identifiers and their capacity, the task
view's placement snapshot), then a round of churned reports, and prints after each stage the
process's resident memory and the memory Python allocations hold (``tracemalloc``), in MB. The
simulated agents are those of ``bench_agents.py`` (each member's own state and report code); what
they hold is built before tracing starts and is not counted.

With ``--top N`` it also prints (to stderr) the N source lines holding the most at the end.
Tracing costs memory of its own (tens of bytes per live block), so the resident figures are
higher than the operator's; ``--no-trace`` measures them without it (traced figures are then 0).

    .venv/bin/python bench/bench_agent_memory.py [--agents 1000] [--nodes 100] [--top 20] [--no-trace]

It is a benchmark, not a test: it prints one JSON line and never fails the build.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import sys
import tracemalloc
from pathlib import Path
from typing import Any

from bench_agents import SimAgent
from kubernetes.aio.client import ApiClient

from computenet.api.identifier import ComputeIdentifierSpec
from computenet.members.identifiers import IdentifierSet
from computenet.members.pull_feed import PullFeed
from computenet.members.registry import MemberRegistry
from computenet.members.report import report_facts
from computenet.members.secrets import SecretCache
from computenet.tasks.placement_view import PlacementView


class _Feed(PullFeed):
    """The pull feed with its hub watches left out: this benchmark delivers the reports itself."""

    def _start(self) -> None:
        return


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def agent_json(agent: SimAgent) -> bytes:
    """The agent's ComputeAgent as the hub's watch sends it, with a fresh report."""
    meta = {"name": agent.name, "namespace": agent.namespace, "resourceVersion": "1"}
    return json.dumps(
        {"apiVersion": "computenet.io/v1alpha1", "kind": "ComputeAgent", "metadata": meta, "spec": {}, **agent.report()}
    ).encode()


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    agents = [SimAgent(i, 20, args.nodes, rng, quiet=rng.random() < 0.1) for i in range(args.agents)]
    wires = [agent_json(a) for a in agents]
    specs = [ComputeIdentifierSpec.model_validate(a.identifier()["spec"]) for a in agents]
    stages: dict[str, dict[str, float]] = {}

    def stage(name: str) -> None:
        gc.collect()
        stages[name] = {"rss_mb": round(rss_mb(), 1), "traced_mb": round(tracemalloc.get_traced_memory()[0] / 2**20, 1)}

    gc.collect()
    if args.trace:
        tracemalloc.start()
    stage("start")
    client = ApiClient()
    registry = MemberRegistry()
    feed = registry.pull = _Feed(client, "hub")
    identifiers = IdentifierSet(registry, SecretCache(), "computenet-system")
    view = PlacementView(identifiers, registry, lambda: None)

    # The feed's first list: every object decoded and read, then delivered (held until an identifier uses it).
    for agent, wire in zip(agents, wires, strict=True):
        report = report_facts(json.loads(wire))
        assert report is not None
        feed.on_report((agent.namespace, agent.name), report)
    del wires
    stage("reports read")
    for agent, spec in zip(agents, specs, strict=True):
        await identifiers.configure(f"pull-{agent.index}", spec, {}, 1)
    for conn in feed.connections.values():
        conn.observe_lease(conn.last_report, 60)
        conn.jobs.replace({})
    stage("member state")
    for item in identifiers.items.values():
        item.capacity()
    stage("identifier capacity")
    view.snapshot()
    stage("placement snapshot")
    for i, agent in enumerate(agents):
        agent.churn()
        report = report_facts(json.loads(agent_json(agent)))
        assert report is not None
        feed.on_report((agent.namespace, agent.name), report)
        if i % 50 == 49:  # the scheduler takes a snapshot about this often at 40 reports a second
            view.snapshot()
    for item in identifiers.items.values():
        item.capacity()
    stage("after a round of reports")
    if args.top and args.trace:
        for stat in tracemalloc.take_snapshot().statistics("lineno")[: args.top]:
            frame = stat.traceback[0]
            print(
                f"{stat.size / 2**20:8.2f} MB {stat.count:9d} blocks  {frame.filename}:{frame.lineno}", file=sys.stderr
            )
    tracemalloc.stop()
    await client.close()  # type: ignore[no-untyped-call]
    result: dict[str, Any] = {"bench": "agent_memory", "agents": args.agents, "nodes_per_agent": args.nodes}
    if args.trace:
        traced = {name: s["traced_mb"] for name, s in stages.items()}
        result["held_mb"] = {
            "member_state": round(traced["identifier capacity"] - traced["start"], 1),
            "placement": round(traced["placement snapshot"] - traced["identifier capacity"], 1),
            "total_after_reports": round(traced["after a round of reports"] - traced["start"], 1),
        }
        result["bytes_per_node"] = round(
            (traced["after a round of reports"] - traced["start"]) * 2**20 / (args.agents * args.nodes)
        )
    else:
        for s in stages.values():
            del s["traced_mb"]
    return {**result, "stages": stages}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=100, help="nodes in each agent's summary")
    parser.add_argument("--top", type=int, default=0, help="print the source lines holding the most")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-trace", dest="trace", action="store_false", help="resident memory only, untraced")
    args = parser.parse_args()
    try:
        result = asyncio.run(measure(args))
    except Exception as e:  # a benchmark never fails the build: say what went wrong instead
        result = {"bench": "agent_memory", "error": f"{type(e).__name__}: {e}"[:500]}
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
