"""Benchmark: how many hub events each kind brings the operator, and what it costs, idle and busy.

Why: the operator reconciles some kinds with kopf handlers (identifiers, pools: resume, create,
update, delete) and the others with its own reflector (tasks, queues, kubeconfig Secrets; agents and
their work in pull mode). kopf costs more per event (it diffs each object against the annotation it
keeps, logs, and patches progress annotations for the handlers it runs), the reflector less (a
list, then a watch whose events go straight into typed records). Which style a kind gets is decided
by the event rate the operator sees for it; this measures that rate and the cost.

It starts a hub and 3 members with the operator (as ``bench_dispatch.py`` does), watches every kind
the operator watches on the hub, and runs three phases, printing one JSON line each:

- ``idle``: nothing but the federation for ``--idle`` seconds: the events per second of each kind
  (the operator's own status writes of identifiers, pools and queues coming back, heartbeats), the
  most in any one second, and the operator's CPU per second;
- ``burst``: ``--tasks`` tasks (cpu only, running 2 s) submitted at once through one ComputeQueue,
  watched for ``--busy`` seconds: events per second per kind, and the operator's CPU per task event;
- ``edits``: ``--edits`` label edits spread over the identifiers, then as many over the pool, at
  ``--edit-rate`` per second: the operator's CPU per handled identifier or pool event, beyond idle.

    COMPUTENET_BIN_DIR=$(hack/build-binaries.sh) .venv/bin/python bench/bench_kinds.py

It is a benchmark, not a test: it prints JSON lines and never asserts. Figures on the 2-core shared
development machine move with the load (printed as ``load_avg_1m``).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench_dispatch import (
    Client,
    Watch,
    ensure_namespace,
    log,
    operator_pid,
    send_burst,
    start,
    task_manifest,
    wait_members_ready,
)
from stop_on_signal import Terminated, install, shielded

from computenet.testing import devenv

API = "/apis/computenet.io/v1alpha1"
KINDS = {
    "ComputeIdentifier": f"{API}/computeidentifiers",
    "ComputePool": f"{API}/computepools",
    "ComputeTask": f"{API}/computetasks",
    "ComputeQueue": f"{API}/computequeues",
    "Secret": f"/api/v1/namespaces/{devenv.NAMESPACE}/secrets",
    "ComputeAgent": f"{API}/computeagents",
}
"""Every kind the operator watches on the hub (ComputeWork only exists with pull members)."""
TASK_NAMESPACE = "bench-kinds"
QUEUE = "bench"


class Counts:
    """Events per kind, counted by the watch threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: Counter[str] = Counter()
        self.seconds: Counter[tuple[str, int]] = Counter()
        """Events per (kind, whole second of the monotonic clock)."""

    def handler(self, kind: str) -> Any:
        def on_event(_type: str, _obj: dict[str, Any], at: float) -> None:
            with self._lock:
                self.events[kind] += 1
                self.seconds[(kind, int(at))] += 1

        return on_event

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.events)

    def peak(self, kind: str, since: float, until: float) -> int:
        """The most events of `kind` in one second between `since` and `until`."""
        with self._lock:
            return max((n for (k, s), n in self.seconds.items() if k == kind and since <= s <= until), default=0)


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Window:
    """Events per kind and operator CPU between `open` and `close`."""

    def __init__(self, counts: Counts, pid: int) -> None:
        self.counts, self.pid = counts, pid
        self.events0 = counts.snapshot()
        self.cpu0, self.t0 = cpu_s(pid), time.monotonic()

    def close(self, phase: str, **extra: Any) -> dict[str, Any]:
        seconds = time.monotonic() - self.t0
        events = self.counts.snapshot() - self.events0
        cpu = cpu_s(self.pid) - self.cpu0
        return {
            "bench": "kinds",
            "phase": phase,
            "seconds": round(seconds, 1),
            "events_per_s": {k: round(events.get(k, 0) / seconds, 2) for k in KINDS},
            "events": {k: events.get(k, 0) for k in KINDS},
            "peak_events_per_s": {k: self.counts.peak(k, self.t0, self.t0 + seconds) for k in KINDS},
            "operator_cpu_ms_per_s": round(cpu / seconds * 1000, 1),
            "operator_cpu_s": round(cpu, 2),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            **extra,
        }


def queue_manifest() -> dict[str, Any]:
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeQueue",
        "metadata": {"name": QUEUE},
        "spec": {
            "pool": devenv.POOL,
            "namespaces": [TASK_NAMESPACE],
            "default": True,
            "nominalQuota": {"cpu": "1000", "memory": "1000Gi"},
        },
    }


def label_patch(value: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"bench.computenet.io/edit": value}}}


class MergeClient(Client):
    """The bench's client, with a JSON merge patch (the label edits)."""

    def request_merge(self, path: str, body: dict[str, Any]) -> int:
        conn = self.connect()
        try:
            conn.request(
                "PATCH", path, body=json.dumps(body).encode(), headers={"Content-Type": "application/merge-patch+json"}
            )
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()


def edits(
    hub: MergeClient, counts: Counts, pid: int, plural: str, names: list[str], n: int, rate: float
) -> dict[str, Any]:
    """`n` label edits over `names`, paced at `rate` per second, and the events and CPU they brought."""
    window = Window(counts, pid)
    for i in range(n):
        name = names[i % len(names)]
        hub.request_merge(f"{API}/{plural}/{name}", label_patch(str(i)))
        time.sleep(1.0 / rate)
    time.sleep(5.0)  # the handlers' last events
    return window.close(f"edits of {plural}", edits=n, rate=rate)


def run(fed_dir: Path, idle_s: float, tasks: int, busy_s: float, n_edits: int, rate: float) -> None:
    fed, _op = start(fed_dir)
    watches: list[Watch] = []
    try:
        hub = MergeClient(fed.hub)
        wait_members_ready(hub, len(fed.members))
        counts = Counts()
        for kind, path in KINDS.items():
            watch = Watch(hub, path, counts.handler(kind))
            watch.start()
            watches.append(watch)
        pid = operator_pid(fed)
        time.sleep(10.0)  # the watches' initial lists and the operator's first writes settle
        idle = Window(counts, pid)
        time.sleep(idle_s)
        idle_result = idle.close("idle")
        print(json.dumps(idle_result), flush=True)

        ensure_namespace(hub, TASK_NAMESPACE)
        for m in fed.members:
            ensure_namespace(Client(m), "computenet-workloads")
        hub.request("POST", f"{API}/computequeues", queue_manifest())
        time.sleep(12.0)  # the queue's first status (settlement ticks every 10 s)
        busy = Window(counts, pid)
        bodies = [task_manifest(f"t-{i}", TASK_NAMESPACE, run_for="2s") for i in range(tasks)]
        send_burst(hub, f"{API}/namespaces/{TASK_NAMESPACE}/computetasks", bodies, 8)
        time.sleep(busy_s)
        result = busy.close("burst", tasks=tasks)
        task_events = result["events"]["ComputeTask"]
        result["operator_cpu_ms_per_task_event"] = (
            round(result["operator_cpu_s"] * 1000 / task_events, 2) if task_events else None
        )
        print(json.dumps(result), flush=True)
        time.sleep(15.0)  # the burst's tail

        idle_ms_per_s = idle_result["operator_cpu_ms_per_s"]
        identifiers = [i["metadata"]["name"] for i in hub.request("GET", f"{API}/computeidentifiers")["items"]]
        for plural, names in (("computeidentifiers", identifiers), ("computepools", [devenv.POOL])):
            r = edits(hub, counts, pid, plural, names, n_edits, rate)
            extra_ms = r["operator_cpu_s"] * 1000 - idle_ms_per_s * r["seconds"]
            r["operator_cpu_ms_per_edit_beyond_idle"] = round(extra_ms / n_edits, 2)
            print(json.dumps(r), flush=True)
    finally:
        with shielded():
            for w in watches:
                w.stop()
            log("stopping the federation")
            fed.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of the idle window")
    parser.add_argument("--tasks", type=int, default=200, help="tasks of the burst")
    parser.add_argument("--busy", type=float, default=60.0, help="seconds of the burst window")
    parser.add_argument("--edits", type=int, default=60, help="label edits of identifiers, then of the pool")
    parser.add_argument("--edit-rate", type=float, default=2.0, help="edits per second")
    parser.add_argument("--dir", type=Path, help="state directory (default: a fresh temporary one, kept)")
    args = parser.parse_args()
    install(log)
    fed_dir = args.dir or Path(tempfile.mkdtemp(prefix="bench-kinds-"))
    log(f"state and logs in {fed_dir}")
    try:
        run(fed_dir, args.idle, args.tasks, args.busy, args.edits, args.edit_rate)
    except Terminated as e:
        log(f"{e}: the federation and the operator are stopped; state and logs in {fed_dir}")
        return e.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
