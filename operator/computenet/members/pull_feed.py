"""The hub's three watches for pull members, routed to each agent's connection.

One watch per kind for all agents, however many: ComputeAgent (their reports, heartbeats too),
Leases labelled ``computenet.io/agent`` (their heartbeats) and this hub's ComputeWork (the mirrored
Jobs). Each event goes to the :class:`~computenet.members.pull.PullConnection` of its namespace and
agent name; what arrives for an agent no identifier uses yet is kept and handed over when one does.
A clock tick re-judges every Lease, since an agent that stops renewing sends nothing. While it
runs, the heap is trimmed after the reports' churn (:mod:`computenet.members.allocator`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.aio.client import ApiClient, CoordinationV1Api, CustomObjectsApi

from computenet.api.constants import AGENT, AGENT_LABEL, GROUP, VERSION, WORK
from computenet.dispatch.jobs import JobFacts
from computenet.dispatch.naming import hub_selector
from computenet.members.allocator import Glibc, keep_trimmed
from computenet.members.connection import Clock, utcnow
from computenet.members.pull import PullConnection
from computenet.members.pull_works import work_facts
from computenet.members.reflector import Reflector
from computenet.members.report import ReportFacts, report_facts

__all__ = ["LEASE_CHECK_S", "PullFeed"]

logger = logging.getLogger(__name__)

LEASE_CHECK_S = 1.0
"""How often every agent's Lease is judged again (expiry is noticed within this of its moment)."""

DEFAULT_LEASE_S = 60.0
"""A Lease without leaseDurationSeconds counts for the agent's default duration."""

AgentKey = tuple[str, str]
"""(namespace, agent name) on the hub."""


@dataclass(frozen=True)
class _Lease:
    renew_time: dt.datetime | None
    duration_s: float


@dataclass(frozen=True)
class _Work:
    agent: str
    facts: JobFacts | None


def _time(value: object) -> dt.datetime | None:
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def lease_of(obj: Mapping[str, Any]) -> _Lease:
    spec = obj.get("spec") or {}
    return _Lease(_time(spec.get("renewTime")), float(spec.get("leaseDurationSeconds") or DEFAULT_LEASE_S))


def work_of(obj: Mapping[str, Any]) -> _Work:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return _Work(str(labels.get(AGENT_LABEL, "")), work_facts(obj))


def _split(key: str) -> AgentKey:
    namespace, _, name = key.partition("/")
    return namespace, name


class _Reports:
    def __init__(self, feed: PullFeed) -> None:
        self.feed = feed

    def replace(self, items: Mapping[str, ReportFacts | None]) -> None:
        for key, report in items.items():
            self.upsert(key, report)

    def upsert(self, key: str, item: ReportFacts | None) -> None:
        if item is not None:
            self.feed.on_report(_split(key), item)

    def delete(self, key: str) -> None:
        self.feed.reports.pop(_split(key), None)


class _Leases:
    def __init__(self, feed: PullFeed) -> None:
        self.feed = feed

    def replace(self, items: Mapping[str, _Lease]) -> None:
        for namespace, name in set(self.feed.leases) - {_split(k) for k in items}:
            self.delete(f"{namespace}/{name}")
        for key, lease in items.items():
            self.upsert(key, lease)

    def upsert(self, key: str, item: _Lease) -> None:
        agent = _split(key)
        self.feed.leases[agent] = item
        conn = self.feed.connections.get(agent)
        if conn is not None:
            conn.observe_lease(item.renew_time, item.duration_s)

    def delete(self, key: str) -> None:
        agent = _split(key)
        self.feed.leases.pop(agent, None)
        conn = self.feed.connections.get(agent)
        if conn is not None:
            conn.lease_gone()


class _Works:
    """Routes work facts to the agent's Job store; keeps those of agents without a connection."""

    def __init__(self, feed: PullFeed) -> None:
        self.feed = feed
        self.by_key: dict[str, AgentKey] = {}
        self.synced = False

    def replace(self, items: Mapping[str, _Work]) -> None:
        grouped: dict[AgentKey, dict[str, JobFacts]] = {}
        self.by_key = {}
        for key, work in items.items():
            agent = (_split(key)[0], work.agent)
            self.by_key[key] = agent
            if work.facts is not None:
                grouped.setdefault(agent, {})[key] = work.facts
        self.feed.works = grouped
        self.synced = True
        for agent, conn in self.feed.connections.items():
            conn.jobs.replace(grouped.get(agent, {}))

    def upsert(self, key: str, item: _Work) -> None:
        agent = (_split(key)[0], item.agent)
        previous = self.by_key.get(key)
        if previous is not None and previous != agent:
            self.delete(key)
        self.by_key[key] = agent
        if item.facts is None:
            self._drop(agent, key)
            return
        self.feed.works.setdefault(agent, {})[key] = item.facts
        conn = self.feed.connections.get(agent)
        if conn is not None:
            conn.jobs.upsert(key, item.facts)

    def delete(self, key: str) -> None:
        agent = self.by_key.pop(key, None)
        if agent is not None:
            self._drop(agent, key)

    def _drop(self, agent: AgentKey, key: str) -> None:
        held = self.feed.works.get(agent)
        if held is not None:
            held.pop(key, None)
        conn = self.feed.connections.get(agent)
        if conn is not None:
            conn.jobs.delete(key)


class PullFeed:
    """Watches the hub for every agent and keeps their connections current."""

    def __init__(
        self,
        client: ApiClient,
        hub_id: str,
        clock: Clock = utcnow,
        on_report: Callable[[float], None] = lambda _: None,
    ) -> None:
        self.client = client
        self.hub_id = hub_id
        self.clock = clock
        self.report_delay = on_report
        """Told, for each report applied, how long it took from the agent's stamp to here (seconds)."""
        self.connections: dict[AgentKey, PullConnection] = {}
        self.reports: dict[AgentKey, ReportFacts] = {}
        self.leases: dict[AgentKey, _Lease] = {}
        self.works: dict[AgentKey, dict[str, JobFacts]] = {}
        self._works = _Works(self)
        self._tasks: list[asyncio.Task[None]] = []

    def connection(self, namespace: str, name: str) -> PullConnection:
        """The agent's connection, created (and fed with what is known so far) on first use."""
        self._start()
        agent = (namespace, name)
        conn = self.connections.get(agent)
        if conn is None:
            conn = self.connections[agent] = PullConnection(namespace, name, self.client, self.clock)
            report = self.reports.pop(agent, None)
            if report is not None:
                conn.apply_report(report)
            lease = self.leases.get(agent)
            if lease is not None:
                conn.observe_lease(lease.renew_time, lease.duration_s)
            else:
                conn.check_lease()
            if self._works.synced:
                conn.jobs.replace(dict(self.works.get(agent, {})))
        return conn

    def drop(self, namespace: str, name: str) -> None:
        self.connections.pop((namespace, name), None)

    def on_report(self, agent: AgentKey, report: ReportFacts) -> None:
        conn = self.connections.get(agent)
        if conn is None:
            self.reports[agent] = report
            return
        if conn.apply_report(report):  # a report delivered again by a re-list is no new delay
            self.report_delay(max(0.0, (self.clock() - report.report_time).total_seconds()))

    def _start(self) -> None:
        if self._tasks:
            return
        custom = CustomObjectsApi(self.client)
        coordination = CoordinationV1Api(self.client)
        reflectors: list[Reflector[Any]] = [
            Reflector(
                "hub computeagents",
                functools.partial(
                    custom.list_cluster_custom_object_without_preload_content, GROUP, VERSION, AGENT.plural
                ),
                report_facts,
                _Reports(self),
            ),
            Reflector(
                "hub agent leases",
                coordination.list_lease_for_all_namespaces_without_preload_content,
                lease_of,
                _Leases(self),
                label_selector=AGENT_LABEL,
            ),
            Reflector(
                "hub computeworks",
                functools.partial(
                    custom.list_cluster_custom_object_without_preload_content, GROUP, VERSION, WORK.plural
                ),
                work_of,
                self._works,
                label_selector=hub_selector(self.hub_id),
            ),
        ]
        self._tasks = [asyncio.get_running_loop().create_task(r.run(), name=r.name) for r in reflectors]
        self._tasks.append(asyncio.get_running_loop().create_task(self._tick(), name="agent lease check"))
        self._tasks.append(asyncio.get_running_loop().create_task(keep_trimmed(Glibc.load()), name="heap trim"))

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(LEASE_CHECK_S)
            for conn in list(self.connections.values()):
                try:
                    conn.check_lease()
                except Exception:  # one agent's listener must not stop the others being judged
                    logger.exception("lease check of %s failed", conn.key)

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []
