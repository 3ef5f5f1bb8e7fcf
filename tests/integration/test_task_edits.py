"""Edits to a running task on the real federation: carried out, never ignored.

Suspending a Running task ends its attempt: the member's Job is removed, the usage and cost it ran
up stay on the task, and the task waits as Offered with fresh offers. Lifting suspend runs it again
as a new attempt. A template edit the API server's rule cannot see is run as a new attempt too
(docs/api.md, "What an edit to a running task does").
"""

from __future__ import annotations

import json
from typing import Any

from computenet.api.constants import ATTEMPT_LABEL, TASK_UID_LABEL
from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from support.tasks import apply, condition, events, phase_is, remote_jobs, status, task, unique
from support.timeouts import JOB_S, STATE_S
from support.wait import eventually


def _suspend(hub: Cluster, name: str, suspend: bool) -> None:
    hub.kubectl("patch", "ctask", name, "--type=merge", "-p", json.dumps({"spec": {"suspend": suspend}}))


def _jobs_of(federation: Federation, uid: str) -> list[tuple[str, dict[str, Any]]]:
    jobs = remote_jobs(federation).get(uid, [])
    assert len(jobs) == 1, [(member, job["metadata"]["name"]) for member, job in jobs]
    return jobs


def _offered_with_offers(hub: Cluster, name: str) -> dict[str, Any]:
    st = phase_is(hub, name, "Offered")
    assert st.get("offers"), st.get("conditions")
    return st


def _running_attempt(hub: Cluster, name: str, attempt: int) -> dict[str, Any]:
    st = phase_is(hub, name, "Running")
    assert st["attempt"] == attempt
    return st


def test_suspending_a_running_task_stops_its_job_keeps_its_usage_and_resuming_runs_attempt_2(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    name = unique("suspend")
    apply(hub, task(name, cpu="250m", run="600s"))
    try:
        first = eventually(lambda: _running_attempt(hub, name, 1), timeout=JOB_S)
        uid = json.loads(hub.kubectl("get", "ctask", name, "-o", "json").stdout)["metadata"]["uid"]
        ((member, job),) = eventually(lambda: _jobs_of(federation, uid), timeout=STATE_S)
        assert (member, job["metadata"]["name"]) == (first["placement"]["identifier"], first["remote"]["name"])

        _suspend(hub, name, True)
        offered = eventually(lambda: _offered_with_offers(hub, name), timeout=STATE_S)
        assert offered["attempt"] == 1
        assert "placement" not in offered
        assert "remote" not in offered
        assert offered["usage"]["coreSeconds"] > 0, "the stopped attempt's usage is kept"
        assert offered["cost"]["amount"] >= 0
        stopped = condition(offered, "Dispatched")
        assert (stopped["status"], stopped["reason"]) == ("False", "Suspended")
        assert f"attempt 1 on {member} stopped" in stopped["message"]
        eventually(lambda: uid not in remote_jobs(federation), timeout=STATE_S)
        assert "Suspended" in eventually(lambda: events(hub, name))
        assert status(hub, name)["usage"] == offered["usage"], "an Offered task runs up nothing"

        _suspend(hub, name, False)
        second = eventually(lambda: _running_attempt(hub, name, 2), timeout=JOB_S)
        assert second["usage"]["coreSeconds"] >= offered["usage"]["coreSeconds"], "attempt 1's usage stays"
        ((_, job2),) = eventually(lambda: _jobs_of(federation, uid), timeout=STATE_S)
        assert job2["metadata"]["labels"][ATTEMPT_LABEL] == "2"
        assert job2["metadata"]["labels"][TASK_UID_LABEL] == uid
        assert job2["metadata"]["name"] == second["remote"]["name"] != job["metadata"]["name"]
    finally:
        hub.kubectl("delete", "ctask", name, "--wait=false", check=False)


def test_a_template_edit_the_api_server_cannot_see_runs_as_a_new_attempt(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    """``command`` replaced by ``args`` passes the CRD's rule (CEL equality cannot see it); the operator sees it."""
    name = unique("edited")
    manifest = task(name, cpu="250m", run="600s")
    container = manifest["spec"]["template"]["spec"]["template"]["spec"]["containers"][0]
    container["command"] = ["sleep", "600"]
    apply(hub, manifest)
    try:
        eventually(lambda: _running_attempt(hub, name, 1), timeout=JOB_S)
        uid = json.loads(hub.kubectl("get", "ctask", name, "-o", "json").stdout)["metadata"]["uid"]
        ((_, job),) = eventually(lambda: _jobs_of(federation, uid), timeout=STATE_S)
        container["args"] = container.pop("command")
        apply(hub, manifest)  # accepted: the blind spot of the API server's rule
        second = eventually(lambda: _running_attempt(hub, name, 2), timeout=JOB_S)
        assert second["usage"]["coreSeconds"] > 0, "attempt 1's usage is kept"
        ((_, job2),) = eventually(lambda: _jobs_of(federation, uid), timeout=STATE_S)
        assert job2["metadata"]["name"] != job["metadata"]["name"]
        (pod_container,) = job2["spec"]["template"]["spec"]["containers"]
        assert (pod_container.get("command"), pod_container["args"]) == (None, ["sleep", "600"])
        assert "SpecChanged" in eventually(lambda: events(hub, name))
    finally:
        hub.kubectl("delete", "ctask", name, "--wait=false", check=False)
