"""`kubectl computenet` against the real hub: why, offers and accept, as a user runs them.

The plugin runs as its own process (the installed `kubectl-computenet` entry point), found by
kubectl on PATH, with the hub's kubeconfig: what it prints and its exit codes are what is tested.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from computenet.testing import devenv
from computenet.testing.federation import Cluster
from support.tasks import apply, condition, phase_is, status, task, unique
from support.timeouts import JOB_S, STATE_S
from support.wait import eventually

PLUGIN = Path(sys.executable).parent / "kubectl-computenet"


def plugin(hub: Cluster, *args: str, kubeconfig: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the plugin as kubectl runs it; never raises on a non-zero exit."""
    env = {**os.environ, "KUBECONFIG": str(kubeconfig or hub.kubeconfig)}
    return subprocess.run([str(PLUGIN), *args], env=env, text=True, capture_output=True, timeout=120, check=False)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_kubectl_finds_the_plugin_on_path(hub: Cluster) -> None:
    env = {**os.environ, "PATH": f"{PLUGIN.parent}{os.pathsep}{os.environ['PATH']}", "KUBECONFIG": str(hub.kubeconfig)}
    result = subprocess.run(
        ["kubectl", "computenet", "why", "--help"],
        env=env,
        text=True,
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: kubectl computenet why" in result.stdout


def test_a_missing_task_exits_1_with_one_line(operator: devenv.OperatorProcess, hub: Cluster) -> None:
    result = plugin(hub, "why", "no-such-task")
    assert result.returncode == 1
    assert result.stderr == 'error: computetask "no-such-task" not found in namespace "default"\n'
    assert plugin(hub, "why").returncode == 2  # usage


def test_why_shows_every_identifier_with_its_verdict_and_the_runners_up_scores(
    operator: devenv.OperatorProcess, hub: Cluster
) -> None:
    name = unique("why")
    apply(hub, task(name, cpu="1", run="1s"))
    eventually(lambda: status(hub, name).get("placement") or None, timeout=STATE_S)
    doc = json.loads(ok(plugin(hub, "why", name, "-o", "json")))
    st = status(hub, name)
    assert doc["chosen"] == st["placement"]["identifier"]
    verdicts = {row["identifier"]: row["verdict"] for row in doc["identifiers"]}
    assert verdicts[doc["chosen"]] == "chosen"
    assert len(verdicts) == doc["considered"] == 3  # every member of the default pool
    fitting = [row for row in doc["identifiers"] if row["verdict"] in ("chosen", "fits")]
    assert len(fitting) == doc["fitting"]
    assert all({"Fit", "Price"} <= set(row["scores"]) for row in fitting)
    assert [row["score"] for row in fitting] == sorted((row["score"] for row in fitting), reverse=True)
    table = ok(plugin(hub, "why", name)).splitlines()
    assert table[0].split()[:3] == ["IDENTIFIER", "VERDICT", "SCORE"]
    assert "FIT" in table[0].split()
    assert "MODEL" not in table[0].split()
    assert any(line.split()[:2] == [doc["chosen"], "chosen"] for line in table[1:])
    wide = ok(plugin(hub, "why", name, "-o", "wide")).splitlines()
    assert {"MODEL", "PRICE/H"} <= set(wide[0].split())
    assert len(wide) == len(table)
    as_yaml = yaml.safe_load(ok(plugin(hub, "why", name, "-o", "yaml")))
    # The task runs for a second meanwhile: its phase may have moved on; the decision has not.
    assert {k: v for k, v in as_yaml.items() if k != "phase"} == {k: v for k, v in doc.items() if k != "phase"}


def test_why_names_the_filter_that_rejected_each_identifier(operator: devenv.OperatorProcess, hub: Cluster) -> None:
    name = unique("why-h100")
    apply(hub, task(name, gpus=8, models=["NVIDIA-H100-80GB-HBM3"], run="1s"))
    eventually(lambda: status(hub, name).get("placement") or None, timeout=STATE_S)
    doc = json.loads(ok(plugin(hub, "why", name, "-o", "json")))
    rejected = {row["identifier"]: row for row in doc["identifiers"] if row["verdict"] == "rejected"}
    assert doc["chosen"] == "member-1"  # the only member with H100s
    assert set(rejected) == {"member-2", "member-3"}
    assert {row["filter"] for row in rejected.values()} == {"Accelerator"}
    assert {row["reason"] for row in rejected.values()} == {"AcceleratorMismatch"}
    assert all(row["message"].startswith("its schedulable nodes offer ") for row in rejected.values())
    assert "NVIDIA-H100-80GB-HBM3" not in rejected["member-2"]["message"]


def test_accepting_a_runner_up_offer_runs_the_task_there(operator: devenv.OperatorProcess, hub: Cluster) -> None:
    name = unique("offers")
    apply(hub, task(name, cpu="1", run="1s", suspend=True))
    st = eventually(lambda: phase_is(hub, name, "Offered"), timeout=STATE_S)
    assert len(st["offers"]) >= 2
    listed = json.loads(ok(plugin(hub, "offers", name, "-o", "json")))["offers"]
    assert [o["identifier"] for o in listed] == [o["identifier"] for o in st["offers"]]
    assert all("Fit" in o["scores"] for o in listed)
    table = ok(plugin(hub, "offers", name)).splitlines()
    assert table[0].split()[:2] == ["IDENTIFIER", "SCORE"]
    assert len(table) == 1 + len(listed)
    wide = ok(plugin(hub, "offers", name, "-o", "wide")).splitlines()
    assert wide[0].split()[-1] == "URI"
    assert all(line.split()[-1].startswith("cpi://") for line in wide[1:])
    # Offers are refreshed as the pool changes: the same identifiers are offered, scores may move.
    offered = yaml.safe_load(ok(plugin(hub, "offers", name, "-o", "yaml")))["offers"]
    assert {o["identifier"] for o in offered} == {o["identifier"] for o in listed}

    refused = plugin(hub, "accept", name, "not-an-offer")
    assert refused.returncode == 1
    assert "not-an-offer is not among the offers" in refused.stderr

    second = listed[1]["identifier"]  # not the best: the pin, not the ranking, decides
    assert ok(plugin(hub, "accept", name, second)) == f"computetask.computenet.io/{name} accepted offer {second}\n"
    st = eventually(lambda: phase_is(hub, name, "Succeeded"), timeout=JOB_S)
    assert st["placement"]["identifier"] == second
    rejected = [r for r in st["placement"]["explanation"].get("rejected", []) if r["filter"] == "Pinned"]
    assert {r["identifier"] for r in rejected} == {"member-1", "member-2", "member-3"} - {second}

    # -o json prints the task as the hub returned it after the patch: pinned, no longer suspended.
    again = unique("offers-json")
    apply(hub, task(again, cpu="1", run="1s", suspend=True))
    first = eventually(lambda: phase_is(hub, again, "Offered"), timeout=STATE_S)["offers"][0]["identifier"]
    accepted = json.loads(ok(plugin(hub, "accept", again, "-o", "json")))
    assert accepted["metadata"]["name"] == again
    assert (accepted["spec"]["identifier"], accepted["spec"]["suspend"]) == (first, False)
    assert eventually(lambda: phase_is(hub, again, "Succeeded"), timeout=JOB_S)["placement"]["identifier"] == first


def test_a_pinned_task_that_no_longer_fits_waits_saying_why(operator: devenv.OperatorProcess, hub: Cluster) -> None:
    name = unique("pin-wait")
    body: dict[str, Any] = task(name, gpus=8, models=["NVIDIA-H100-80GB-HBM3"], run="1s")
    body["spec"]["identifier"] = "member-2"  # has no H100s
    apply(hub, body)

    def waiting() -> str:
        message = condition(status(hub, name), "Placed").get("message", "")
        assert message.startswith("0/3 identifiers fit"), message
        return message

    message = eventually(waiting, timeout=STATE_S)
    assert "2 not the accepted identifier member-2" in message
    assert "1 no nvidia.com/gpu (NVIDIA-H100-80GB-HBM3)" in message  # member-2's own reason
    # why reads each identifier's verdict from the waiting task's status, written with that line.
    doc = json.loads(ok(plugin(hub, "why", name, "-o", "json")))
    verdicts = {row["identifier"]: (row["verdict"], row["filter"]) for row in doc["identifiers"]}
    assert doc["chosen"] is None
    assert doc["summary"] == message
    assert verdicts["member-2"][0] == "rejected"
    assert verdicts["member-2"][1] != "Pinned"
    assert {verdicts[m] for m in ("member-1", "member-3")} == {("rejected", "Pinned")}
    hub.kubectl("delete", "computetask", name, "--wait=false")
