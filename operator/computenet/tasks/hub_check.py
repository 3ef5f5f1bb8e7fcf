"""Asks the hub for Kubernetes' verdict on a task's workload, once per distinct object, off the scheduling path.

``verdict(spec, template, workload, on_ready)`` answers at once from a bounded LRU cache keyed by the
probe's digest (``tasks/hub_validation.py``), or starts one dry-run create on the hub (one per digest
however many tasks wait for it: a burst of 1,000 identical tasks costs one call) and returns None;
``on_ready`` is called when the verdict is in the cache, and the caller asks again. Every call ends
in a verdict: an answer, or ``unavailable`` after ``timeout_s`` or on any error, so no task waits
for ever. ``unavailable`` verdicts are kept ``UNAVAILABLE_TTL_S`` only, so a hub whose RBAC is fixed
is asked again soon; the first such answer is logged as a warning, and again only when the answer
changes, and every call is counted in ``computenet_hub_validations_total``.

The call needs ``create`` on the kind (``jobs``; ``deployments`` and ``statefulsets`` for tasks that
carry one; ``podtemplates`` for a kind the hub does not serve, whose roles are asked about one by
one, see ``hub_validation.role_probes``) in the operator's namespace of the hub, nothing else: a
dry run persists nothing and triggers no controller. The object is sent as JSON as it is, as dispatch sends it
(``dispatch/remote.py``): the client's typed models would refuse what the API server accepts.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from kubernetes.aio.client import ApiClient

from computenet.api.task import ComputeTaskSpec
from computenet.metrics import Metrics
from computenet.tasks.hub_validation import VALID, Probe, Result, Verdict, combined, key_of, probes_of, verdict_of

logger = logging.getLogger(__name__)

CACHE_SIZE = 4096
"""Distinct Jobs whose verdicts are kept (least recently used go first)."""
TIMEOUT_S = 10.0
"""A dry run not answered by then is no verdict: the task is placed without it (fail open)."""
UNAVAILABLE_TTL_S = 30.0
"""How long a missing verdict stands for its Job before the hub is asked again."""

_TRANSIENT = (aiohttp.ClientError, TimeoutError, OSError, asyncio.TimeoutError)


class HubCheck:
    def __init__(
        self,
        client: ApiClient,
        namespace: str,
        hub_id: str,
        metrics: Metrics,
        spawn: Callable[[Any, str], None],
        size: int = CACHE_SIZE,
        timeout_s: float = TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.namespace = namespace
        self.hub_id = hub_id
        self.metrics = metrics
        self.spawn = spawn
        self.size = size
        self.timeout_s = timeout_s
        self.clock = clock
        self.client = client
        self._cache: OrderedDict[str, tuple[Verdict, float]] = OrderedDict()
        self._waiting: dict[str, list[Callable[[], None]]] = {}
        self._keys: OrderedDict[str, str] = OrderedDict()
        """Digest of a spec as written -> the key of the object it renders (``verdict``'s ``written``)."""
        self._failing: int | str | None = None
        """What the last unavailable answer was (status, or "no answer"), so it is logged once."""

    def verdict(
        self,
        spec: ComputeTaskSpec,
        template: Mapping[str, Any],
        workload: Mapping[str, Any],
        on_ready: Callable[[], None],
        written: Mapping[str, Any] | None = None,
    ) -> Verdict | None:
        """The verdict on the object a task would dispatch, or None when it is asked for (then ``on_ready``).

        ``template`` and ``workload`` are the task's ``spec.template`` and ``spec.workload`` as written.
        ``written``, the task's whole ``spec`` as written when the caller has it, determines the
        object (the parsed spec is derived from it): a spec seen before finds its verdict without
        rendering the object again (a burst of tasks from one template renders it once).
        """
        seen = _digest(written) if written is not None else ""
        key = self._keys.get(seen, "") if seen else ""
        probes: tuple[Probe, ...] = ()
        if key:
            self._keys.move_to_end(seen)
        else:
            try:
                probes = probes_of(spec, template, workload, self.namespace, self.hub_id)
            except Exception:  # our own fault: the task goes on without the hub's verdict (fail open)
                logger.exception("the workload of a task could not be rendered for the hub's dry run")
                return VALID
            if not probes:  # admission refuses such a workload itself
                return VALID
            key = key_of(*probes)
            if seen:
                self._keys[seen] = key
                while len(self._keys) > self.size:
                    self._keys.popitem(last=False)
        cached = self._cached(key)
        if cached is not None:
            return cached
        waiters = self._waiting.get(key)
        if waiters is not None:
            waiters.append(on_ready)
            return None
        if not probes:  # its verdict expired: render the object again to ask
            del self._keys[seen]
            return self.verdict(spec, template, workload, on_ready)
        self._waiting[key] = [on_ready]
        self.spawn(self._ask(key, probes), f"hub dry run {key[:12]}")
        return None

    def _cached(self, key: str) -> Verdict | None:
        found = self._cache.get(key)
        if found is None:
            return None
        verdict, at = found
        if verdict.result is Result.UNAVAILABLE and self.clock() - at > UNAVAILABLE_TTL_S:
            del self._cache[key]
            return None
        self._cache.move_to_end(key)
        return verdict

    async def _ask(self, key: str, probes: tuple[Probe, ...]) -> None:
        try:
            verdict = combined([await self._dry_run(probe) for probe in probes])
        except asyncio.CancelledError:
            raise
        except Exception as e:  # our own fault: no verdict, and the task goes on
            logger.exception("hub dry run of a task's Job failed")
            verdict = verdict_of(None, None, f"operator error: {type(e).__name__}: {e}")
        self._store(key, verdict)
        self.metrics.hub_validations.labels(str(verdict.result)).inc()
        self._note(verdict)
        for ready in self._waiting.pop(key, ()):
            try:
                ready()
            except Exception:  # one task that cannot take its verdict must not keep it from the others
                logger.exception("a task could not take in the hub's verdict")

    async def _dry_run(self, probe: Probe) -> Verdict:
        kind = probe.kind
        base = f"/apis/{kind.group}/{kind.version}" if kind.group else f"/api/{kind.version}"
        try:
            status, raw = await asyncio.wait_for(
                self._post(f"{base}/namespaces/{self.namespace}/{kind.plural}", probe.manifest), self.timeout_s
            )
        except TimeoutError:
            return verdict_of(None, None, f"no answer within {self.timeout_s:.0f}s")
        except _TRANSIENT as e:
            return verdict_of(None, None, f"no answer ({type(e).__name__}: {e})")
        return verdict_of(status, _json(raw), f"HTTP {status}", probe)

    async def _post(self, path: str, body: Mapping[str, Any]) -> tuple[int, bytes]:
        """The dry-run create: (HTTP status, body). Raises what the transport raises."""
        method, url, headers, data, post = await self.client.param_serialize(
            "POST",
            path,
            query_params=[("dryRun", "All")],
            header_params={"Accept": "application/json", "Content-Type": "application/json"},
            body=dict(body),
            auth_settings=["BearerToken"],
        )
        response = await self.client.call_api(method, url, headers, data, post, _request_timeout=self.timeout_s)
        http: aiohttp.ClientResponse = response.response
        try:
            return http.status, await http.read()
        finally:
            http.release()

    def _store(self, key: str, verdict: Verdict) -> None:
        self._cache[key] = (verdict, self.clock())
        self._cache.move_to_end(key)
        while len(self._cache) > self.size:
            self._cache.popitem(last=False)

    def _note(self, verdict: Verdict) -> None:
        """Log the first missing verdict (and a change of answer), and the hub answering again."""
        if verdict.result is Result.UNAVAILABLE:
            kind = verdict.status if verdict.status is not None else "no answer"
            if kind != self._failing:
                logger.warning(
                    "the hub gave no verdict on a task's Job (%s); tasks are placed without Kubernetes' "
                    "validation until it does (fail open; the hub's RBAC must allow create on the workload's kind, "
                    "jobs or podtemplates for most, in %s)",
                    " ".join(str(verdict.answer).split()),  # one line: an API server's plain 404 ends in a newline
                    self.namespace,
                )
                self._failing = kind
        elif self._failing is not None:
            logger.info("the hub validates tasks' Jobs again")
            self._failing = None


def _digest(written: Mapping[str, Any]) -> str:
    """A digest of a task's spec as written (sha256 of its canonical JSON)."""
    canonical = json.dumps(written, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _json(raw: Any) -> Any:
    if isinstance(raw, (bytes, str)):
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return raw.decode(errors="replace")[:512] if isinstance(raw, bytes) else raw[:512]
    return raw
