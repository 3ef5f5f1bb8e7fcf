"""Benchmark: placement regret, the pods the operator dispatched that a member's scheduler could not bind.

Why: the operator decides on its own snapshot of every member that a task fits; the member's
kube-scheduler decides again, pod by pod, when the Job arrives. Every dispatched pod the member
leaves Unschedulable is a promise the snapshot broke (the fidelity issue). Goal: 0 on every run of
at least 200 tasks.

It starts a fresh hub and 3 members (real API servers, schedulers and controllers, kwok nodes of
`computenet.testing.topology`), taints every L40S node of member-3 with `support.mix.TAINT` before
the operator starts, submits the seeded mix of `support.mix` (the same mix as
tests/integration/test_placement_regret.py: GPU models by model and by vendor, gangs, native
sidecars, multi-container templates, derived resources, node selectors, required and preferred
node affinity, tolerations, and tasks that fit nowhere) and polls the hub's tasks and the
members' pods until every task that fits has all its pods bound and every task that fits nowhere
waits, or `--timeout` runs out. Then it reads the members' FailedScheduling events and prints
one JSON line:

- `placement_regret`: pods of dispatched tasks the member's scheduler marked Unschedulable
  (PodScheduled=False or a FailedScheduling event), unless their task says its snapshot was stale;
- `dispatched`, `waiting_with_reason` (Placed=False, a reason, a one-line message),
  `waiting_without_reason`, `stale_excused`, `tasks`, `seed`, `settled` (the end state was
  reached), `unbound` (pods of dispatched tasks not seen bound), `elapsed_s`, `load_avg_1m`,
  and `regret_examples` (up to 10, with the member scheduler's message).

SIGTERM, SIGINT and SIGHUP stop the federation and the operator this run started (`stop_on_signal`)
and exit with 128 + the signal's number. It is a benchmark: it asserts nothing.

    COMPUTENET_BIN_DIR=$(hack/build-binaries.sh) .venv/bin/python bench/bench_regret.py [--tasks 500] [--seed 20261130]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from stop_on_signal import Terminated, install, shielded

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from computenet.api.constants import DEFAULT_TARGET_NAMESPACE, TASK_UID_LABEL
from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from computenet.testing.topology import default_shape
from support.mix import MIX_LABEL, TAINT, TAINTED_GROUP, TAINTED_MEMBER, mix
from support.regret import Ledger, Tally, tally

MEMBERS = 3
POLL_S = 3.0
CREATE_BATCH, CREATE_WORKERS = 20, 4
READY_S = 180.0


def log(msg: str) -> None:
    print(f"[bench-regret {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def items(cluster: Cluster, *args: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)["items"]
    return found


def wait_until(what: str, check: Any, timeout: float) -> bool:
    """Poll `check` every POLL_S seconds; False (logged) when `timeout` runs out first."""
    deadline = time.monotonic() + timeout
    while not _answered(check):
        if time.monotonic() > deadline:
            log(f"{what}: not reached after {timeout:.0f}s")
            return False
        time.sleep(POLL_S)
    return True


def _answered(check: Any) -> bool:
    """`check()`, with a kubectl that failed (a loaded API server timing out) counted as not yet."""
    try:
        return bool(check())
    except subprocess.CalledProcessError as e:
        log(f"poll failed, retrying: {' '.join(map(str, e.cmd[3:6]))}: {(e.stderr or '').strip()[:200]}")
        return False


def start(fed_dir: Path) -> tuple[Federation, devenv.OperatorProcess]:
    """A fresh federation with the L40S nodes of member-3 tainted before the operator first looks."""
    shapes = [default_shape(i) for i in range(1, MEMBERS + 1)]
    fed = Federation.start(fed_dir, shapes=shapes, log=log)
    try:
        member = next(m for m in fed.members if m.name == TAINTED_MEMBER)
        nodes = [
            n["metadata"]["name"] for n in items(member, "nodes", "-l", f"computenet.io/node-group={TAINTED_GROUP}")
        ]
        member.kubectl("taint", "nodes", *nodes, f"{TAINT['key']}={TAINT['value']}:{TAINT['effect']}", "--overwrite")
        devenv.install_crds(fed.hub)
        devenv.register_members(fed, shapes)
        for m in fed.members:  # as a real registration would have it; pods need its ServiceAccount
            m.kubectl("create", "namespace", DEFAULT_TARGET_NAMESPACE, check=False)
        op = devenv.start_operator(fed)
    except BaseException:
        with shielded():
            fed.stop()
        raise
    return fed, op


def identifiers_ready(hub: Cluster) -> bool:
    ready = [
        c["status"] == "True"
        for i in items(hub, "computeidentifiers")
        for c in (i.get("status") or {}).get("conditions") or ()
        if c["type"] == "Ready"
    ]
    return bool(sum(ready) == MEMBERS)


def measure(fed: Federation, seed: int, count: int, run_for: str, timeout: float) -> dict[str, Any]:
    hub = fed.hub
    wait_until("identifiers Ready", lambda: identifiers_ready(hub), READY_S)
    run = f"regret-{seed}"
    planned = mix(seed, count, run=run, run_for=run_for)
    nowhere = {t.name for t in planned if t.fit_nowhere}
    ledger = Ledger()
    state: dict[str, Any] = {"tasks": []}
    started = time.monotonic()
    manifests = [t.manifest for t in planned]
    batches = [manifests[i : i + CREATE_BATCH] for i in range(0, len(manifests), CREATE_BATCH)]
    with ThreadPoolExecutor(CREATE_WORKERS) as pool:  # one kubectl at a time takes minutes on a busy hub
        list(pool.map(lambda b: hub.kubectl("create", "-f", "-", input=yaml.safe_dump_all(b)), batches))
    log(f"{count} tasks submitted (seed {seed}, {len(nowhere)} fit nowhere)")

    def settled() -> bool:
        state["tasks"] = items(hub, "computetasks", "-n", "default", "-l", f"{MIX_LABEL}={run}")
        for m in fed.members:
            ledger.observe_pods(m.name, items(m, "pods", "-A", "-l", TASK_UID_LABEL))
        result = tally(state["tasks"], ledger)
        names = {t["metadata"]["name"] for t in state["tasks"]}
        return (
            len(names) == count
            and names - set(result.dispatched) == nowhere
            and not result.unbound
            and set(result.waiting_with_reason) == nowhere
        )

    done = wait_until("every task dispatched and bound, or waiting", settled, timeout)
    elapsed = time.monotonic() - started
    for m in fed.members:
        events = items(m, "events", "-n", DEFAULT_TARGET_NAMESPACE, "--field-selector", "reason=FailedScheduling")
        ledger.observe_events(m.name, events)
    result: Tally = tally(state["tasks"], ledger)
    return {
        "bench": "regret",
        **result.figures(),
        "seed": seed,
        "settled": done,
        "unbound": sum(result.unbound.values()),
        "unattributed_failed_scheduling": len(ledger.unattributed),
        "elapsed_s": round(elapsed, 1),
        "run_for": run_for,
        "load_avg_1m": round(os.getloadavg()[0], 1),
        "regret_examples": [str(r) for r in result.regret[:10]],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=500, help="tasks in the mix")
    parser.add_argument("--seed", type=int, default=20261130, help="seed of the mix")
    parser.add_argument("--run-for", default="30s", help="simulated run time of each pod")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for the end state")
    parser.add_argument("--dir", type=Path, help="state directory (default: a fresh temporary one, kept)")
    args = parser.parse_args()
    install(log)  # SIGTERM, SIGINT, SIGHUP: unwind through the `finally` that stops the federation
    fed_dir = args.dir or Path(tempfile.mkdtemp(prefix="bench-regret-"))
    log(f"state and logs in {fed_dir}")
    try:
        fed, _ = start(fed_dir)
        try:
            print(json.dumps(measure(fed, args.seed, args.tasks, args.run_for, args.timeout)), flush=True)
        finally:
            with shielded():
                log("stopping the federation")
                fed.stop()
    except Terminated as e:
        log(f"{e}: the federation and the operator are stopped; state and logs in {fed_dir}")
        return e.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
