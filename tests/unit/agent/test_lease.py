"""An agent is lost when the hub has seen neither its Lease renewed nor a new report within the Lease's duration."""

from __future__ import annotations

import datetime as dt

import pytest

from computenet.members.pull import LeaseSeen, PullConnection, lease_expired, observe_lease, observe_report
from computenet.members.report import ReportFacts

T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("seen", "now", "expired"),
    [
        pytest.param(None, at(0), True, id="never seen is lost"),
        pytest.param(LeaseSeen(at(0), 40, at(0)), at(39), False, id="renewed 39 s ago with 40 s duration"),
        pytest.param(LeaseSeen(at(0), 40, at(0)), at(40), False, id="exactly at the duration is not yet lost"),
        pytest.param(LeaseSeen(at(0), 40, at(0)), at(40.5), True, id="past the duration is lost"),
        pytest.param(LeaseSeen(at(-3600), 6, at(0)), at(5), False, id="the agent's clock is never compared"),
    ],
)
def test_lease_expiry(seen: LeaseSeen | None, now: dt.datetime, expired: bool) -> None:
    assert lease_expired(seen, now) is expired


def test_only_a_later_renew_time_moves_the_probe_time() -> None:
    first = observe_lease(None, at(0), 40, at(1))
    assert first.probe_time == at(1)
    same = observe_lease(first, at(0), 40, at(30))
    assert same.probe_time == at(1)  # a re-list of the same Lease is no renewal
    older = observe_lease(first, at(-5), 40, at(31))
    assert older.probe_time == at(1)
    later = observe_lease(first, at(10), 40, at(32))
    assert later.probe_time == at(32)


def test_health_follows_the_lease_and_counts_failures() -> None:
    now = [at(0)]
    conn = PullConnection("provider-a", "agent-1", None, clock=lambda: now[0])  # type: ignore[arg-type]
    conn.observe_lease(at(0), 6)
    assert conn.health.reachable
    now[0] = at(7)
    conn.check_lease()
    assert not conn.health.reachable
    assert conn.health.reason == "AgentLeaseExpired"
    assert conn.health.since == at(7)
    assert conn.health.failures == 1
    message = conn.health.message
    now[0] = at(8)
    conn.check_lease()
    assert conn.health.message == message  # a steady outage does not rewrite status every second
    conn.observe_lease(at(8), 6)
    assert conn.health.reachable


def _report(at_time: dt.datetime) -> ReportFacts:
    return ReportFacts(at_time, {}, {})


def test_a_later_report_is_a_heartbeat_once_the_lease_is_seen() -> None:
    assert observe_report(None, at(0), at(1)) is None  # no Lease yet: a report alone proves nothing
    no_renewal = LeaseSeen(None, 40, None)
    assert observe_report(no_renewal, at(0), at(1)) is no_renewal
    seen = observe_lease(None, at(0), 40, at(1))
    beat = observe_report(seen, at(20), at(21))
    assert beat is not None
    assert (beat.probe_time, beat.renew_time, beat.report_time) == (at(21), at(0), at(20))
    again = observe_report(beat, at(20), at(50))
    assert again is beat  # the same report delivered again (a re-list) is no heartbeat
    renewed = observe_lease(beat, at(0), 40, at(55))
    assert renewed.probe_time == at(21)  # the unchanged Lease leaves the report's heartbeat where it was
    assert renewed.report_time == at(20)


def test_reports_keep_an_agent_reachable_without_lease_renewals() -> None:
    now = [at(0)]
    conn = PullConnection("provider-a", "agent-1", None, clock=lambda: now[0])  # type: ignore[arg-type]
    conn.observe_lease(at(0), 6)
    for second in (4, 8, 12):
        now[0] = at(second)
        assert conn.apply_report(_report(at(second)))
        conn.check_lease()
        assert conn.health.reachable, second
    now[0] = at(18.5)  # 6.5 s after the last report, no renewal: lost
    conn.check_lease()
    assert not conn.health.reachable
    assert "nor reported" in conn.health.message


@pytest.mark.parametrize(
    ("value", "kinds"),
    [
        pytest.param("", (), id="nothing but Jobs by default"),
        pytest.param("Deployment, StatefulSet", ("Deployment", "StatefulSet"), id="a comma-separated list"),
        pytest.param("JobSet,LeaderWorkerSet,RayJob", ("JobSet", "LeaderWorkerSet", "RayJob"), id="controllers' kinds"),
        pytest.param(
            "Deployment,trainjobs.trainer.kubeflow.org",
            ("Deployment", "trainjobs.trainer.kubeflow.org"),
            id="a declared kind as <plural>.<group>",
        ),
    ],
)
def test_the_agent_runs_the_kinds_its_provider_enables(value: str, kinds: tuple[str, ...]) -> None:
    from computenet.agent.cli import workload_kinds

    assert workload_kinds(value).names == kinds


@pytest.mark.parametrize(
    ("value", "error"),
    [
        pytest.param("Deployment,Cronjob", r"unknown Cronjob \(a built-in kind, one of Deployment", id="unknown"),
        pytest.param("trainjobs.kubeflow", r"unknown trainjobs.kubeflow", id="a group without a dot is no CRD's"),
        pytest.param("jobsets.jobset.x-k8s.io", r"jobsets.jobset.x-k8s.io is the built-in JobSet", id="built-in"),
        pytest.param("TrainJobs.trainer.kubeflow.org", r"unknown TrainJobs", id="a resource is lower case"),
    ],
)
def test_an_unknown_kind_is_refused_naming_it_and_the_known_ones(value: str, error: str) -> None:
    from computenet.agent.cli import workload_kinds

    with pytest.raises(ValueError, match=r"--workload-kinds: " + error):
        workload_kinds(value)
