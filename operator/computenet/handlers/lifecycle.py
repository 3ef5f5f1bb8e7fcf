"""Operator start and stop: kopf settings and the Runtime every other handler uses."""

from __future__ import annotations

import logging
import os
from typing import Any

import kopf

from computenet.api.constants import GROUP
from computenet.handlers.diffbase import UidBoundDiffBaseStorage
from computenet.runtime import Runtime
from computenet.settings import Settings


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # Handler progress lives in annotations, so status belongs to the operator's own writers.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = UidBoundDiffBaseStorage(prefix=GROUP, key="last-handled-configuration")
    settings.persistence.finalizer = f"{GROUP}/kopf"
    settings.posting.level = logging.INFO
    settings.watching.server_timeout = 270
    settings.watching.client_timeout = 300
    settings.batching.worker_limit = 200
    op_settings: Settings = memo["settings"]
    runtime = await Runtime.start(op_settings)
    # kopf starts only in the active replica (see computenet.__main__): this one leads.
    runtime.metrics.leader.set(1)
    memo["runtime"] = runtime


@kopf.on.login()
def login(settings: kopf.OperatorSettings, memo: kopf.Memo, **kwargs: Any) -> kopf.ConnectionInfo | None:
    """The hub's credentials: the configured kubeconfig, else $KUBECONFIG, else the pod's ServiceAccount."""
    op_settings: Settings = memo["settings"]
    if op_settings.kubeconfig:
        os.environ["KUBECONFIG"] = op_settings.kubeconfig
    if os.environ.get("KUBECONFIG"):
        return kopf.login_with_kubeconfig(settings=settings, **kwargs)
    return kopf.login_with_service_account(settings=settings, **kwargs)


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    runtime: Runtime | None = memo.get("runtime")
    if runtime is not None:
        await runtime.stop()
