"""The bound on an attempt's start (``tasks/lifecycle/startup.py``): which signals end it, and when."""

from __future__ import annotations

import datetime as dt

import pytest

from computenet.tasks.lifecycle.startup import (
    NO_POD_GRACE_S,
    PULL_GRACE_S,
    REFUSED_GRACE_S,
    Stall,
    StartView,
    startup_stall,
)

NOW = dt.datetime(2026, 12, 7, 12, 0, 0, tzinfo=dt.UTC)
CONFIG = 'main: CreateContainerConfigError: configmap "settings" not found'
PULL = 'main: ImagePullBackOff: Back-off pulling image "registry.example/nope:1"'
CRASH = "server: CrashLoopBackOff: back-off 5m0s restarting failed container=server"


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        pytest.param(StartView(ago(NO_POD_GRACE_S), ()), None, id="no pod yet, at the bound: still waiting"),
        pytest.param(
            StartView(ago(NO_POD_GRACE_S + 1), ()),
            Stall("the member created no pod of the workload in 61s", no_pods=True),
            id="no pod past the bound: refused at creation, words from the member's events",
        ),
        pytest.param(StartView(ago(3600), ("",)), None, id="pods starting normally are never judged"),
        pytest.param(StartView(ago(REFUSED_GRACE_S - 1), (CONFIG,)), None, id="a config error inside its grace"),
        pytest.param(
            StartView(ago(REFUSED_GRACE_S + 1), ("", CONFIG)),
            Stall(f"a pod did not start in 61s: {CONFIG}"),
            id="a config error past its grace, in any pod of the gang",
        ),
        pytest.param(
            StartView(ago(REFUSED_GRACE_S + 1), (PULL,)), None, id="a failing image pull gets the longer grace"
        ),
        pytest.param(
            StartView(ago(PULL_GRACE_S + 1), (PULL,)),
            Stall(f"a pod did not start in 301s: {PULL}"),
            id="a failing image pull past its grace",
        ),
        pytest.param(
            StartView(ago(REFUSED_GRACE_S + 1), (CRASH,)), None, id="a crashing container gets the longer grace"
        ),
        pytest.param(
            StartView(ago(PULL_GRACE_S + 1), (CRASH,)),
            Stall(f"a pod did not start in 301s: {CRASH}"),
            id="a container that keeps crashing past its grace: a serving workload that never becomes available",
        ),
        pytest.param(
            StartView(ago(REFUSED_GRACE_S + 1), (PULL, CONFIG)),
            Stall(f"a pod did not start in 61s: {CONFIG}"),
            id="the first problem past its own grace decides",
        ),
    ],
)
def test_startup_stall(view: StartView, expected: Stall | None) -> None:
    assert startup_stall(view, NOW) == expected


def test_the_graces_order_refusals_before_slow_pulls() -> None:
    assert NO_POD_GRACE_S <= PULL_GRACE_S
    assert REFUSED_GRACE_S < PULL_GRACE_S
