"""Benchmark: 1,000 member agents (pull mode) reporting to one hub while tasks flow.

Why: in pull mode every member's agent writes its node-level summary to the hub, renews a Lease and
mirrors its Jobs into ComputeWork. At 1,000 members the hub's API server and the operator must keep
up. This plays 1,000 agents against the real hub API server (an in-process load generator speaking
the agent's protocol: the same ComputeAgent report, Lease and ComputeWork status an agent writes),
each with a summary of 100 nodes built by the agent's own report code, and churn (a busy agent's
usage changes between two of its writes, so each interval it reports; a quiet one, a tenth by
default, renews its Lease instead, as the agent does), with the real operator placing a steady flow
of tasks onto them, and prints what the issue sets goals for:

- placement p99 and operator CPU per decision at 1,000 identifiers (goal: p99 <= 5 ms),
- time from an agent's report to the hub's placement state holding it, p50 and p99 (goal: p99 <= 5 s),
  beside how long the hub's API server itself took to serve the report writes (its own histogram),
- hub writes per second caused by status reporting (goal: under 50/s at steady state):
  ``status_reporting_writes_per_s`` sums the agents' reports and Lease renewals and the operator's
  status writes of the identifiers and pools they feed, each also printed apart,
- the operator's resident memory (goal: <= 300 MB),

and, so that a run on a small or shared machine can be read honestly, the CPU share of each process
of the run over the measured window (the hub's etcd and API server, the operator, this load
generator) and how many agent writes were due against how many the hub had not served by its end.

Placement's figures are wall time of the decision alone (the operator's ``place``, snapshot building
excluded), and a decision runs on the operator's main thread without yielding: its wall time is its
CPU time plus the time that thread waited for a CPU. ``operator_thread_shares`` says how much of the
window the main thread ran (``main_cpu``) and waited on a run queue (``main_runqueue_wait``), and how
much the operator's other threads ran (``other_threads_cpu``: executors, the leader election); on a
machine whose cores are all busy a decision takes about (1 + wait / cpu) times its CPU time.
``placement_cpu_*`` is the decision's own CPU time on that thread (``computenet_placement_cpu_seconds``),
what the decision costs once a core is free. ``operator_cpu_ms_per_decision`` is the whole
operator's CPU over the decisions made, not a decision's.

It is a benchmark, not a test: it prints one JSON line and never fails the build (errors become a
JSON line with "error").

    COMPUTENET_BIN_DIR=$(hack/build-binaries.sh) .venv/bin/python bench/bench_agents.py [--agents 1000]

Histogram quantiles are read from the operator's Prometheus buckets, so they are bucket upper bounds
(placement: 0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 7.5, 10 ms ...; report delay: 50 ms, 0.1, 0.25, 0.5, 1, 2, 5 s ...).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kubernetes.aio import config as aio_config
from kubernetes.aio.client import ApiClient, CoordinationV1Api, CustomObjectsApi
from kubernetes.aio.client.exceptions import ApiException
from prometheus_client.parser import text_string_to_metric_families
from stop_on_signal import Terminated, install, shielded

from computenet.api.constants import AGENT_LABEL, GROUP, VERSION
from computenet.members.facts import NodeFacts, PodFacts
from computenet.members.kubeconfig import limit_connections
from computenet.members.report import build_report, report_body
from computenet.members.state import MemberState, NodeSink, PodSink
from computenet.testing import devenv
from computenet.testing.federation import Federation

STATUS_REPORTING = ("computeagents/status", "leases", "computeidentifiers/status", "computepools/status")
"""Hub writes that status reporting causes: the agents' reports and Lease renewals, and the operator's
status writes of the identifiers and pools they feed (task and work writes are the tasks' own)."""

GOALS = {"placement_p99_ms": 5, "report_to_visible_p99_s": 5, "report_writes_per_s": 50, "operator_rss_mb": 300}
REGIONS = ("cn-east", "cn-west", "cn-north", "cn-south")
MODELS = (("NVIDIA-H100-80GB-HBM3", 4.0), ("NVIDIA-A100-SXM4-80GB", 2.5), ("NVIDIA-L40S", 1.5), ("NVIDIA-L4", 0.8))
GIB = 1024**3
CONCURRENCY = 200
"""Requests the load generator keeps in flight: 1,000 real agents have up to 1,000, and a bound far
below that would measure the generator, not the hub (at 2 s a request 48 in flight cap it at 24/s)."""
MERGE = "application/merge-patch+json"
OPERATOR_ENV = {
    "COMPUTENET_LEADER_LEASE_DURATION_S": "60",
    "COMPUTENET_LEADER_RENEW_DEADLINE_S": "45",
    "COMPUTENET_LEADER_RETRY_PERIOD_S": "2",
}
"""Generous leader timings: on a shared small machine the hub API server answers slowly while 1,000
agents register, and an operator that misses its renew deadline exits (it is measured, not elected)."""


def log(msg: str) -> None:
    print(f"[bench-agents] {msg}", file=sys.stderr, flush=True)


# ---- the simulated agents --------------------------------------------------------------------


class SimAgent:
    """One agent's member: 100 GPU nodes whose requests change between reports.

    Its state is the agent's own :class:`MemberState` (one pod per node holding what the node runs)
    and its report the agent's own :func:`report_body`, so the hub receives what a real agent of
    such a member writes. A quiet agent's member does not change: it renews its Lease instead.
    """

    def __init__(self, index: int, providers: int, nodes: int, rng: random.Random, quiet: bool = False) -> None:
        self.index = index
        self.provider = f"provider-{index % providers}"
        self.namespace = self.provider
        self.name = f"agent-{index}"
        self.region = REGIONS[index % len(REGIONS)]
        self.model, self.price = MODELS[index % len(MODELS)]
        self.rng = rng
        self.quiet = quiet
        labels = {
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/os": "linux",
            "topology.kubernetes.io/region": self.region,
            "topology.kubernetes.io/zone": f"{self.region}-1a",
            "nvidia.com/gpu.product": self.model,
            "nvidia.com/gpu.memory": "81920",
            "node.kubernetes.io/instance-type": "gpu-8x",
        }
        capacity = {
            "cpu": 96_000,
            "memory": 1024 * GIB,
            "pods": 110,
            "ephemeral-storage": 2000 * GIB,
            "nvidia.com/gpu": 8,
        }
        self.state = MemberState()
        self.names = [f"{self.name}-n{n}" for n in range(nodes)]
        NodeSink(self.state).replace(
            {
                name: NodeFacts(name, {**labels, "kubernetes.io/hostname": name}, capacity, capacity, (), True, False)
                for name in self.names
            }
        )
        self.pods = PodSink(self.state)
        self.pods.replace({name: self._pod(name) for name in self.names})
        self.last_body: dict[str, Any] | None = None

    def _pod(self, node: str) -> PodFacts:
        used = self.rng.randint(0, 8)
        requests = {"cpu": used * 8000, "memory": used * 64 * GIB, "pods": used, "nvidia.com/gpu": used}
        return PodFacts(node=node, requests={k: v for k, v in requests.items() if v}, task_uid=None, attempt=None)

    def churn(self) -> None:
        """A few nodes' usage changes (pods come and go)."""
        if not self.quiet:
            for name in self.rng.sample(self.names, 3):
                self.pods.upsert(name, self._pod(name))

    def body(self) -> dict[str, Any]:
        return report_body(self.state)

    def report(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self.body() if body is None else body
        self.last_body = body
        return {"status": {"report": build_report(body, dt.datetime.now(dt.UTC), "bench")}}

    def identifier(self) -> dict[str, Any]:
        return {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "ComputeIdentifier",
            "metadata": {"name": f"pull-{self.index}", "labels": {devenv.POOL_LABEL: "true"}},
            "spec": {
                "uri": f"cpi://{self.provider}/{self.region}/cluster-{self.index}",
                "provider": self.provider,
                "region": self.region,
                "computeClass": "ai",
                "connection": {"agent": {"namespace": self.namespace, "name": self.name}},
                "pricing": {"currency": "USD", "perAcceleratorHour": {self.model: self.price}},
                "network": {"latencyMs": {r: 1 if r == self.region else 40 for r in REGIONS}},
            },
        }


def lease(agent: SimAgent, duration: int) -> dict[str, Any]:
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": agent.name, "namespace": agent.namespace, "labels": {AGENT_LABEL: agent.name}},
        "spec": {"holderIdentity": agent.name, "leaseDurationSeconds": duration, "renewTime": stamp},
    }


def task_manifest(name: str, model: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": "default", "labels": {"bench": "agents"}},
        "spec": {
            "resources": {
                "cpu": "4",
                "memory": "16Gi",
                "accelerators": {"count": 1, "vendor": "nvidia", "models": [model]},
            },
            "template": {
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [
                                {"name": "main", "image": "busybox", "resources": {"limits": {"nvidia.com/gpu": 1}}}
                            ],
                        }
                    },
                }
            },
        },
    }


# ---- driving the hub -------------------------------------------------------------------------


class Driver:
    def __init__(
        self, client: ApiClient, agents: list[SimAgent], interval: float, lease_s: int, renew_s: float
    ) -> None:
        self.custom = CustomObjectsApi(client)
        self.leases = CoordinationV1Api(client)
        self.agents = agents
        self.interval = interval
        self.lease_s = lease_s
        self.renew_s = renew_s
        self.errors = 0
        self.slots = asyncio.Semaphore(CONCURRENCY)

    async def _call(self, make: Any) -> None:
        """Run one request; `make()` builds it only once a connection slot is free, so stamps are fresh."""
        async with self.slots:
            try:
                await (make() if callable(make) else make)
            except ApiException as e:
                if e.status != 409:
                    self.errors += 1
            except Exception:  # a dropped connection under load; counted, never fatal
                self.errors += 1

    async def gather(self, coros: Iterable[Any]) -> None:
        await asyncio.gather(*(self._call(c) for c in coros))

    async def register(self) -> None:
        await self.gather(
            self.custom.create_namespaced_custom_object(
                GROUP, VERSION, a.namespace, "computeagents",
                {"apiVersion": f"{GROUP}/{VERSION}", "kind": "ComputeAgent", "metadata": {"name": a.name}, "spec": {}},
            )
            for a in self.agents
        )  # fmt: skip
        await self.gather((lambda a=a: self.report(a)) for a in self.agents)
        await self.gather(self.leases.create_namespaced_lease(a.namespace, lease(a, self.lease_s)) for a in self.agents)  # type: ignore[arg-type]
        await self.gather(
            self.custom.create_cluster_custom_object(GROUP, VERSION, "computeidentifiers", a.identifier())
            for a in self.agents
        )

    def report(self, agent: SimAgent) -> Any:
        return self.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, agent.namespace, "computeagents", agent.name, agent.report(), _content_type=MERGE
        )

    async def spread(self, period: float, work: Any, stop: float) -> tuple[int, int]:
        """Run `work(agent)` for every agent once per `period`, spread evenly over it, until `stop`.

        Returns (calls due in the window, calls still waiting for the hub when it closed).
        """
        order = list(self.agents)
        random.Random(7).shuffle(order)
        gap = period / len(order)
        start = time.monotonic()
        i = 0
        pending: set[asyncio.Task[None]] = set()
        while time.monotonic() < stop:
            due = start + i * gap
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            agent = order[i % len(order)]
            task = asyncio.create_task(self._call(lambda agent=agent: work(agent)))
            pending.add(task)
            task.add_done_callback(pending.discard)
            i += 1
        unserved = len(pending)
        for task in pending:  # a hub that cannot keep up leaves requests queued: the window is over
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return i, unserved

    def heartbeat(self, agent: SimAgent) -> Any:
        """What the agent does once per interval: report what changed, or renew its Lease if nothing did."""
        agent.churn()  # a busy agent's usage changed since its last report
        body = agent.body()
        if body != agent.last_body:
            return self.custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, agent.namespace, "computeagents", agent.name, agent.report(body), _content_type=MERGE
            )
        return self.renew(agent)

    def renew(self, agent: SimAgent) -> Any:
        return self.leases.patch_namespaced_lease(
            agent.name, agent.namespace, {"spec": lease(agent, self.lease_s)["spec"]}, _content_type=MERGE
        )

    async def respond_to_works(self, stop: float, run_s: float) -> int:
        """Play the agents' side of dispatch: confirm each new ComputeWork's Job, then complete it."""
        seen: set[str] = set()
        running: set[asyncio.Task[None]] = set()
        done = 0
        while time.monotonic() < stop:
            try:
                works = await self.custom.list_cluster_custom_object(GROUP, VERSION, "computeworks")
            except Exception:
                await asyncio.sleep(1)
                continue
            for w in works.get("items", []):
                key = f"{w['metadata']['namespace']}/{w['metadata']['name']}"
                if key in seen:
                    continue
                seen.add(key)
                task = asyncio.create_task(self._run_work(w, run_s))
                running.add(task)
                task.add_done_callback(running.discard)
                done += 1
            await asyncio.sleep(0.5)
        return done

    async def _run_work(self, work: dict[str, Any], run_s: float) -> None:
        ns, name = work["metadata"]["namespace"], work["metadata"]["name"]
        manifest = work["spec"]["manifest"]["metadata"]
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        job = {
            "namespace": manifest["namespace"],
            "name": manifest["name"],
            "uid": str(uuid.uuid4()),
            "active": 1,
            "ready": 1,
            "startTime": now,
        }
        applied = [
            {"type": "Applied", "status": "True", "reason": "Created", "message": "created", "lastTransitionTime": now}
        ]
        await self._call(
            self.custom.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                ns,
                "computeworks",
                name,
                {"status": {"conditions": applied, "job": job}},
                _content_type=MERGE,
            )
        )
        await asyncio.sleep(run_s)
        end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        finished = {
            **job,
            "active": 0,
            "ready": 0,
            "succeeded": 1,
            "completionTime": end,
            "conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": end}],
        }
        await self._call(
            self.custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, ns, "computeworks", name, {"status": {"job": finished}}, _content_type=MERGE
            )
        )


# ---- measuring -------------------------------------------------------------------------------


def metrics_text(port: int) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=120) as response:
        return str(response.read().decode())


def histogram(text: str, name: str, **labels: str) -> tuple[dict[float, float], float, float]:
    """(cumulative count by bucket upper bound, count, sum) of a histogram.

    Summed over the samples whose labels include `labels`.
    """
    buckets: dict[float, float] = {}
    count = total = 0.0
    for family in text_string_to_metric_families(text):
        if family.name != name:
            continue
        for s in family.samples:
            if any(s.labels.get(k) != v for k, v in labels.items()):
                continue
            if s.name.endswith("_bucket"):
                buckets[float(s.labels["le"])] = buckets.get(float(s.labels["le"]), 0.0) + s.value
            elif s.name.endswith("_count"):
                count += s.value
            elif s.name.endswith("_sum"):
                total += s.value
    return buckets, count, total


def quantile(before: dict[float, float], after: dict[float, float], q: float) -> float | None:
    """The upper bound of the bucket holding quantile q of the observations between two scrapes."""
    bounds = sorted(after)
    deltas = [(b, after[b] - before.get(b, 0.0)) for b in bounds]
    total = deltas[-1][1] if deltas else 0
    if total <= 0:
        return None
    for bound, cumulative in deltas:
        if cumulative >= q * total:
            return bound
    return None


def apiserver_writes(text: str) -> dict[str, float]:
    """Write requests the hub API server served, by resource[/subresource]."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "apiserver_request":
            continue
        for s in family.samples:
            if s.name == "apiserver_request_total" and s.labels.get("verb") in (
                "POST",
                "PUT",
                "PATCH",
                "DELETE",
                "CREATE",
                "UPDATE",
                "APPLY",
            ):
                key = s.labels.get("resource", "") + (
                    f"/{s.labels['subresource']}" if s.labels.get("subresource") else ""
                )
                out[key] = out.get(key, 0.0) + s.value
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_times(pid: int) -> dict[str, float]:
    """Seconds the process's main thread ran and waited for a CPU, and its other threads ran.

    From Linux's ``/proc/<pid>/task/<tid>/schedstat`` (time on a CPU, time runnable but waiting on a
    run queue, in ns); empty where the kernel keeps no such figures.
    """
    try:
        main_cpu, main_wait = (int(x) / 1e9 for x in Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[:2])
    except (OSError, ValueError):
        return {}
    others = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        if task.name != str(pid):
            try:
                others += int((task / "schedstat").read_text().split()[0]) / 1e9
            except (OSError, ValueError):  # a thread that has ended
                continue
    return {"main_cpu": main_cpu, "main_runqueue_wait": main_wait, "other_threads_cpu": others}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def operator_pid(fed: Federation) -> int:
    records = json.loads((fed.state_dir / "processes.json").read_text())
    return int(next(r["pid"] for r in records if r["name"] == devenv.OPERATOR))


def process_pids(fed: Federation) -> dict[str, int]:
    """Every process of the run by name (the federation's, the operator, and this load generator)."""
    records = json.loads((fed.state_dir / "processes.json").read_text())
    pids = {str(r["name"]): int(r["pid"]) for r in records}
    pids["load-generator"] = os.getpid()
    return pids


def cpu_by_process(pids: dict[str, int]) -> dict[str, float]:
    out = {}
    for name, pid in pids.items():
        try:
            out[name] = cpu_seconds(pid)
        except OSError:  # a process that has exited
            continue
    return out


def ready_members(fed: Federation) -> int:
    """Ready members of the default pool, as its status says; 0 while the hub is too busy to answer."""
    try:
        pool = fed.hub.api.request("GET", f"/apis/{GROUP}/{VERSION}/computepools/{devenv.POOL}", timeout=30)
    except (OSError, ValueError):
        return 0
    return int(((pool.get("status") or {}).get("members") or {}).get("ready") or 0)


def hub_metrics(fed: Federation) -> str:
    return str(fed.hub.api.request("GET", "/metrics", timeout=120))


# ---- the run ---------------------------------------------------------------------------------


async def drive(fed: Federation, op: devenv.OperatorProcess, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    agents = [SimAgent(i, args.providers, args.nodes, rng, quiet=rng.random() < args.quiet) for i in range(args.agents)]
    client = await aio_config.new_client_from_config(config_file=str(fed.hub.kubeconfig))
    limit_connections(client, CONCURRENCY)
    driver = Driver(client, agents, args.report_interval, args.lease_duration, args.renew_interval)
    try:
        t0 = time.monotonic()
        await driver.register()
        log(f"{args.agents} agents registered, reported and leased, identifiers created ({time.monotonic() - t0:.0f}s)")
        deadline = time.monotonic() + args.settle_timeout
        keep_alive = asyncio.create_task(driver.spread(args.renew_interval, driver.renew, deadline))
        while time.monotonic() < deadline:
            ready = await asyncio.to_thread(ready_members, fed)
            if ready >= args.agents:
                break
            await asyncio.sleep(2)
        keep_alive.cancel()
        settled = time.monotonic() - t0
        log(f"{ready}/{args.agents} identifiers Ready after {settled:.0f}s; measuring for {args.measure:.0f}s")

        pid = operator_pid(fed)
        stop = time.monotonic() + args.measure
        before_op, before_api = (
            metrics_text(op.metrics_port),
            await asyncio.to_thread(hub_metrics, fed),
        )
        pids = process_pids(fed)
        all_before = cpu_by_process(pids)
        cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
        threads_before = thread_times(pid)
        loops = [
            driver.spread(args.report_interval, driver.heartbeat, stop),
            driver.respond_to_works(stop, args.task_run),
            submit_tasks(client, agents, args.task_rate, stop),
        ]
        results = await asyncio.gather(*loops)
        wall = time.monotonic() - wall_before
        cpu = cpu_seconds(pid) - cpu_before
        threads_after = thread_times(pid)
        all_after = cpu_by_process(pids)
        after_op, after_api = (
            metrics_text(op.metrics_port),
            await asyncio.to_thread(hub_metrics, fed),
        )
        rss = rss_mb(pid)
    finally:
        await client.close()

    pb, pcount, psum = histogram(before_op, "computenet_placement_duration_seconds")
    pa, pcount2, psum2 = histogram(after_op, "computenet_placement_duration_seconds")
    cb, _, csum = histogram(before_op, "computenet_placement_cpu_seconds")
    ca, _, csum2 = histogram(after_op, "computenet_placement_cpu_seconds")
    rb, _, _ = histogram(before_op, "computenet_agent_report_delay_seconds")
    ra, _, _ = histogram(after_op, "computenet_agent_report_delay_seconds")
    hub_latency = "apiserver_request_duration_seconds"
    report_patch = {"verb": "PATCH", "resource": "computeagents", "subresource": "status"}
    lb, _, _ = histogram(before_api, hub_latency, **report_patch)
    la, _, _ = histogram(after_api, hub_latency, **report_patch)
    decisions = pcount2 - pcount
    wb, wa = apiserver_writes(before_api), apiserver_writes(after_api)
    rate = {k: (wa[k] - wb.get(k, 0.0)) / wall for k in wa if wa[k] - wb.get(k, 0.0) > 0}
    p99 = quantile(pb, pa, 0.99)
    r50, r99 = quantile(rb, ra, 0.50), quantile(rb, ra, 0.99)
    return {
        "bench": "agents",
        "agents": args.agents,
        "nodes_per_agent": args.nodes,
        "identifiers_ready": ready,
        "settle_s": round(settled, 1),
        "measure_s": round(wall, 1),
        "tasks_submitted": results[2],
        "works_run": results[1],
        "placement_decisions": int(decisions),
        "placement_p99_ms_at_most": None if p99 is None else p99 * 1000,
        "placement_mean_ms": round((psum2 - psum) / decisions * 1000, 3) if decisions else None,
        "placement_cpu_p50_ms_at_most": _ms(quantile(cb, ca, 0.50)),
        "placement_cpu_p99_ms_at_most": _ms(quantile(cb, ca, 0.99)),
        "placement_cpu_mean_ms": round((csum2 - csum) / decisions * 1000, 3) if decisions else None,
        "operator_cpu_ms_per_decision": round(cpu / decisions * 1000, 2) if decisions else None,
        "operator_cpu_share": round(cpu / wall, 3),
        "operator_thread_shares": {
            k: round((threads_after[k] - threads_before[k]) / wall, 3) for k in threads_after if k in threads_before
        },
        "report_to_visible_p50_s_at_most": r50,
        "report_to_visible_p99_s_at_most": r99,
        "report_write_hub_latency_p50_s_at_most": quantile(lb, la, 0.50),
        "report_write_hub_latency_p99_s_at_most": quantile(lb, la, 0.99),
        "report_writes_per_s": round(rate.get("computeagents/status", 0.0), 1),
        "lease_writes_per_s": round(rate.get("leases", 0.0), 1),
        "work_status_writes_per_s": round(rate.get("computeworks/status", 0.0), 1),
        "operator_identifier_status_writes_per_s": round(rate.get("computeidentifiers/status", 0.0), 1),
        "status_reporting_writes_per_s": round(sum(rate.get(k, 0.0) for k in STATUS_REPORTING), 1),
        "hub_writes_per_s_total": round(sum(rate.values()), 1),
        "operator_rss_mb": round(rss, 1),
        "cpu_share_by_process": {
            name: round((all_after[name] - all_before[name]) / wall, 3) for name in all_after if name in all_before
        },
        "machine_cpus": os.cpu_count(),
        "heartbeats_due": results[0][0],
        "heartbeats_unserved_at_window_end": results[0][1],
        "load_generator_errors": driver.errors,
        "goals": GOALS,
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


async def submit_tasks(client: ApiClient, agents: list[SimAgent], rate: float, stop: float) -> int:
    custom = CustomObjectsApi(client)
    n = 0
    while time.monotonic() < stop - 5:
        model = MODELS[n % len(MODELS)][0]
        try:
            await custom.create_namespaced_custom_object(
                GROUP, VERSION, "default", "computetasks", task_manifest(f"bench-{n:05d}", model)
            )
            n += 1
        except Exception:
            pass
        await asyncio.sleep(1 / rate)
    return n


def run(fed_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    fed = Federation.start(fed_dir, members=0, log=log)
    try:
        devenv.install_crds(fed.hub)
        devenv.apply(fed.hub, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": devenv.NAMESPACE}})
        devenv.apply(fed.hub, devenv.pool_manifest())
        devenv.apply(
            fed.hub,
            *(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"provider-{p}"}}
                for p in range(args.providers)
            ),
        )
        op = devenv.start_operator(fed, OPERATOR_ENV)
        return asyncio.run(drive(fed, op, args))
    finally:
        with shielded():
            fed.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=100, help="nodes in each agent's summary")
    parser.add_argument("--providers", type=int, default=20, help="provider namespaces the agents are spread over")
    parser.add_argument(
        "--report-interval", type=float, default=25.0, help="seconds between an agent's writes (report, else Lease)"
    )
    parser.add_argument("--lease-duration", type=int, default=60)
    parser.add_argument("--renew-interval", type=float, default=25.0, help="Lease renewals while settling")
    parser.add_argument("--quiet", type=float, default=0.1, help="share of agents whose members do not change")
    parser.add_argument("--measure", type=float, default=75.0, help="seconds of steady state measured")
    parser.add_argument("--settle-timeout", type=float, default=300.0)
    parser.add_argument("--task-rate", type=float, default=2.0, help="tasks submitted per second")
    parser.add_argument("--task-run", type=float, default=5.0, help="seconds a task's Job runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, help="state directory (default: a fresh temporary one, kept)")
    args = parser.parse_args()
    install(log)
    fed_dir = args.dir or Path(tempfile.mkdtemp(prefix="bench-agents-"))
    log(f"state and logs in {fed_dir}")
    try:
        result = run(fed_dir, args)
    except Terminated as e:
        log(f"{e}: the federation and the operator are stopped; state and logs in {fed_dir}")
        return e.exit_code
    except Exception as e:  # a benchmark never fails the build: say what went wrong instead
        log(traceback.format_exc())
        result = {"bench": "agents", "error": f"{type(e).__name__}: {e}"[:500]}
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
