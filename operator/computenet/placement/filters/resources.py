"""Resources: the gang's replicas find slots on the nodes of this one identifier (see `fit`).

A rejection names the most specific shortage, checked in this order: not enough of a resource
in total over the suitable nodes ("insufficient nvidia.com/gpu in total"); enough in total but
not on any single node, i.e. fragmentation ("... on any single node"); every resource on some
node but not together on one; or, for a gang, fewer slots than replicas. Pod slots (allocatable
``pods`` less the pods bound there, kube-scheduler's "Too many pods") are a resource like the
others, each replica needing one, and named first when short, as kube-scheduler does.
"""

from __future__ import annotations

import numpy as np

from computenet.placement import fit, reasons
from computenet.placement.arrays import BoolArray, IntArray, gather
from computenet.placement.context import NO_FIT, Context
from computenet.placement.framework import PASS, Reason
from computenet.placement.resources import cores, gib

TOTAL, NODE, GANG, TOGETHER, NO_NODE = 0, 4, 8, 9, 10
"""TOTAL and NODE are followed by the resource: + 0 devices, + 1 cpu, + 2 memory, + 3 pod slots."""


def _amount(r: int, value: int) -> str:
    return cores(value) if r == 1 else gib(value) if r == 2 else str(value)


class Resources:
    name = "Resources"

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        fit.ensure(ctx, ids)
        failed = ctx.fit_model[ids] == NO_FIT
        codes = np.full(len(ids), PASS)
        if failed.any():
            codes[failed] = self._classify(ctx, ids[failed])
        return codes

    @staticmethod
    def _classify(ctx: Context, ids: IntArray) -> IntArray:
        short = fit.shortfall(ctx, ids)
        need = fit.needs(ctx)
        codes = np.full(len(ids), GANG if ctx.replicas > 1 else TOGETHER)
        # Later assignments win: pod slots (kube-scheduler checks them first: "Too many pods"; a node
        # without one also shows nothing else free), then devices, cpu, memory.
        for r in (2, 1, 0, 3):
            if need[r]:
                codes = np.where(short.largest[r] < need[r], NODE + r, codes)
        for r in (2, 1, 0, 3):  # a shortage in total is more telling than fragmentation
            if need[r]:
                codes = np.where(short.free[r] < ctx.replicas * need[r], TOTAL + r, codes)
        return np.where(short.nodes == 0, NO_NODE, codes)

    @staticmethod
    def _name(ctx: Context, r: int) -> str:
        return (ctx.device_label, "cpu", "memory", "pod slots")[r]

    def reason(self, ctx: Context, code: int) -> Reason:
        if TOTAL <= code < NODE:
            return Reason(reasons.INSUFFICIENT_RESOURCE, f"insufficient {self._name(ctx, code - TOTAL)} in total")
        if NODE <= code < GANG:
            return Reason(reasons.FRAGMENTED, f"insufficient {self._name(ctx, code - NODE)} on any single node")
        if code == GANG:
            return Reason(reasons.GANG_DOES_NOT_FIT, f"gang of {ctx.replicas} does not fit on the nodes")
        if code == TOGETHER:
            wanted = "cpu, memory and " + ctx.device_label if ctx.need.accelerators else "cpu and memory"
            return Reason(reasons.FRAGMENTED, f"no single node has the {wanted} together")
        return Reason(reasons.NO_SUITABLE_NODE, "no node suits architecture, accelerator and tolerations at once")

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        short = fit.shortfall(ctx, ids)
        held: BoolArray = np.any(ctx.overlay.assumed(ids) > 0, axis=1)
        return [
            self._detail(ctx, short, k, int(i), int(c), bool(h))
            for k, (i, c, h) in enumerate(zip(ids.tolist(), codes.tolist(), held.tolist(), strict=True))
        ]

    @staticmethod
    def _detail(ctx: Context, short: fit.Shortfall, k: int, ident: int, code: int, held: bool) -> str:
        model = int(short.model[k])
        resource = ctx.snapshot.vocabulary.models[model][0] or "devices"
        served = _served_by(ctx, ident, resource) if 0 <= code < GANG and code % 4 == 0 else ""
        name = (f"{resource} ({ctx.snapshot.vocabulary.model_name(model)})", "cpu", "memory", "pod slots")
        need = fit.needs(ctx)
        assumed = " after reservations assumed for pending tasks" if held else ""
        if TOTAL <= code < NODE:
            r = code - TOTAL
            free, wanted = _amount(r, int(short.free[r][k])), _amount(r, ctx.replicas * need[r])
            nodes = int(short.nodes[k])
            on = f"on {nodes} suitable node{'' if nodes == 1 else 's'}"
            return f"{free} {name[r]} free in total {on}{assumed}, the task needs {wanted}{served}"
        if NODE <= code < GANG:
            r = code - NODE
            largest, free = _amount(r, int(short.largest[r][k])), _amount(r, int(short.free[r][k]))
            head = f"at most {largest} {name[r]} free on one node ({free} in total){assumed}"
            return f"{head}, a replica needs {_amount(r, need[r])}{served}"
        if code == GANG:
            return f"at most {int(ctx.fit_upper[ident])} of {ctx.replicas} replicas fit on its nodes{assumed}"
        if code == TOGETHER:
            parts = [f"{_amount(r, need[r])} {name[r]}" for r in (1, 2, 0) if need[r]]
            return f"no node has {', '.join(parts)} free at once{assumed}"
        return "no schedulable node suits the task's architecture, accelerator and tolerations at once"


def _served_by(ctx: Context, ident: int, resource: str) -> str:
    """What a device shortfall adds when DRA devices serve `resource` on the identifier's nodes (KEP-5004).

    "; nvidia.com/gpu is served by DRA devices of DeviceClass gpu on 2 nodes"; "" when every unit is
    a device plugin's (and at no cost when no node of the snapshot has its resource served by DRA).
    """
    served = ctx.snapshot.nodes.served
    if not served:
        return ""
    e = ctx.snapshot.entries
    entries, _ = ctx.entries_of(np.array([ident], dtype=np.int64))
    rows, _ = gather(e.indptr, e.rows, entries)
    classes: dict[str, int] = {}
    for row in rows.tolist():
        found = served.get(row)
        if found is not None and found.resource == resource:
            classes[found.device_class] = classes.get(found.device_class, 0) + 1
    if not classes:
        return ""
    named = ", ".join(f"DeviceClass {c} on {n} node{'' if n == 1 else 's'}" for c, n in sorted(classes.items()))
    return f"; {resource} is served by DRA devices of {named}"
