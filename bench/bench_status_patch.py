"""Benchmark: the hub API server's CPU per ComputeTask status write, by the size of the status.

Why: in a burst the hub API server is the busiest process of the federation
(``bench_dispatch.py``'s ``cpu_s.hub_apiserver``), and each task costs it two status writes. This
tells how much of a write is the API server's fixed cost and how much the status the operator
writes: it starts a hub (and one member, unused), creates ``--tasks`` tasks, and replaces their
status with the operator's own writer (``computenet.hub.Hub.replace_status``, ``--concurrency``
writes at a time), alternating a small status (phase and attempt) and one shaped like a placed
task's (four conditions, a placement with its resources, node and an explanation of three
candidates), ``--rounds`` rounds of each. One JSON line per round: the API server's CPU ms per
write (from /proc, user + system) and writes per second.

    COMPUTENET_BIN_DIR=$(hack/build-binaries.sh) .venv/bin/python bench/bench_status_patch.py

It is a benchmark, not a test: it prints JSON lines and never asserts. Figures on the 2-core shared
development machine move with the load (printed as ``load_avg_1m``).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from computenet.api.constants import TASK
from computenet.hub import Hub, connect
from computenet.testing.federation import Federation

ROOT = Path(__file__).resolve().parents[1]
TIME = "2026-12-07T10:00:00Z"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def small_status(i: int) -> dict[str, Any]:
    return {"phase": "Dispatching", "attempt": 1}


def placed_status(i: int) -> dict[str, Any]:
    """The shape of a task's status once placed and dispatching, as the operator writes it."""
    scores = {"fit": 90, "locality": 100, "nodePreference": 50, "price": 80, "reliability": 100}
    candidates = [
        {"identifier": f"member-{k}", "score": 87.5 - k, "scores": scores, "pricePerHour": 0.0123, "currency": "USD"}
        for k in (1, 2, 3)
    ]
    conditions = [
        {
            "type": kind,
            "status": "True",
            "reason": reason,
            "message": f"task {i}: {kind} " + "as the operator words it " * 3,
            "lastTransitionTime": TIME,
            "observedGeneration": 1,
        }
        for kind, reason in (
            ("Valid", "Valid"),
            ("Admitted", "Admitted"),
            ("Placed", "Placed"),
            ("Dispatched", "Dispatching"),
        )
    ]
    placement = {
        "identifier": "member-1",
        "uri": "cpi://local/cn-east/member-1",
        "score": 87.5,
        "reasons": ["fit 90", "locality 100", "price 80", "reliability 100"],
        "time": TIME,
        "pricePerHour": 0.0123,
        "currency": "USD",
        "resources": {"replicas": 1, "cpu": "10m", "memory": "16Mi", "accelerators": 0},
        "nodes": ["cpu-0"],
        "explanation": {"considered": 3, "fitting": 3, "candidates": candidates, "rejectedOmitted": 0},
    }
    return {
        "phase": "Dispatching",
        "attempt": 1,
        "observedGeneration": 1,
        "conditions": conditions,
        "placement": placement,
    }


async def write_all(hub: Hub, tasks: int, concurrency: int, status: Callable[[int], dict[str, Any]]) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await hub.replace_status(TASK, f"t-{i:05d}", status(i), namespace="default")

    await asyncio.gather(*(one(i) for i in range(tasks)))


async def measure(fed: Federation, state: Path, args: argparse.Namespace) -> None:
    hub = fed.hub
    hub.kubectl("apply", "--server-side", "-f", str(ROOT / "crds"))
    hub.kubectl("wait", "--for=condition=Established", f"crd/{TASK.crd_name}", "--timeout=60s")
    sample = yaml.safe_load((ROOT / "samples" / "task-gang.yaml").read_text())
    items = []
    for i in range(args.tasks):
        task = copy.deepcopy(sample)
        task["metadata"] = {"name": f"t-{i:05d}", "namespace": "default"}
        items.append(task)
    hub.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}), timeout=600)
    records = json.loads((state / "processes.json").read_text())
    pid = next(int(r["pid"]) for r in records if r["name"] == "hub/kube-apiserver")
    client = await connect(str(hub.kubeconfig))
    async with client:
        writer = Hub(client)
        for round_ in range(args.rounds):
            for name, status in (("small", small_status), ("placed", placed_status)):
                size = len(json.dumps(status(0)))
                c0, t0 = cpu_seconds(pid), time.perf_counter()
                await write_all(writer, args.tasks, args.concurrency, status)
                wall = time.perf_counter() - t0
                line = {
                    "bench": "status_patch",
                    "round": round_ + 1,
                    "status": name,
                    "status_bytes": size,
                    "writes": args.tasks,
                    "apiserver_cpu_ms_per_write": round(1000 * (cpu_seconds(pid) - c0) / args.tasks, 2),
                    "writes_per_s": round(args.tasks / wall, 1),
                    "load_avg_1m": round(os.getloadavg()[0], 2),
                }
                print(json.dumps(line), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16, help="writes at a time (the operator's writer: 16)")
    parser.add_argument("--dir", type=Path, default=None, help="state directory (default: a temporary one)")
    args = parser.parse_args()
    state = (args.dir or Path(tempfile.mkdtemp(prefix="bench-status-patch-"))).resolve()
    fed = Federation.start(state, members=1)
    try:
        asyncio.run(measure(fed, state, args))
    finally:
        fed.stop()


if __name__ == "__main__":
    main()
