"""The bound on a dispatched attempt's start: pods that are never created, or never start.

A member can accept the workload and still never run it: its ResourceQuota or LimitRange refuses
the pods at creation (the job controller records ``FailedCreate`` and retries for ever), or the
pods are created but a container cannot start (a missing ConfigMap gives
``CreateContainerConfigError``, a wrong image ``ErrImagePull``/``ImagePullBackOff``). Without a
bound the task would stay Dispatching, holding its quota, for ever. Peers bound the same wait:
Kueue's ``waitForPodsReady`` (kubernetes-sigs/kueue#433, one timeout for the whole start) and
Armada's pod checks (armadaproject/armada#742, a grace per failure reason). This rule follows
Armada's shape: a grace per kind of signal, counted from the moment the workload was created in
the member, so a refusal that cannot pass ends the attempt soon while a slow image pull is given
time. The pods that no node takes are the follower's other bound (``UNSCHEDULABLE_GRACE_S``).

Pure: the follower gathers the inputs (the current attempt's pods as the member's watch or the
agent's report shows them) and delivers the verdict as a ``StartFailed`` event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

NO_POD_GRACE_S = 60.0
"""No pod of the attempt exists this long after its workload was created: the member refuses them.
The job controller creates a Job's pods within a second and retries a refused create with a
backoff of 10 s doubling (k8s.io/kubernetes v1.36.3 pkg/controller/job: DefaultJobPodFailureBackOff),
so 60 s covers four tries."""
REFUSED_GRACE_S = 60.0
"""A container waits for a reason that does not pass by itself (a missing ConfigMap or Secret, an
invalid image name) this long after the workload was created."""
PULL_GRACE_S = 300.0
"""A container's image pull fails (``ErrImagePull``, ``ImagePullBackOff``), or it keeps crashing
(``CrashLoopBackOff``), this long after the workload was created: registries have outages that
pass, large images take minutes, and a server may crash while a dependency comes up."""

PULL_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "CrashLoopBackOff"})
"""Reasons given the longer grace: a pull that may yet succeed, a container that may yet stay up."""


@dataclass(frozen=True)
class StartView:
    """What the member shows of the current attempt's start.

    ``pods``: one entry per pod of the attempt that exists, the pod's waiting problem
    (``"main: CreateContainerConfigError: ..."``, see ``members.facts.waiting_problem``) or "".
    """

    created: dt.datetime
    pods: Sequence[str]


@dataclass(frozen=True)
class Stall:
    """Why the attempt is not starting. ``no_pods``: the member's words must be read from its events."""

    message: str
    no_pods: bool = False


def startup_stall(view: StartView, now: dt.datetime) -> Stall | None:
    """Whether the attempt has not started within its bound, and why (None: not yet, or starting)."""
    waited = (now - view.created).total_seconds()
    if not view.pods:
        if waited > NO_POD_GRACE_S:
            return Stall(f"the member created no pod of the workload in {waited:.0f}s", no_pods=True)
        return None
    for problem in view.pods:
        if not problem:
            continue
        reason = problem.split(": ", 2)[1] if problem.count(": ") >= 1 else problem
        grace = PULL_GRACE_S if reason in PULL_REASONS else REFUSED_GRACE_S
        if waited > grace:
            return Stall(f"a pod did not start in {waited:.0f}s: {problem}")
    return None
