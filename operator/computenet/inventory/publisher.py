"""Publishes the operator's identifiers as ClusterProfiles on the hub, while the CRD is there.

Without the ClusterProfile CRD the publisher does nothing but say so once in the log and look again
with a growing pause (up to 30 s); once the CRD appears it publishes, and if the CRD goes it
goes back to waiting. While publishing it compares, every few seconds and on every identifier
change, what each profile should say (``profile.py``) with what it says, and writes the difference
no more often than ``throttle.py`` allows. It owns exactly the profiles that carry its manager's name
in both the ``x-k8s.io/cluster-manager`` label and ``spec.clusterManager.name``: it never changes
or deletes another manager's, and it leaves alone a name another manager already uses.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable

import aiohttp
from kubernetes.aio.client.exceptions import ApiException

from computenet.inventory.hub_profiles import CrdGone, HubProfiles
from computenet.inventory.model import CRD_NAME, LABEL_CLUSTER_MANAGER, ClusterProfile
from computenet.inventory.profile import IdentifierFacts, desired, metadata_differs, published, status_differs
from computenet.inventory.throttle import KEP_MIN_UPDATE_INTERVAL_S, next_write_at
from computenet.signal import Signal

logger = logging.getLogger(__name__)

CRD_POLL_START_S = 2.0
CRD_POLL_MAX_S = 30.0
RECHECK_S = 5.0
"""Capacity moves without an identifier event; what profiles should say is recomputed this often."""
RELIST_S = 60.0
"""The published profiles are listed again this often, to notice edits and deletions by others."""
ERROR_PAUSE_S = 5.0


class ProfilePublisher:
    """One loop per operator: identifiers in, ClusterProfiles out."""

    def __init__(
        self,
        hub: HubProfiles,
        facts: Callable[[], Iterable[IdentifierFacts]],
        changed: Signal,
        manager: str,
        *,
        interval_s: float = KEP_MIN_UPDATE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hub = hub
        self.facts = facts
        self.changed = changed
        self.manager = manager
        self.interval_s = interval_s
        self.clock = clock
        self.profiles: dict[str, ClusterProfile] = {}
        """The published profiles this manager owns, by name."""
        self.last_write: dict[str, float] = {}
        self._foreign_logged: set[str] = set()

    @property
    def selector(self) -> str:
        return f"{LABEL_CLUSTER_MANAGER}={self.manager}"

    async def run(self) -> None:
        """Wait for the CRD, publish while it is there; forever (cancel to stop)."""
        pause = CRD_POLL_START_S
        said_absent = False
        while True:
            try:
                served = await self.hub.crd_served()
            except (ApiException, aiohttp.ClientError, TimeoutError) as e:
                logger.warning("cannot tell whether the hub has the %s CRD: %s", CRD_NAME, e)
                await asyncio.sleep(ERROR_PAUSE_S)
                continue
            if not served:
                if not said_absent:
                    logger.info("the hub has no %s CRD: not publishing ClusterProfiles until it is installed", CRD_NAME)
                    said_absent = True
                await asyncio.sleep(pause)
                pause = min(pause * 2, CRD_POLL_MAX_S)
                continue
            logger.info(
                "publishing identifiers as ClusterProfiles in namespace %s as cluster manager %r",
                self.hub.namespace,
                self.manager,
            )
            said_absent, pause = False, CRD_POLL_START_S
            try:
                await self._publish()
            except CrdGone:
                logger.info("the %s CRD is gone from the hub: ClusterProfiles are no longer published", CRD_NAME)
                self.profiles.clear()
            except Exception:
                # The inventory is a view for others: a fault here must never stop the operator.
                logger.exception("publishing ClusterProfiles failed; starting again in %.0f s", ERROR_PAUSE_S)
                self.profiles.clear()
                await asyncio.sleep(ERROR_PAUSE_S)

    async def _publish(self) -> None:
        seen = self.changed.version
        listed_at: float | None = None
        while True:
            now = self.clock()
            try:
                if listed_at is None or now - listed_at >= RELIST_S:
                    await self._relist()
                    listed_at = now
                wake = await self.sync(dt.datetime.now(dt.UTC))
            except (ApiException, aiohttp.ClientError, TimeoutError) as e:
                logger.warning("ClusterProfiles: %s; trying again in %.0f s", e, ERROR_PAUSE_S)
                listed_at = None
                wake = self.clock() + ERROR_PAUSE_S
            seen = await self.changed.wait_past(seen, max(0.0, wake - self.clock()))

    async def _relist(self) -> None:
        found = {p.metadata.name or "": p for p in await self.hub.list(self.selector) if p.owned_by(self.manager)}
        first_sight = found.keys() - self.profiles.keys()
        self.profiles = found
        now = self.clock()
        for name in first_sight:
            # Written by an earlier process, maybe moments ago: the bound holds across restarts too.
            self.last_write.setdefault(name, now)
        for name in list(self.last_write):
            if name not in found:
                del self.last_write[name]

    async def sync(self, now: dt.datetime) -> float:
        """One pass: create, update or delete what differs; returns when the next pass is due."""
        mono = self.clock()
        wake = mono + RECHECK_S
        facts = {f.name: f for f in self.facts()}
        for name, f in sorted(facts.items()):
            current = self.profiles.get(name)
            if not published(f, current is not None):
                continue
            wanted = desired(f, manager=self.manager, namespace=self.hub.namespace, previous=current, now=now)
            if current is None:
                await self._create(wanted)
                continue
            changed = status_differs(current, wanted) or metadata_differs(current, wanted)
            at = next_write_at(
                changed=changed, last_write_s=self.last_write.get(name), now_s=mono, interval_s=self.interval_s
            )
            if at is None:
                continue
            if at > mono:
                wake = min(wake, at)
                continue
            await self._update(current, wanted)
        for name in sorted(self.profiles.keys() - facts.keys()):
            # Not tracked here may mean not tracked yet (a restarted operator): only the hub can say
            # the identifier is gone.
            if await self.hub.identifier_exists(name):
                continue
            profile = self.profiles.pop(name)
            self.last_write.pop(name, None)
            await self.hub.delete(profile)
            logger.info("ClusterProfile %s/%s deleted: its identifier is gone", self.hub.namespace, name)
        return wake

    async def _create(self, wanted: ClusterProfile) -> None:
        name = wanted.metadata.name or ""
        existing = await self.hub.get(name)
        if existing is not None and not existing.owned_by(self.manager):
            if name not in self._foreign_logged:
                logger.warning(
                    "ClusterProfile %s/%s belongs to cluster manager %r: identifier %s is not published",
                    self.hub.namespace,
                    name,
                    existing.manager,
                    name,
                )
                self._foreign_logged.add(name)
            return
        await self.hub.apply(wanted)
        self.profiles[name] = await self.hub.apply_status(wanted)
        self.last_write[name] = self.clock()
        logger.info("ClusterProfile %s/%s published", self.hub.namespace, name)

    async def _update(self, current: ClusterProfile, wanted: ClusterProfile) -> None:
        name = current.metadata.name or ""
        try:
            if metadata_differs(current, wanted):
                await self.hub.apply(wanted)
            self.profiles[name] = await self.hub.apply_status(wanted)
        except ApiException as e:
            if e.status != 404:
                raise
            self.profiles.pop(name, None)  # deleted by someone: published again on the next pass
            return
        self.last_write[name] = self.clock()
