"""Member health: the start of an outage stays put while the outage lasts."""

from __future__ import annotations

import datetime as dt

from kubernetes.aio.client import ApiClient

from computenet.members.connection import UNREACHABLE_AFTER_S, MemberConnection


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


async def test_outage_start_does_not_move_with_each_failed_probe() -> None:
    clock = Clock()
    conn = MemberConnection("key", "https://127.0.0.1:1", ApiClient(), clock)
    try:
        conn._mark_reachable()
        clock.advance(UNREACHABLE_AFTER_S + 1)
        conn._probe_failed("connection refused")
        assert not conn.health.reachable
        outage_start = conn.health.since
        for _ in range(5):
            clock.advance(5)
            conn._probe_failed("connection refused")
            assert "does not answer for" in conn.health.message
        assert conn.health.since == outage_start  # the message changed, the outage did not
        assert conn.health.failures == 1
        clock.advance(5)
        conn._mark_reachable()
        assert conn.health.reachable
        assert conn.health.since == clock.now
    finally:
        await conn.client.close()
