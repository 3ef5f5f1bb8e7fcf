"""Shared connections to member clusters, keyed by kubeconfig.

Pull members (an agent reports instead of the hub watching) are keyed by their agent, and fed by
the one :class:`~computenet.members.pull_feed.PullFeed`.

Several identifiers may partition one cluster (the H100 nodes and the A100 nodes of the same
member); they reference the same kubeconfig and so share one connection, one set of watches and
one cache. A connection lives while at least one identifier holds it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from computenet.members import kubeconfig
from computenet.members.connection import Clock, MemberConnection, utcnow
from computenet.members.pull import PullConnection
from computenet.members.pull_feed import PullFeed


@dataclass
class _Entry:
    connection: MemberConnection
    holders: set[str] = field(default_factory=set)


class MemberRegistry:
    """Hands out shared MemberConnections; `acquire`/`release` are per identifier name."""

    def __init__(self, clock: Clock = utcnow) -> None:
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._held_by: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self.on_connect: list[Callable[[MemberConnection], None]] = []
        """Called for each new connection before it starts (dispatch adds its Job watch, or follows a pull store)."""
        self.pull: PullFeed | None = None
        """The hub watches that feed pull members; set by the runtime (pull identifiers need it)."""

    @property
    def connections(self) -> list[MemberConnection]:
        return [e.connection for e in self._entries.values()]

    async def acquire(self, holder: str, kubeconfig_text: str) -> MemberConnection:
        """The connection for this kubeconfig, started if new; a holder holds at most one."""
        key = kubeconfig.fingerprint(kubeconfig_text)

        async def connect() -> MemberConnection:
            client = await kubeconfig.client_from(kubeconfig_text)
            conn = MemberConnection(key, kubeconfig.server_of(kubeconfig_text), client, self._clock)
            for hook in self.on_connect:
                hook(conn)
            conn.start()
            return conn

        return await self._acquire(holder, key, connect)

    async def acquire_agent(self, holder: str, namespace: str, name: str) -> MemberConnection:
        """The connection of a pull member: the agent `name` in the provider namespace `namespace` on the hub."""
        feed = self.pull
        if feed is None:
            raise RuntimeError("pull members need the registry's pull feed (MemberRegistry.pull)")
        key = f"agent:{namespace}/{name}"

        async def connect() -> MemberConnection:
            conn = feed.connection(namespace, name)
            for hook in self.on_connect:
                hook(conn)
            return conn

        return await self._acquire(holder, key, connect)

    async def _acquire(
        self, holder: str, key: str, connect: Callable[[], Awaitable[MemberConnection]]
    ) -> MemberConnection:
        async with self._lock:
            previous = self._held_by.get(holder)
            if previous == key:
                return self._entries[key].connection
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry(await connect())
            entry.holders.add(holder)
            self._held_by[holder] = key
            if previous is not None:
                await self._drop(holder, previous)
            return entry.connection

    async def retain(self, holder: str, like: str) -> MemberConnection | None:
        """Let `holder` hold the connection `like` holds (None, and nothing held, if `like` holds none).

        A deleted identifier's connection is retained this way while its tasks are drained.
        """
        async with self._lock:
            key = self._held_by.get(like)
            if key is None:
                return None
            previous = self._held_by.get(holder)
            entry = self._entries[key]
            entry.holders.add(holder)
            self._held_by[holder] = key
            if previous is not None and previous != key:
                await self._drop(holder, previous)
            return entry.connection

    async def release(self, holder: str) -> None:
        async with self._lock:
            key = self._held_by.pop(holder, None)
            if key is not None:
                await self._drop(holder, key)

    async def _drop(self, holder: str, key: str) -> None:
        entry = self._entries[key]
        entry.holders.discard(holder)
        if not entry.holders:
            del self._entries[key]
            await entry.connection.stop()
            if isinstance(entry.connection, PullConnection) and self.pull is not None:
                self.pull.drop(entry.connection.namespace, entry.connection.name)

    async def close(self) -> None:
        async with self._lock:
            for entry in self._entries.values():
                await entry.connection.stop()
            self._entries.clear()
            self._held_by.clear()
        if self.pull is not None:
            await self.pull.close()
