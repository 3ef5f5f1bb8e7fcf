"""An agent is lost when the hub has not seen its Lease renewed within the Lease's duration."""

from __future__ import annotations

import datetime as dt

import pytest

from computenet.members.pull import LeaseSeen, PullConnection, lease_expired, observe_lease

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
