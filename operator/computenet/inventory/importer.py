"""Imports another cluster manager's ClusterProfiles as ComputeIdentifiers, while the CRD is there.

Each pass lists the ClusterProfiles of one namespace (a ClusterSet, say), leaves out this
operator's own, maps the rest (``imported.identifier_for``: the table in docs/inventory.md), runs
the access provider's exec plugin for a credential (``exec_credential``; again before it expires),
and applies the identifier and its kubeconfig Secret. An identifier whose profile is gone, or no
longer maps, is deleted with its Secret. A profile that cannot be imported is said once in the log,
with the reason. An identifier of the same name that was not imported is never taken over.

Passes run every ``RESYNC_S`` and when a credential is due; the identifiers themselves are then
connected, watched and placed on like any other.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from kubernetes.aio.client import ApiClient
from kubernetes.aio.client.exceptions import ApiException

from computenet.inventory.exec_credential import Credential, CredentialError, run_plugin, with_credential
from computenet.inventory.hub_imports import HubImports
from computenet.inventory.hub_profiles import CrdGone, HubProfiles
from computenet.inventory.imported import (
    IMPORTED_LABEL,
    ExecProvider,
    ImportedIdentifier,
    NotImportable,
    identifier_for,
)
from computenet.inventory.model import CRD_NAME, ClusterProfile

logger = logging.getLogger(__name__)

RESYNC_S = 10.0
"""How often the profiles are listed again (seconds)."""
CRD_POLL_S = 30.0
ERROR_PAUSE_S = 5.0

Plugin = Callable[[Mapping[str, Any], str], Any]
"""Runs an exec plugin: (imported kubeconfig, provider name) -> awaitable Credential."""


@dataclass
class _Held:
    """The credential of one imported identifier and what it was fetched for."""

    kubeconfig: Mapping[str, Any]
    credential: Credential
    refresh_at: dt.datetime


@dataclass
class ProfileImporter:
    """One loop per operator: foreign ClusterProfiles in, ComputeIdentifiers out."""

    profiles: HubProfiles
    """The namespace read (``profiles.namespace``)."""
    hub: HubImports
    """Where identifiers and Secrets are written (Secrets in ``hub.namespace``, the operator's)."""
    manager: str
    """This operator's own cluster manager name: its profiles are never imported."""
    providers: Sequence[ExecProvider]
    labels: Mapping[str, str] = field(default_factory=dict)
    """Added to every imported identifier (so a ComputePool can select them)."""
    target_namespace: str = "computenet-workloads"
    plugin: Plugin = run_plugin
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    _held: dict[str, _Held] = field(default_factory=dict)
    _applied: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    _said: set[str] = field(default_factory=set)

    @classmethod
    def create(
        cls,
        client: ApiClient,
        *,
        source_namespace: str,
        operator_namespace: str,
        manager: str,
        providers: Sequence[ExecProvider],
        labels: Mapping[str, str] | None = None,
    ) -> ProfileImporter:
        return cls(
            HubProfiles(client, source_namespace),
            HubImports(client, operator_namespace),
            manager,
            providers,
            dict(labels or {}),
        )

    async def run(self) -> None:
        """Wait for the CRD, import while it is there; forever (cancel to stop)."""
        said_absent = False
        while True:
            try:
                if not await self.profiles.crd_served():
                    if not said_absent:
                        logger.info("the hub has no %s CRD: nothing imported until it is installed", CRD_NAME)
                        said_absent = True
                    await asyncio.sleep(CRD_POLL_S)
                    continue
                said_absent = False
                wake = await self.sync()
            except CrdGone:
                continue
            except (ApiException, aiohttp.ClientError, TimeoutError) as e:
                logger.warning("importing ClusterProfiles: %s; trying again in %.0f s", e, ERROR_PAUSE_S)
                await asyncio.sleep(ERROR_PAUSE_S)
                continue
            except Exception:
                # An import feeds the pool, it does not run it: a fault here must never stop the operator.
                logger.exception("importing ClusterProfiles failed; starting again in %.0f s", ERROR_PAUSE_S)
                await asyncio.sleep(ERROR_PAUSE_S)
                continue
            await asyncio.sleep(max(0.0, min(RESYNC_S, (wake - self.now()).total_seconds())))

    def _say(self, key: str, message: str) -> None:
        if key not in self._said:
            self._said.add(key)
            logger.warning("%s", message)

    def mapped(self, found: Sequence[ClusterProfile]) -> dict[str, tuple[ClusterProfile, ImportedIdentifier]]:
        """The identifiers the foreign profiles map to, by name; the unmappable are said once."""
        wanted: dict[str, tuple[ClusterProfile, ImportedIdentifier]] = {}
        for profile in found:
            if profile.manager == self.manager:
                continue
            where = f"{profile.metadata.namespace}/{profile.metadata.name}"
            try:
                imported = identifier_for(
                    profile, self.providers, namespace=self.hub.namespace, target_namespace=self.target_namespace
                )
            except NotImportable as e:
                self._say(f"{where}: {e}", f"ClusterProfile {where} is not imported: {e}")
                continue
            if imported.name in wanted:
                self._say(f"{where}: clash", f"ClusterProfile {where} maps to {imported.name}, as another does")
                continue
            wanted[imported.name] = (profile, imported)
        return wanted

    async def sync(self) -> dt.datetime:
        """One pass; returns when the next credential is due."""
        wanted = self.mapped(await self.profiles.list(""))
        existing = await self.hub.imported()
        wake = self.now() + dt.timedelta(seconds=RESYNC_S)
        for name, (profile, imported) in sorted(wanted.items()):
            if name not in existing:
                labels = await self.hub.identifier_labels(name)
                if labels is not None and IMPORTED_LABEL not in labels:
                    self._say(f"{name}: taken", f"ComputeIdentifier {name} exists and was not imported: left alone")
                    continue
            held = await self._credential(name, profile, imported)
            if held is None:
                continue
            # A plugin that keeps failing is asked again no sooner than every ERROR_PAUSE_S.
            wake = min(wake, max(held.refresh_at, self.now() + dt.timedelta(seconds=ERROR_PAUSE_S)))
            key = (held.credential, repr(imported.spec), repr(sorted(self.labels.items())))
            if self._applied.get(name) == key and name in existing:
                continue
            # The Secret first: the identifier then connects at once instead of waiting for it.
            await self.hub.apply_secret(imported, with_credential(imported.kubeconfig, held.credential))
            await self.hub.apply_identifier(imported, self.labels)
            if name not in existing:
                where = f"{profile.metadata.namespace}/{profile.metadata.name}"
                logger.info("ClusterProfile %s imported as ComputeIdentifier %s", where, name)
            self._applied[name] = key
        for name, source in sorted(existing.items()):
            if name in wanted:
                continue
            await self.hub.delete(name)
            self._held.pop(name, None)
            self._applied.pop(name, None)
            logger.info("ComputeIdentifier %s deleted: ClusterProfile %s is gone or no longer imported", name, source)
        return wake

    async def _credential(self, name: str, profile: ClusterProfile, imported: ImportedIdentifier) -> _Held | None:
        """The identifier's credential: the one held while still fresh and for the same access, else a new one."""
        held = self._held.get(name)
        now = self.now()
        if held is not None and held.kubeconfig == imported.kubeconfig and now < held.refresh_at:
            return held
        provider = imported.kubeconfig["users"][0]["name"]
        try:
            credential: Credential = await self.plugin(imported.kubeconfig, provider)
        except CredentialError as e:
            where = f"{profile.metadata.namespace}/{profile.metadata.name}"
            self._say(f"{where}: {e}", f"ClusterProfile {where}: no credential: {e}")
            return held  # the previous one, if any, until it ends
        held = _Held(imported.kubeconfig, credential, credential.refresh_at(now))
        self._held[name] = held
        return held
