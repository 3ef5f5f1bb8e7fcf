"""Accelerator: some node (of a suitable architecture) has the vendor or one of the any-of models.

With a minimum device memory, the model must also be large enough: the nominal size for models
in the accelerator table, the node's reported memory otherwise (see `accelerators`).
"""

from __future__ import annotations

import numpy as np

from computenet.placement import reasons
from computenet.placement.arrays import IntArray
from computenet.placement.context import Context
from computenet.placement.framework import PASS, Reason
from computenet.placement.slices import slice_kind

NO_MODEL, TOO_SMALL = 0, 1


def node_models(ctx: Context, ident: int) -> str:
    entries, _ = ctx.entries_of(np.array([ident]))
    model = ctx.snapshot.vocabulary.kind_columns[1][ctx.snapshot.entries.kind[entries]]
    names = {_described(*ctx.snapshot.vocabulary.models[int(m)]) for m in model if m}
    return ", ".join(sorted(names)) or "no accelerators"


def _described(resource: str | None, model: str | None) -> str:
    """A model as rejections name it, saying when its units are slices or replicas only a task asking for them gets."""
    kind = slice_kind(resource, model)
    if kind.partition is not None:
        return f"{model} ({resource} slices: partition {kind.partition})"
    if kind.shared:
        return f"{model} ({resource} shared replicas: sharing Shared)"
    return str(model)


class Accelerator:
    name = "Accelerator"

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        if not ctx.need.accelerators:
            return None
        model = ctx.snapshot.vocabulary.kind_columns[1]
        has_model = ctx.any_entry(ids, ctx.kind_arch_ok & ctx.model_ok[model])
        has_memory = ctx.any_entry(ids, ctx.kind_arch_ok & ctx.kind_accelerator_ok)
        return np.where(has_memory, PASS, np.where(has_model, TOO_SMALL, NO_MODEL))

    def reason(self, ctx: Context, code: int) -> Reason:
        if code == TOO_SMALL:
            minimum = ctx.demand.accelerators.min_memory_mib if ctx.demand.accelerators else 0
            return Reason(reasons.ACCELERATOR_MEMORY_TOO_SMALL, f"{ctx.device_label} below {minimum} MiB")
        return Reason(reasons.ACCELERATOR_MISMATCH, f"no {ctx.device_label}")

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        return [f"its schedulable nodes offer {node_models(ctx, i)}" for i in ids.tolist()]
