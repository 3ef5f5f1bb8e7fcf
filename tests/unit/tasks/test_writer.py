"""The status writer survives dropped connections and keeps only the latest status per task."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from computenet.api.constants import KindInfo
from computenet.tasks.writer import StatusWriter


class FlakyHub:
    """Fails the first `failures` writes the way a hub under load does, then records writes."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.written: list[tuple[str, str, dict[str, Any]]] = []

    async def replace_status(
        self, kind: KindInfo, name: str, status: dict[str, Any], namespace: str | None = None
    ) -> None:
        if self.failures:
            self.failures -= 1
            raise aiohttp.ServerDisconnectedError()
        self.written.append((namespace or "", name, dict(status)))


@pytest.mark.timeout(30)
async def test_a_dropped_connection_delays_a_status_but_never_loses_it() -> None:
    hub = FlakyHub(failures=3)
    writer = StatusWriter(hub, workers=1)  # type: ignore[arg-type]
    try:
        writer.write("ns", "t", {"phase": "Succeeded"})
        await asyncio.wait_for(writer.flush("ns", "t"), 20)
        assert hub.written == [("ns", "t", {"phase": "Succeeded"})]
        # The single worker survived the failures and still writes.
        writer.write("ns", "u", {"phase": "Running"})
        await asyncio.wait_for(writer.flush("ns", "u"), 20)
        assert hub.written[-1] == ("ns", "u", {"phase": "Running"})
    finally:
        await writer.close()


@pytest.mark.timeout(30)
async def test_only_the_latest_status_of_a_burst_is_written() -> None:
    hub = FlakyHub(failures=0)
    writer = StatusWriter(hub, workers=1)  # type: ignore[arg-type]
    try:
        for phase in ("Pending", "Dispatching", "Running"):
            writer.write("ns", "t", {"phase": phase})
        await asyncio.wait_for(writer.flush("ns", "t"), 20)
        assert [s["phase"] for _, _, s in hub.written] == ["Running"]
    finally:
        await writer.close()
