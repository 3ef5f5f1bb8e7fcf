"""Benchmark: dispatch throughput and latency, ComputeTask on the hub -> Job in a member.

Why: the operator sits between a user and every member's own scheduler, so each task pays for
the hub round trips (admission, placement, the status write that records the intent) before its
Job exists. The issue sets goals against published numbers:

- at least 100 tasks/s in a burst (MultiKueue publishes 95 workloads/s on 32 cores),
- a dispatch p99 under 1 s at 50 tasks/s offered (Karmada publishes a 1.3 s p99 for push),
- getting N equal pods Running through the federation takes no more than 1.5x the time the
  member's kube-scheduler alone takes for the same N pods (the single-cluster reference).

It starts a hub and 3 members (real API servers, schedulers and controllers, kwok nodes) on this
machine with the operator running, and measures, for each burst size N:

- `tasks_per_s`: N / (first task POST sent -> last remote Job seen by a watch on the members),
- `p50_s` / `p99_s`: per task, from our own send time of its POST to the arrival of its Job's
  ADDED event on a member watch (both are local monotonic clocks; creationTimestamps only have
  1 s resolution),
- `federation_running_s`: first POST -> last of the N remote pods Running (watched too),
- `single_cluster_s`: N single-pod Jobs of the same pod template POSTed straight into member-1,
  first POST -> last pod Running; `single_cluster_one_job_s`: the same with one Job of
  parallelism = completions = N; `ratio` = federation_running_s / single_cluster_s.

With the JobSet scenario on (``--kinds job,jobset``, the default), every member runs the upstream
JobSet controller (sigs.k8s.io/jobset v0.10.1, with its CRD and webhooks) and, for each burst size
N, a burst of N tasks each carrying a JobSet of 1 leader + 2 workers is measured the same way
(`scenario: jobset-burst`; `pods_running` counts every pod, `federation_running_s` runs to the last
of the 3N pods Running), against N equal JobSets POSTed straight into member-1, where its own
JobSet controller and kube-scheduler do the work (`single_cluster_s`, `ratio`).

Then it offers 50 tasks/s for 20 s (paced sends; `achieved_rate` says what the hub accepted) and
reports the same latencies. To tell where the time goes, every scenario also reports:

- `stages_p50_s` / `stages_p99_s`: send -> each step as a watch on the hub sees it (`seen`:
  the task's ADDED event, `finalizer`: kopf's finalizer, `admitted`: a status phase, `placed`:
  a placement, `recorded`: the remote Job in status) and `job_created` (the member watch);
  `hub_watch_lag_*` (POST answered -> ADDED delivered) says how late hub watches run, the
  operator's included, so hub steps read later than member ones by about that much;
- `jobs_before_intent` / `phase_regressions`: tasks whose Job was committed before their
  Dispatching status, and tasks whose phase went back (e.g. Dispatching -> Pending), from etcd
  revisions, which all API servers here share, so they are one order;
- `cpu_s`: CPU seconds each group of processes used from the first POST until every Job was
  recorded, and `operator_cpu_ms_per_task`; `op_*`: the operator's own histograms
  (`op_status_write_wait_*`: a status due -> the hub has it, so a wait on the hub shows apart);
  `operator_cpu_ms_per_task_to_target`: the operator's CPU until the hub writes were counted;
- `hub_writes_per_task`: every write the hub received for the scenario's tasks after the client
  created them, per task, counted from a watch on the hub: each new resourceVersion of a task
  is one write (`hub_status_writes_per_task` when its status changed, else
  `hub_metadata_writes_per_task` for finalizers, annotations, labels, else
  `hub_other_writes_per_task`), and each Event created or updated whose involvedObject is one
  of the tasks is one (`hub_events_per_task`). They are counted until every task is Running on
  the hub (`until`) and no write came for a few seconds; `hub_status_writes`,
  `hub_metadata_writes` and `hub_events` total them by phase change, metadata keys changed and
  reason, and `hub_writes_after_target_per_task` says how many came after a task's target
  phase. `hub_watch_errors` > 0 means a hub watch reconnected and the counts are lower bounds.

Tasks are tiny (10m cpu, 16Mi) and run for 600 simulated seconds, so capacity never limits a
burst and no pod churns; every scenario deletes its tasks and waits for the remote Jobs and pods
to be gone. During the largest burst, when `py-spy` is installed in the venv, the operator
process is sampled and the profile is summarised (which asyncio task the time goes to, top
functions).

With `--to-completion`, tasks (and the reference Jobs) run 2 s instead and every scenario also
waits until each task finished on the hub (`until`: Succeeded), so the hub writes cover a task
from creation to Succeeded (`hub_phases_at_end` shows any that failed instead).

SIGTERM, SIGINT and SIGHUP stop the federation and the operator this run started (see
`stop_on_signal`) and exit with 128 + the signal's number.

It is a benchmark, not a test: it prints one JSON line per scenario and never asserts. Numbers
from a 2-core machine shared with other work are noisy: everything (etcd, 4 API servers, 3
schedulers, kwok, the operator and this client) shares the same cores; `load_avg_1m` is printed.

    COMPUTENET_BIN_DIR=$(hack/build-binaries.sh) .venv/bin/python bench/bench_dispatch.py [--sizes 100,1000]
    ... bench/bench_dispatch.py --sizes "" --rate 5 --seconds 30   # offered load only
    ... bench/bench_dispatch.py --sizes 100 --no-profile --to-completion  # hub writes, create -> Succeeded
    ... bench/bench_dispatch.py --sizes 100 --kinds jobset --rate 0     # the JobSet burst alone
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fnmatch
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stop_on_signal import Terminated, install, shielded

from computenet.api.constants import TASK_UID_LABEL
from computenet.testing import controllers, devenv
from computenet.testing.federation import Cluster, Federation
from computenet.testing.localapi import ApiError
from computenet.testing.topology import MemberShape, default_shape

MEMBERS = 3
GOAL_TASKS_PER_S = 100
GOAL_P99_S = 1.0
GOAL_RATIO = 1.5
CPU, MEMORY = "10m", "16Mi"
RUN_ANNOTATION, RUN_FOR = "sim.computenet.io/run-duration", "600s"
RUN_TO_COMPLETION = "2s"  # --to-completion: tasks finish soon, so create -> Succeeded is measured
WORKLOAD_NAMESPACE = "computenet-workloads"  # where devenv's identifiers send Jobs
REFERENCE_LABEL = "bench.computenet.io/reference"
TASKS = "/apis/computenet.io/v1alpha1/namespaces/{ns}/computetasks"
JOBS = "/apis/batch/v1/namespaces/{ns}/jobs"
JOBSETS = "/apis/jobset.x-k8s.io/v1alpha2/namespaces/{ns}/jobsets"
JOBSET_ROLES = (("leader", 1), ("workers", 2))
"""A JobSet of the JobSet scenario: replicated Job name and replicas, one pod each (3 pods)."""
KINDS = ("job", "jobset")
WARMUP_TASKS = 12
WAIT_FLOOR_S = 120.0
WAIT_PER_TASK_S = 1.0
CLEANUP_TIMEOUT_S = 600.0
POLL_S = 0.05
PROFILE_RATE_HZ = 100
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
ASYNCIO_STEP = "Handle._run (asyncio/events.py)"
IDLE_LEAVES = frozenset(
    {"_worker (concurrent/futures/thread.py)", "EpollSelector.select (selectors.py)", "wait (threading.py)"}
)  # py-spy counts an executor thread blocked in C (SimpleQueue.get) as active
FINALIZER = "computenet.io/kopf"
STAGES = ("seen", "finalizer", "admitted", "placed", "recorded")
"""A task's steps as a watch on the hub sees them: created (the ADDED event: how late hub watches
deliver), kopf's finalizer added, a status phase (admit ran and its write landed), a placement
(phase Dispatching), the remote Job recorded in status (after the Job exists)."""
PHASE_RANK = {"Pending": 0, "Offered": 0, "Dispatching": 1, "Running": 2, "Succeeded": 3, "Failed": 3, "Cancelled": 3}
RUNNING, DONE = "Running", "Succeeded"
"""What a scenario waits for on the hub: every task Running (or past it), or every task finished
(Succeeded; Failed and Cancelled end the wait too, and `hub_phases_at_end` shows them)."""
WRITES_QUIET_S = 3.0
WRITES_QUIET_CAP_S = 120.0
"""Once every task reached its phase, writes are counted until none came for WRITES_QUIET_S (an
Event posted just after the status write belongs to the step; the operator posts Events from a
queue, which runs a minute behind on a loaded machine), at most WRITES_QUIET_CAP_S more."""
NOT_METADATA = frozenset({"resourceVersion", "managedFields", "generation"})
CPU_GROUPS = {
    "operator": ("operator",),
    "hub_apiserver": ("hub/kube-apiserver",),
    "etcd": ("etcd",),
    "member_apiservers": ("member-*/kube-apiserver",),
    "member_controllers": ("member-*/kube-controller-manager", "member-*/kube-scheduler", "member-*/kwok"),
    "hub_controller": ("hub/kube-controller-manager",),
    "member_jobset_controllers": ("member-*/jobset",),
}


def log(msg: str) -> None:
    print(f"[bench_dispatch {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- talking to the API servers ------------------------------------------------------------------


class Client:
    """Keep-alive HTTPS to one API server as the admin: one connection per thread, one TLS context.

    `LocalApi` opens a connection (and loads the certificates) per request; for a thousand POSTs
    that costs more client CPU than the API server spends, and the creation must not be the
    bottleneck of what is measured.
    """

    def __init__(self, cluster: Cluster) -> None:
        pki = cluster.dir / "pki"
        self.port = cluster.port
        self.context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        self._local = threading.local()

    def connect(self, timeout: float | None = 60.0) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=timeout)

    def request(self, method: str, path: str, body: Any = None) -> Any:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        for attempt in range(2):
            conn: http.client.HTTPSConnection | None = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = self.connect()
            try:
                conn.request(method, path, body=payload, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
                continue  # a kept-alive connection the server closed: once more on a new one
            if resp.status >= 300:
                raise ApiError(resp.status, data.decode(errors="replace"))
            return json.loads(data) if data else {}
        raise AssertionError("unreachable")

    def exists(self, path: str) -> bool:
        try:
            self.request("GET", path)
            return True
        except ApiError as e:
            if e.status == 404:
                return False
            raise

    def count(self, path: str) -> int:
        """Objects a list path returns (from the watch cache)."""
        sep = "&" if "?" in path else "?"
        return len(self.request("GET", f"{path}{sep}resourceVersion=0")["items"])


class FirstSeen:
    """The local monotonic time each key was first seen, written by watch threads."""

    def __init__(self) -> None:
        self._times: dict[str, float] = {}
        self._lock = threading.Lock()

    def mark(self, key: str, at: float) -> None:
        with self._lock:
            self._times.setdefault(key, at)

    def of(self, keys: Iterable[str]) -> dict[str, float]:
        with self._lock:
            return {k: self._times[k] for k in keys if k in self._times}

    def with_prefix(self, prefix: str) -> dict[str, float]:
        with self._lock:
            return {k: t for k, t in self._times.items() if k.startswith(prefix)}


Handler = Callable[[str, dict[str, Any], float], None]


class Watch:
    """One watch stream in a thread; each event is handed over with the time it arrived here."""

    def __init__(self, client: Client, path: str, on_event: Handler) -> None:
        self.client, self.path, self.on_event = client, path, on_event
        self._stop = threading.Event()
        self._conn: http.client.HTTPSConnection | None = None
        self._thread = threading.Thread(target=self._run, name=f"watch {path}", daemon=True)
        self.errors = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        conn = self._conn
        if conn is not None and conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)

    def _list(self) -> str:
        """List once (so nothing created before the watch is missed) and return where to watch from."""
        listed = self.client.request("GET", self.path)
        now = time.monotonic()
        for obj in listed["items"]:
            self.on_event("ADDED", obj, now)
        return str(listed["metadata"]["resourceVersion"])

    def _run(self) -> None:
        version = ""
        while not self._stop.is_set():
            try:
                version = version or self._list()
                version = self._stream(version)
            except (OSError, http.client.HTTPException, ValueError, ApiError):
                if self._stop.is_set():
                    return
                self.errors += 1
                version = ""  # relist: an ADDED missed while reconnecting shows up as listed
                time.sleep(0.5)

    def _stream(self, version: str) -> str:
        sep = "&" if "?" in self.path else "?"
        query = f"watch=1&allowWatchBookmarks=true&timeoutSeconds=600&resourceVersion={version}"
        self._conn = conn = self.client.connect(timeout=None)
        try:
            conn.request("GET", f"{self.path}{sep}{query}", headers={"Accept": "application/json"})
            resp = conn.getresponse()
            if resp.status != 200:
                raise ApiError(resp.status, resp.read().decode(errors="replace"))
            for line in resp:
                at = time.monotonic()
                event = json.loads(line)
                if event["type"] == "ERROR":  # 410 Gone: the version is too old
                    return ""
                version = event["object"]["metadata"]["resourceVersion"]
                if event["type"] != "BOOKMARK":
                    self.on_event(event["type"], event["object"], at)
            return version
        finally:
            conn.close()


# ---- what the members report ---------------------------------------------------------------------


def hub_stages(obj: dict[str, Any]) -> list[str]:
    """Which steps of its way a task on the hub has visibly passed."""
    status = obj.get("status") or {}
    reached = ["seen"]
    if FINALIZER in (obj["metadata"].get("finalizers") or ()):
        reached.append("finalizer")
    reached += [
        name for name, key in (("admitted", "phase"), ("placed", "placement"), ("recorded", "remote")) if key in status
    ]
    return reached


class Ordering:
    """Checks the operator's promises about the order of writes, with etcd revisions.

    Every API server of the federation stores in one etcd, so resourceVersions of the hub and of
    the members are one global order. A task's Dispatching status (the intent) must be committed
    before its Job is created, and a task's phase must never go back (Dispatching -> Pending).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.intent: dict[str, int] = {}  # task uid -> revision of the first status with a placement
        self.job: dict[str, int] = {}  # task uid -> revision of its Job's creation
        self.rank: dict[str, int] = {}
        self.regressed: set[str] = set()

    def on_task(self, obj: dict[str, Any]) -> None:
        uid, version = obj["metadata"]["uid"], int(obj["metadata"]["resourceVersion"])
        status = obj.get("status") or {}
        rank = PHASE_RANK.get(status.get("phase") or "", -1)
        with self._lock:
            if "placement" in status:
                self.intent.setdefault(uid, version)
            if rank < self.rank.get(uid, -1) and not obj["metadata"].get("deletionTimestamp"):
                self.regressed.add(uid)
            self.rank[uid] = max(rank, self.rank.get(uid, -1))

    def on_job(self, task_uid: str, version: int) -> None:
        with self._lock:
            self.job.setdefault(task_uid, version)

    def fields(self, uids: list[str]) -> dict[str, int]:
        with self._lock:
            early = [u for u in uids if u in self.job and self.job[u] < self.intent.get(u, 0)]
            return {"jobs_before_intent": len(early), "phase_regressions": len(self.regressed.intersection(uids))}


@dataclass(frozen=True)
class Write:
    """One write the hub received about a task: `version` is its etcd revision (one order for all).

    `kind` is "status" (the status changed), "metadata" (the status did not, metadata did:
    finalizers, annotations, labels), "other" (neither: spec, or managedFields alone) or "event"
    (an Event about the task created or updated). `detail` says which: the phase change
    ("Pending -> Dispatching"), the metadata keys changed ("annotations,finalizers"), the Event's
    reason.
    """

    version: int
    kind: str
    detail: str


def task_write(before: dict[str, Any], after: dict[str, Any]) -> Write:
    """Classify the write that turned `before` into `after` (consecutive versions of one task)."""
    old_meta, new_meta = before["metadata"], after["metadata"]
    keys = sorted(
        k for k in old_meta.keys() | new_meta.keys() if k not in NOT_METADATA and old_meta.get(k) != new_meta.get(k)
    )
    version = int(new_meta["resourceVersion"])
    old_status, new_status = before.get("status") or {}, after.get("status") or {}
    if old_status != new_status:
        return Write(version, "status", f"{old_status.get('phase') or '-'} -> {new_status.get('phase') or '-'}")
    if keys:
        return Write(version, "metadata", ",".join(keys))
    return Write(version, "other", "spec" if before.get("spec") != after.get("spec") else "managedFields")


class HubWrites:
    """Every write the hub received for each task after its creation, and every Event write about it.

    Fed by the hub's ComputeTask and Event watches. A task's creation (its first version) is the
    client's; each later resourceVersion is one write, classified against the version before it.
    A watch that reconnects relists: a version it skipped is not seen, so `hub_watch_errors` > 0
    makes the counts lower bounds. Events are matched to tasks by involvedObject.uid; an Event
    created then updated (a count bump) is two writes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, dict[str, Any]] = {}  # task uid -> newest version seen
        self._writes: defaultdict[str, list[Write]] = defaultdict(list)  # task uid -> writes after creation
        self._reached: defaultdict[str, dict[str, int]] = defaultdict(dict)  # task uid -> phase -> first revision
        self._events: dict[str, int] = {}  # Event uid -> newest revision counted

    def on_task(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        uid, version = meta["uid"], int(meta["resourceVersion"])
        phase = (obj.get("status") or {}).get("phase")
        with self._lock:
            before = self._last.get(uid)
            if before is not None and version <= int(before["metadata"]["resourceVersion"]):
                return  # the same version again (a relist)
            if before is not None:
                self._writes[uid].append(task_write(before, obj))
            self._last[uid] = obj
            if phase:
                self._reached[uid].setdefault(phase, version)

    def on_event(self, obj: dict[str, Any]) -> None:
        involved = obj.get("involvedObject") or {}
        if involved.get("kind") != "ComputeTask" or not involved.get("uid"):
            return
        uid, version = obj["metadata"]["uid"], int(obj["metadata"]["resourceVersion"])
        with self._lock:
            if version <= self._events.get(uid, 0):
                return
            self._events[uid] = version
            self._writes[involved["uid"]].append(Write(version, "event", str(obj.get("reason") or "-")))

    def reached(self, uids: list[str], target: str) -> int:
        """How many of `uids` were seen in `target`'s phase or a later one."""
        with self._lock:
            return sum(self._target_version(uid, target) is not None for uid in uids)

    def _target_version(self, uid: str, target: str) -> int | None:
        versions = [
            v for phase, v in self._reached.get(uid, {}).items() if PHASE_RANK.get(phase, -1) >= PHASE_RANK[target]
        ]
        return min(versions, default=None)

    def total(self, uids: list[str]) -> int:
        with self._lock:
            return sum(len(self._writes.get(uid, ())) for uid in uids)

    def settle(self, uids: list[str], quiet_s: float = WRITES_QUIET_S, cap_s: float = WRITES_QUIET_CAP_S) -> float:
        """Wait until no write about `uids` came for `quiet_s` (at most `cap_s`); return how long it took."""
        start = last_change = time.monotonic()
        seen = self.total(uids)
        while time.monotonic() - last_change < quiet_s and time.monotonic() - start < cap_s:
            time.sleep(0.2)
            now_seen = self.total(uids)
            if now_seen != seen:
                seen, last_change = now_seen, time.monotonic()
        return time.monotonic() - start

    def fields(self, uids: list[str], target: str) -> dict[str, Any]:
        """Writes per task by kind, and what they were, for the tasks `uids` counted so far."""
        with self._lock:
            writes = [(uid, w) for uid in uids for w in self._writes.get(uid, ())]
            targets = {uid: self._target_version(uid, target) for uid in uids}
            phases = Counter(
                str((self._last[uid].get("status") or {}).get("phase")) for uid in uids if uid in self._last
            )
        n = len(uids) or 1
        kinds = Counter(w.kind for _, w in writes)
        after = sum(1 for uid, w in writes if (t := targets[uid]) is not None and w.version > t)

        def per_task(count: int) -> float:
            return round(count / n, 2)

        def details(kind: str) -> dict[str, int]:
            return dict(Counter(w.detail for _, w in writes if w.kind == kind).most_common())

        return {
            "hub_writes_per_task": per_task(len(writes)),
            "hub_task_writes_per_task": per_task(len(writes) - kinds["event"]),
            "hub_status_writes_per_task": per_task(kinds["status"]),
            "hub_metadata_writes_per_task": per_task(kinds["metadata"]),
            "hub_other_writes_per_task": per_task(kinds["other"]),
            "hub_events_per_task": per_task(kinds["event"]),
            "hub_writes_after_target_per_task": per_task(after),
            "hub_status_writes": details("status"),
            "hub_metadata_writes": details("metadata"),
            "hub_events": details("event"),
            "hub_phases_at_end": dict(phases.most_common()),
        }


@dataclass
class Observers:
    """Watches: the tasks' steps on the hub, their remote Jobs and pods, and the reference pods."""

    stages: dict[str, FirstSeen] = field(default_factory=lambda: {s: FirstSeen() for s in STAGES})
    ordering: Ordering = field(default_factory=Ordering)
    writes: HubWrites = field(default_factory=HubWrites)
    jobs: FirstSeen = field(default_factory=FirstSeen)
    running: FirstSeen = field(default_factory=FirstSeen)
    """Per task: its n-th pod Running, keyed ``<uid>/<n>`` (n from 1), so a task of several pods is
    complete when its last one runs."""
    reference: FirstSeen = field(default_factory=FirstSeen)
    _pods: dict[str, set[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    watches: list[Watch] = field(default_factory=list)
    hub_watches: list[Watch] = field(default_factory=list)

    def on_task(self, kind: str, obj: dict[str, Any], at: float) -> None:
        for stage in hub_stages(obj):
            self.stages[stage].mark(obj["metadata"]["uid"], at)
        self.ordering.on_task(obj)
        if kind != "DELETED":  # deletions come after every measurement
            self.writes.on_task(obj)

    def on_event(self, kind: str, obj: dict[str, Any], at: float) -> None:
        if kind != "DELETED":
            self.writes.on_event(obj)

    def on_job(self, kind: str, obj: dict[str, Any], at: float) -> None:
        """A remote workload (a Job, a JobSet) created; what its controller makes (a JobSet's Jobs) is not one."""
        owned = any(o.get("controller") for o in obj["metadata"].get("ownerReferences") or ())
        if kind == "ADDED" and not owned:
            uid = obj["metadata"]["labels"][TASK_UID_LABEL]
            self.jobs.mark(uid, at)
            self.ordering.on_job(uid, int(obj["metadata"]["resourceVersion"]))

    def on_pod(self, kind: str, obj: dict[str, Any], at: float) -> None:
        if (obj.get("status") or {}).get("phase") == "Running":
            uid = obj["metadata"]["labels"][TASK_UID_LABEL]
            with self._lock:
                pods = self._pods.setdefault(uid, set())
                pods.add(obj["metadata"]["name"])
                count = len(pods)
            self.running.mark(f"{uid}/{count}", at)

    def on_reference_pod(self, kind: str, obj: dict[str, Any], at: float) -> None:
        if (obj.get("status") or {}).get("phase") == "Running":
            run = obj["metadata"]["labels"][REFERENCE_LABEL]
            self.reference.mark(f"{run}/{obj['metadata']['name']}", at)

    def start(self, hub: Client, members: list[Client], reference: Client, jobsets: bool = False) -> None:
        self.hub_watches.append(Watch(hub, "/apis/computenet.io/v1alpha1/computetasks", self.on_task))
        self.hub_watches.append(Watch(hub, "/api/v1/events", self.on_event))
        self.watches.extend(self.hub_watches)
        for member in members:
            self.watches.append(Watch(member, f"/apis/batch/v1/jobs?labelSelector={TASK_UID_LABEL}", self.on_job))
            if jobsets:
                path = f"/apis/jobset.x-k8s.io/v1alpha2/jobsets?labelSelector={TASK_UID_LABEL}"
                self.watches.append(Watch(member, path, self.on_job))
            self.watches.append(Watch(member, f"/api/v1/pods?labelSelector={TASK_UID_LABEL}", self.on_pod))
        self.watches.append(Watch(reference, f"/api/v1/pods?labelSelector={REFERENCE_LABEL}", self.on_reference_pod))
        for w in self.watches:
            w.start()

    def stop(self) -> None:
        for w in self.watches:
            w.stop()

    def hub_watch_errors(self) -> int:
        """Reconnects of the hub watches so far (each may have skipped versions)."""
        return sum(w.errors for w in self.hub_watches)


# ---- the objects -----------------------------------------------------------------------------------


def pod_template(run_for: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A tiny pod that kwok runs for `run_for` (a Go duration, "600s") and then lets succeed."""
    requests = {"cpu": CPU, "memory": MEMORY}
    return {
        "metadata": {"annotations": {RUN_ANNOTATION: run_for}, **({"labels": labels} if labels else {})},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "busybox", "resources": {"requests": requests}}],
        },
    }


def task_manifest(name: str, namespace: str, run_for: str = RUN_FOR) -> dict[str, Any]:
    """The smallest ComputeTask: one replica, cpu only, running far longer than the benchmark by default."""
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 1,
            "resources": {"cpu": CPU, "memory": MEMORY},
            "template": {"spec": {"backoffLimit": 0, "template": pod_template(run_for)}},
        },
    }


def jobset_spec(run_for: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A JobSet of a leader and two workers (JOBSET_ROLES), each pod the tiny one of the Job scenario."""
    return {
        "replicatedJobs": [
            {
                "name": role,
                "replicas": replicas,
                "template": {"spec": {"backoffLimit": 0, "template": pod_template(run_for, labels)}},
            }
            for role, replicas in JOBSET_ROLES
        ]
    }


def jobset_task_manifest(name: str, namespace: str, run_for: str = RUN_FOR) -> dict[str, Any]:
    """A ComputeTask carrying a JobSet of 1 leader + 2 workers, each role placed at its own pods' requests."""
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "resources": {},
            "workload": {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "spec": jobset_spec(run_for)},
        },
    }


def reference_jobset(name: str, ns: str, run: str, run_for: str = RUN_FOR) -> dict[str, Any]:
    """The JobSet of a task, created straight in the member (its JobSet controller and scheduler alone)."""
    return {
        "apiVersion": "jobset.x-k8s.io/v1alpha2",
        "kind": "JobSet",
        "metadata": {"name": name, "namespace": ns, "labels": {REFERENCE_LABEL: run}},
        "spec": jobset_spec(run_for, {REFERENCE_LABEL: run}),
    }


def jobset_pods() -> int:
    return sum(replicas for _, replicas in JOBSET_ROLES)


def reference_job(name: str, ns: str, run: str, pods: int, run_for: str = RUN_FOR) -> dict[str, Any]:
    """A Job of `pods` equal pods with the same template, created straight in the member."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": ns, "labels": {REFERENCE_LABEL: run}},
        "spec": {
            "parallelism": pods,
            "completions": pods,
            "backoffLimit": 0,
            "template": pod_template(run_for, {REFERENCE_LABEL: run}),
        },
    }


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def ensure_namespace(client: Client, name: str) -> None:
    """The namespace, with its default ServiceAccount (pods are refused until it exists)."""
    if not client.exists(f"/api/v1/namespaces/{name}"):
        client.request("POST", "/api/v1/namespaces", namespace(name))
    wait_until(
        f"ServiceAccount {name}/default", lambda: client.exists(f"/api/v1/namespaces/{name}/serviceaccounts/default")
    )


def wait_until(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


# ---- sending -----------------------------------------------------------------------------------------


@dataclass
class Sent:
    """What the client did: per object, the time its POST was sent and the uid it got back."""

    sent: dict[str, float] = field(default_factory=dict)  # uid -> send time
    answered: dict[str, float] = field(default_factory=dict)  # uid -> time the POST's answer came
    post_s: list[float] = field(default_factory=list)
    first: float = 0.0
    last: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, client: Client, path: str, body: dict[str, Any]) -> None:
        start = time.monotonic()
        created = client.request("POST", path, body)
        done = time.monotonic()
        with self.lock:
            self.sent[created["metadata"]["uid"]] = start
            self.answered[created["metadata"]["uid"]] = done
            self.post_s.append(done - start)
            self.first = min(self.first or start, start)
            self.last = max(self.last, done)


def send_burst(client: Client, path: str, bodies: list[dict[str, Any]], threads: int) -> Sent:
    """POST every body as fast as `threads` connections allow."""
    sent = Sent()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda b: sent.post(client, path, b), bodies))
    return sent


def send_paced(client: Client, path: str, bodies: list[dict[str, Any]], rate: float, threads: int) -> Sent:
    """POST body i at start + i / rate (the pool absorbs slow answers so the pace holds)."""
    sent = Sent()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        start = time.monotonic()
        futures = []
        for i, body in enumerate(bodies):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(sent.post, client, path, body))
        for f in futures:
            f.result()
    return sent


# ---- waiting and statistics --------------------------------------------------------------------------


def wait_seen(seen: Callable[[], int], expected: int, timeout: float, alive: Callable[[], None]) -> bool:
    deadline = time.monotonic() + timeout
    while seen() < expected:
        alive()
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
    return True


def quantile(values: list[float], q: float) -> float | None:
    """Nearest-rank quantile (p99 of 100 values is the 99th smallest)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def rounded(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(x, digits)


def stage_fields(sent: Sent, stages: dict[str, dict[str, float]]) -> dict[str, Any]:
    """p50 / p99 of send -> each step of the way, in the order a task takes them."""
    out: dict[str, dict[str, float | None]] = {"stages_p50_s": {}, "stages_p99_s": {}}
    for stage, seen in stages.items():
        latencies = [seen[uid] - t for uid, t in sent.sent.items() if uid in seen]
        out["stages_p50_s"][stage] = rounded(quantile(latencies, 0.5))
        out["stages_p99_s"][stage] = rounded(quantile(latencies, 0.99))
    seen = stages.get("seen", {})
    lag = [seen[uid] - t for uid, t in sent.answered.items() if uid in seen]
    return {
        **out,
        "hub_watch_lag_p50_s": rounded(quantile(lag, 0.5)),
        "hub_watch_lag_p99_s": rounded(quantile(lag, 0.99)),
    }


def latency_fields(sent: Sent, arrived: dict[str, float], prefix: str = "") -> dict[str, Any]:
    latencies = [arrived[uid] - t for uid, t in sent.sent.items() if uid in arrived]
    return {
        f"{prefix}p50_s": rounded(quantile(latencies, 0.50)),
        f"{prefix}p99_s": rounded(quantile(latencies, 0.99)),
        f"{prefix}max_s": rounded(max(latencies, default=None)),
    }


# ---- the operator's own view ---------------------------------------------------------------------------


def scrape(port: int) -> dict[str, float]:
    """The operator's dispatch and placement histograms, summed over labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    wanted = (
        "computenet_dispatch_latency_seconds",
        "computenet_placement_duration_seconds",
        "computenet_status_write_wait_seconds",
    )
    for line in text.splitlines():
        if not line.startswith(wanted):
            continue
        name, _, value = line.rpartition(" ")
        metric = name.split("{")[0]
        le = re.search(r'le="([^"]+)"', name)
        key = f"{metric}:{le.group(1)}" if le else metric
        out[key] = out.get(key, 0.0) + float(value)
    return out


def histogram_fields(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """Mean and bucket-bound p50/p99 of what the operator observed during one scenario."""
    delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    out: dict[str, Any] = {}
    for metric, short in (
        ("computenet_dispatch_latency_seconds", "op_dispatch"),
        ("computenet_placement_duration_seconds", "op_placement"),
        ("computenet_status_write_wait_seconds", "op_status_write_wait"),
    ):
        count = delta.get(f"{metric}_count", 0.0)
        out[f"{short}_count"] = int(count)
        out[f"{short}_mean_s"] = rounded(delta.get(f"{metric}_sum", 0.0) / count, 4) if count else None
        buckets = sorted((float(k.rsplit(":", 1)[1]), v) for k, v in delta.items() if k.startswith(f"{metric}_bucket:"))
        for q, name in ((0.5, "p50_le_s"), (0.99, "p99_le_s")):
            bound = next((le for le, cum in buckets if count and cum >= q * count), None)
            out[f"{short}_{name}"] = bound
    del out["op_placement_p50_le_s"], out["op_placement_p99_le_s"]
    return out


def processes(fed: Federation) -> dict[str, int]:
    """Component name -> pid, as the supervisor recorded them."""
    records = json.loads((fed.state_dir / "processes.json").read_text())
    return {r["name"]: int(r["pid"]) for r in records}


def operator_pid(fed: Federation) -> int:
    return processes(fed)[devenv.OPERATOR]


def cpu_seconds(fed: Federation) -> dict[str, float]:
    """CPU time used so far by each group of components (and by this client), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")

    def used(pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime

    pids = processes(fed)
    out = {
        group: sum(used(pid) for name, pid in pids.items() if any(fnmatch.fnmatch(name, p) for p in patterns))
        for group, patterns in CPU_GROUPS.items()
    }
    out["bench_client"] = time.process_time()
    return out


def cpu_fields(before: dict[str, float], after: dict[str, float], tasks: int) -> dict[str, Any]:
    used = {k: round(after[k] - before[k], 2) for k in after}
    return {"cpu_s": used, "operator_cpu_ms_per_task": rounded(1000 * used["operator"] / tasks, 1)}


# ---- the profile ------------------------------------------------------------------------------------------


class Profiler:
    """py-spy sampling the operator from `start` to `stop`, when py-spy is installed."""

    def __init__(self, pid: int, out: Path) -> None:
        self.pid, self.out = pid, out
        self.exe = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> bool:
        if self.exe is None:
            log("py-spy is not installed (.venv/bin/pip install py-spy): no profile")
            return False
        argv = [self.exe, "record", "-p", str(self.pid), "-o", str(self.out), "--format", "raw"]
        argv += ["-r", str(PROFILE_RATE_HZ), "-d", "3600"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)
        if self.proc.poll() is not None:
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
            log(f"py-spy could not attach to pid {self.pid}: {err.strip()[:300]}")
            self.proc = None
            return False
        return True

    def stop(self) -> Path | None:
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGINT)  # py-spy writes what it sampled on Ctrl-C
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None
        return self.out if self.out.exists() else None


def parse_frame(frame: str) -> str:
    """`func (file.py:12)` -> `func (file.py)`: functions, not lines."""
    m = FRAME.match(frame)
    return f"{m['func']} ({m['file']})" if m else frame


def summarize_profile(path: Path, top: int = 20) -> dict[str, Any]:
    """Where the sampled (non-idle) time goes: by asyncio task step, by function (inclusive), by leaf."""
    roots: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = idle = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [parse_frame(f) for f in stack.split(";")]
        if frames[-1] in IDLE_LEAVES:
            idle += count
            continue
        total += count
        leaves[frames[-1]] += count
        if ASYNCIO_STEP in frames:
            below = frames[frames.index(ASYNCIO_STEP) + 1 :]
            roots[below[0] if below else "asyncio callbacks"] += count
            for f in set(below):
                inclusive[f] += count
        else:
            roots["event loop itself (select, scheduling)" if "run_forever" in stack else frames[-1]] += count

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(top)] if total else []

    return {
        "samples": total,
        "idle_samples_left_out": idle,
        "rate_hz": PROFILE_RATE_HZ,
        "by_task_pct": shares(roots),
        "inclusive_pct": shares(inclusive),
        "self_pct": shares(leaves),
    }


# ---- the scenarios ------------------------------------------------------------------------------------------


@dataclass
class Bench:
    fed: Federation
    op: devenv.OperatorProcess
    threads: int
    hub: Client
    members: list[Client]
    observers: Observers
    until: str = RUNNING
    """RUNNING: tasks run far longer than the benchmark; DONE: they run RUN_TO_COMPLETION, and each
    scenario also waits until every task finished."""
    jobsets: bool = False
    """The members run the JobSet controller and the JobSet scenario runs."""

    @property
    def run_for(self) -> str:
        return RUN_TO_COMPLETION if self.until == DONE else RUN_FOR

    @property
    def reference(self) -> Client:
        return self.members[0]

    def alive(self) -> None:
        self.fed.supervisor.check_running(devenv.OPERATOR)

    def wait_for(self, seen: FirstSeen, uids: list[str], timeout: float) -> dict[str, float]:
        wait_seen(lambda: len(seen.of(uids)), len(uids), timeout, self.alive)
        return seen.of(uids)

    def wait_running(self, uids: list[str], pods: int, timeout: float) -> dict[str, float]:
        """Per task, when the last of its `pods` pods was seen Running."""
        keys = [f"{uid}/{pods}" for uid in uids]
        found = self.wait_for(self.observers.running, keys, timeout)
        return {k.rsplit("/", 1)[0]: t for k, t in found.items()}

    def run_tasks(
        self,
        ns: str,
        count: int,
        send: Callable[[str, list[dict[str, Any]]], Sent],
        profiler: Profiler | None = None,
        manifest: Callable[[str, str, str], dict[str, Any]] = task_manifest,
        pods: int = 1,
    ) -> dict[str, Any]:
        """Create `count` tasks in a fresh hub namespace with `send`; time their Jobs and pods.

        The profiler, if any, samples the operator from before the first POST until every remote
        Job is recorded in its task's status (not while the pods start). The hub writes are
        counted from each task's creation until every task reached `self.until` on the hub and
        the writes went quiet (see HubWrites and WRITES_QUIET_S).
        """
        ensure_namespace(self.hub, ns)
        bodies = [manifest(f"t-{i:05d}", ns, self.run_for) for i in range(count)]
        load = os.getloadavg()[0]
        before, cpu_before = scrape(self.op.metrics_port), cpu_seconds(self.fed)
        profiling = profiler is not None and profiler.start()
        try:
            sent = send(TASKS.format(ns=ns), bodies)
            uids = list(sent.sent)
            timeout = WAIT_FLOOR_S + WAIT_PER_TASK_S * count
            jobs = self.wait_for(self.observers.jobs, uids, timeout)
            recorded = self.wait_for(self.observers.stages["recorded"], uids, timeout)
            after, cpu_after = scrape(self.op.metrics_port), cpu_seconds(self.fed)
        finally:
            profile = profiler.stop() if profiling and profiler is not None else None
        running = self.wait_running(uids, pods, timeout)
        writes = self.observers.writes
        if not wait_seen(lambda: writes.reached(uids, self.until), len(uids), timeout, self.alive):
            log(f"only {writes.reached(uids, self.until)}/{count} tasks reached {self.until} on the hub")
        settled_s = writes.settle(uids)
        if settled_s >= WRITES_QUIET_CAP_S:
            log(f"hub writes still coming {WRITES_QUIET_CAP_S:.0f}s after every task was {self.until}: counted so far")
        cpu_target = cpu_seconds(self.fed)
        span = (max(jobs.values()) - sent.first) if jobs else None
        stages = {s: self.observers.stages[s].of(uids) for s in ("seen", "finalizer", "admitted", "placed")}
        return {
            "tasks": count,
            "jobs_seen": len(jobs),
            "tasks_per_s": rounded(len(jobs) / span if span else None, 1),
            "dispatch_s": rounded(span),
            **latency_fields(sent, jobs),
            "federation_running_s": rounded(max(running.values()) - sent.first if running else None),
            "pods_running": pods * len(running),
            **latency_fields(sent, running, "running_"),
            "create_s": rounded(sent.last - sent.first),
            "post_p50_s": rounded(quantile(sent.post_s, 0.5)),
            "post_p99_s": rounded(quantile(sent.post_s, 0.99)),
            **stage_fields(sent, {**stages, "job_created": jobs, "recorded": recorded}),
            **self.observers.ordering.fields(uids),
            **histogram_fields(before, after),
            **cpu_fields(cpu_before, cpu_after, count),
            "operator_cpu_ms_per_task_to_target": rounded(
                1000 * (cpu_target["operator"] - cpu_before["operator"]) / count, 1
            ),
            "until": self.until,
            "run_for": self.run_for,
            "hub_tasks_reached": writes.reached(uids, self.until),
            **writes.fields(uids, self.until),
            "hub_writes_quiet_after_s": round(settled_s, 1),
            "hub_watch_errors": self.observers.hub_watch_errors(),
            "load_avg_1m": round(load, 1),
            **({"profile": str(profile)} if profile else {}),
        }

    def burst(self, count: int, profiler: Profiler | None = None) -> dict[str, Any]:
        ns = f"bench-burst-{count}"
        log(f"burst of {count} tasks into {ns}")

        def send(path: str, bodies: list[dict[str, Any]]) -> Sent:
            return send_burst(self.hub, path, bodies, self.threads)

        result = {"bench": "dispatch", "scenario": "burst", **self.run_tasks(ns, count, send, profiler)}
        log(f"measured: {json.dumps(result)}")
        self.cleanup(self.hub, ns, self.remote_work())
        return result

    def jobset_burst(self, count: int) -> dict[str, Any]:
        ns = f"bench-jobsets-{count}"
        log(f"burst of {count} JobSet tasks (1 leader + 2 workers each) into {ns}")

        def send(path: str, bodies: list[dict[str, Any]]) -> Sent:
            return send_burst(self.hub, path, bodies, self.threads)

        measured = self.run_tasks(ns, count, send, manifest=jobset_task_manifest, pods=jobset_pods())
        result = {"bench": "dispatch", "scenario": "jobset-burst", **measured}
        log(f"measured: {json.dumps(result)}")
        self.cleanup(self.hub, ns, self.remote_work())
        return result

    def single_cluster_jobsets(self, count: int) -> float | None:
        """First POST -> the 3 x `count` pods of `count` JobSets Running in member-1, no operator in the path."""
        run = f"jobsets-{count}"
        ns = f"bench-reference-{run}"
        ensure_namespace(self.reference, ns)
        bodies = [reference_jobset(f"ref-{i:05d}", ns, run, self.run_for) for i in range(count)]
        sent = send_burst(self.reference, JOBSETS.format(ns=ns), bodies, self.threads)
        seen = self.observers.reference
        pods = count * jobset_pods()
        timeout = WAIT_FLOOR_S + WAIT_PER_TASK_S * pods
        ok = wait_seen(lambda: len(seen.with_prefix(f"{run}/")), pods, timeout, self.alive)
        running = seen.with_prefix(f"{run}/")
        self.cleanup(self.reference, ns, [(self.reference, f"/api/v1/pods?labelSelector={REFERENCE_LABEL}")])
        if not ok:
            log(f"reference {run}: only {len(running)}/{pods} pods Running")
            return None
        return max(running.values()) - sent.first

    def offered(self, rate: float, seconds: float) -> dict[str, Any]:
        count = int(rate * seconds)
        ns = f"bench-offered-{int(rate)}"
        log(f"offering {rate:g} tasks/s for {seconds:g}s ({count} tasks) into {ns}")

        def send(path: str, bodies: list[dict[str, Any]]) -> Sent:
            return send_paced(self.hub, path, bodies, rate, self.threads)

        result = {"bench": "dispatch", "scenario": "offered", "rate": rate, **self.run_tasks(ns, count, send)}
        result["achieved_rate"] = rounded(count / (result["create_s"] or 1), 1)
        log(f"measured: {json.dumps(result)}")
        self.cleanup(self.hub, ns, self.remote_work())
        return result

    def single_cluster(self, count: int, one_job: bool) -> float | None:
        """First POST -> `count` pods Running in member-1 with no operator in the path."""
        run = f"{'job' if one_job else 'jobs'}-{count}"
        ns = f"bench-reference-{run}"
        ensure_namespace(self.reference, ns)
        path = JOBS.format(ns=ns)
        if one_job:
            sent = send_burst(self.reference, path, [reference_job(f"ref-{count}", ns, run, count, self.run_for)], 1)
        else:
            bodies = [reference_job(f"ref-{i:05d}", ns, run, 1, self.run_for) for i in range(count)]
            sent = send_burst(self.reference, path, bodies, self.threads)
        seen = self.observers.reference
        timeout = WAIT_FLOOR_S + WAIT_PER_TASK_S * count
        ok = wait_seen(lambda: len(seen.with_prefix(f"{run}/")), count, timeout, self.alive)
        running = seen.with_prefix(f"{run}/")
        self.cleanup(self.reference, ns, [(self.reference, f"/api/v1/pods?labelSelector={REFERENCE_LABEL}")])
        if not ok:
            log(f"reference {run}: only {len(running)}/{count} pods Running")
            return None
        return max(running.values()) - sent.first

    # ---- cleanup ----

    def remote_work(self) -> list[tuple[Client, str]]:
        """Lists that are empty once no task has a Job or pod left in any member."""
        kinds = ("apis/batch/v1/jobs", "api/v1/pods", *(("apis/jobset.x-k8s.io/v1alpha2/jobsets",) * self.jobsets))
        return [(m, f"/{kind}?labelSelector={TASK_UID_LABEL}") for m in self.members for kind in kinds]

    def cleanup(self, cluster: Client, ns: str, also_empty: list[tuple[Client, str]]) -> None:
        """Delete a namespace and wait until it is gone and `also_empty` lists nothing.

        The namespace controller deletes what is in it (the operator's finalizers run for tasks);
        a cleanup slower than CLEANUP_TIMEOUT_S is logged, not fatal.
        """
        start = time.monotonic()
        cluster.request("DELETE", f"/api/v1/namespaces/{ns}")

        def done() -> bool:
            return not cluster.exists(f"/api/v1/namespaces/{ns}") and all(c.count(p) == 0 for c, p in also_empty)

        try:
            wait_until(f"namespace {ns} deleted", done, timeout=CLEANUP_TIMEOUT_S)
        except TimeoutError as e:
            log(f"WARNING: {e}; later scenarios run beside what is left")
        log(f"cleaned up {ns} in {time.monotonic() - start:.1f}s")


# ---- the run ------------------------------------------------------------------------------------------------


def shapes_for(kinds: tuple[str, ...]) -> list[MemberShape]:
    """The members: every one runs the upstream JobSet controller when the JobSet scenario is on."""
    extra = (controllers.JOBSET.name,) if "jobset" in kinds else ()
    return [dataclasses.replace(default_shape(i), controllers=extra) for i in range(1, MEMBERS + 1)]


def start(fed_dir: Path, kinds: tuple[str, ...] = ("job",)) -> tuple[Federation, devenv.OperatorProcess]:
    shapes = shapes_for(kinds)
    fed = Federation.start(fed_dir, shapes=shapes, log=log)
    try:
        devenv.install_crds(fed.hub)
        devenv.register_members(fed, shapes)
        op = devenv.start_operator(fed)
    except BaseException:
        with shielded():
            fed.stop()
        raise
    return fed, op


def wait_members_ready(hub: Client, count: int) -> None:
    def ready() -> bool:
        items = hub.request("GET", "/apis/computenet.io/v1alpha1/computeidentifiers")["items"]
        conds = [c for i in items for c in (i.get("status") or {}).get("conditions") or () if c["type"] == "Ready"]
        return bool(sum(c["status"] == "True" for c in conds) == count)

    wait_until("identifiers Ready", ready, timeout=120)


def run(
    fed_dir: Path,
    sizes: list[int],
    rate: float,
    seconds: float,
    threads: int,
    profile: bool,
    until: str,
    kinds: tuple[str, ...] = KINDS,
) -> None:
    started = time.monotonic()
    fed, op = start(fed_dir, kinds)
    observers = Observers()
    try:
        hub, members = Client(fed.hub), [Client(m) for m in fed.members]
        jobsets = "jobset" in kinds
        bench = Bench(fed, op, threads, hub, members, observers, until, jobsets)
        wait_members_ready(hub, len(members))
        for m in members:  # as a real registration would have it; pods need its ServiceAccount
            ensure_namespace(m, WORKLOAD_NAMESPACE)
        if jobsets:
            wait_serving_jobsets(hub, len(members))
        observers.start(hub, members, bench.reference, jobsets)
        log(f"federation and operator up in {time.monotonic() - started:.0f}s; warming up with {WARMUP_TASKS} tasks")
        bench.burst(WARMUP_TASKS)

        results = []
        for n in sizes:
            if "job" in kinds:
                profiler = Profiler(operator_pid(fed), fed_dir / f"dispatch-{n}.pyspy.txt") if profile else None
                result = bench.burst(n, profiler if n == max(sizes) else None)
                result["single_cluster_s"] = rounded(bench.single_cluster(n, one_job=False))
                result["single_cluster_one_job_s"] = rounded(bench.single_cluster(n, one_job=True))
                fed_s, ref_s = result["federation_running_s"], result["single_cluster_s"]
                result["ratio"] = rounded(fed_s / ref_s, 2) if fed_s and ref_s else None
                results.append(result)
                print(json.dumps(result), flush=True)
            if jobsets:
                result = bench.jobset_burst(n)
                result["single_cluster_s"] = rounded(bench.single_cluster_jobsets(n))
                fed_s, ref_s = result["federation_running_s"], result["single_cluster_s"]
                result["ratio"] = rounded(fed_s / ref_s, 2) if fed_s and ref_s else None
                results.append(result)
                print(json.dumps(result), flush=True)
        if rate > 0:
            offered = bench.offered(rate, seconds)
            results.append(offered)
            print(json.dumps(offered), flush=True)

        profiles = [Path(r["profile"]) for r in results if r.get("profile")]
        for path in profiles:
            summary = {"bench": "dispatch", "scenario": "profile", "file": str(path), **summarize_profile(path)}
            print(json.dumps(summary), flush=True)
        report_goals(results)
        warnings = [x for x in op.log_text().splitlines() if " WARNING " in x or " ERROR " in x]
        log(f"operator log: {len(warnings)} warnings/errors ({op.log})")
        for line in warnings[:10]:
            log(f"  {line[:200]}")
        log(f"total {time.monotonic() - started:.0f}s; state and logs in {fed_dir}")
    finally:
        with shielded():
            observers.stop()
            log("stopping the federation")
            fed.stop()


def wait_serving_jobsets(hub: Client, count: int) -> None:
    """Until every identifier lists the JobSet kind (its member's discovery, read every 30 s)."""

    def serving() -> bool:
        items = hub.request("GET", "/apis/computenet.io/v1alpha1/computeidentifiers")["items"]
        kinds = [(i.get("status") or {}).get("workloadKinds") or () for i in items]
        return sum("jobset.x-k8s.io/v1alpha2 JobSet" in k for k in kinds) == count

    wait_until("identifiers serving JobSets", serving, timeout=120)


def report_goals(results: list[dict[str, Any]]) -> None:
    for r in results:
        if r["scenario"] in ("burst", "jobset-burst"):
            log(
                f"{r['scenario']} {r['tasks']}: {r['tasks_per_s']} tasks/s (goal >= {GOAL_TASKS_PER_S}), "
                f"p50 {r['p50_s']}s p99 {r['p99_s']}s, federation/single-cluster {r['ratio']} (goal <= {GOAL_RATIO}), "
                f"operator {r['operator_cpu_ms_per_task']} ms CPU/task, {r['hub_writes_per_task']} hub writes/task"
            )
        else:
            log(f"offered {r['rate']}/s: p50 {r['p50_s']}s p99 {r['p99_s']}s (goal p99 < {GOAL_P99_S}s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000", help="burst sizes, comma-separated")
    parser.add_argument("--rate", type=float, default=50.0, help="offered tasks per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to offer them")
    parser.add_argument("--threads", type=int, default=16, help="concurrent POSTs")
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="do not run py-spy")
    parser.add_argument("--dir", type=Path, help="state directory (default: a fresh temporary one, kept)")
    parser.add_argument(
        "--to-completion",
        dest="until",
        action="store_const",
        const=DONE,
        default=RUNNING,
        help=f"tasks run {RUN_TO_COMPLETION} and every scenario waits until they succeeded (hub writes to the end)",
    )
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help="burst scenarios per size: job (single-pod Jobs), jobset (JobSets of 1 leader + 2 workers)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    kinds = tuple(k for k in args.kinds.split(",") if k)
    if not kinds or set(kinds) - set(KINDS):
        parser.error(f"--kinds: one or more of {', '.join(KINDS)}")
    install(log)  # SIGTERM, SIGINT, SIGHUP: unwind through the `finally` that stops the federation
    fed_dir = args.dir or Path(tempfile.mkdtemp(prefix="bench-dispatch-"))
    log(f"state and logs in {fed_dir}")
    try:
        run(fed_dir, sizes, args.rate, args.seconds, args.threads, args.profile, args.until, kinds)
    except Terminated as e:
        log(f"{e}: the federation and the operator are stopped; state and logs in {fed_dir}")
        return e.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
