"""``top``: capacity, allocated and free per pool, region and resource (cpu, memory, each model).

Read from the same snapshot placement decides on, so it counts what placement counts: the
schedulable nodes of Ready identifiers (cordoned, NotReady and condition-tainted nodes are left
out, as they are for placement), with resources just promised to placed tasks already allocated.
Capacity here is the nodes' allocatable; cpu is in cores, memory in GiB, accelerators in devices.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from computenet.cli.output import Column
from computenet.snapshot_export import SnapshotDocument, rebuild

GIB = 1024**3
COLUMNS = (
    Column("POOL", "pool"),
    Column("REGION", "region"),
    Column("RESOURCE", "resource"),
    Column("CAPACITY", "capacity"),
    Column("ALLOCATED", "allocated"),
    Column("FREE", "free"),
    Column("LARGEST-FREE-SLOT", "largestFreeSlot", wide=True),
    Column("IDENTIFIERS", "identifiers", wide=True),
)


def _amount(resource: str, value: int) -> float | int:
    if resource == "cpu":
        return round(value / 1000, 1)
    if resource == "memory":
        return round(value / GIB, 1)
    return value


def top(doc: SnapshotDocument) -> dict[str, Any]:
    """One row per (pool, region, resource), sorted; amounts in cores, GiB or devices."""
    snapshot = rebuild(doc)
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    members: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for pool in doc.pools:
        for name in pool.members:
            if name not in snapshot.index or not snapshot.identifier(name).ready:
                continue
            region = snapshot.identifier(name).region
            cap = snapshot.capacity(name)
            amounts: list[tuple[str, int, int, int | None]] = [
                (r, cap.allocatable[r], cap.free[r], None) for r in ("cpu", "memory")
            ]
            amounts += [(m.model, m.allocatable, m.free, m.largest_free_slot) for m in cap.accelerators]
            for resource, allocatable, free, largest in amounts:
                key = (pool.name, region, resource)
                row = rows.setdefault(key, {"capacity": 0, "free": 0, "largestFreeSlot": None})
                row["capacity"] += allocatable
                row["free"] += max(free, 0)
                if largest is not None:
                    row["largestFreeSlot"] = max(row["largestFreeSlot"] or 0, largest)
                members[key].add(name)
    out = []
    for (pool_name, region, resource), row in sorted(rows.items()):
        allocated = max(row["capacity"] - row["free"], 0)
        out.append(
            {
                "pool": pool_name,
                "region": region,
                "resource": resource,
                "capacity": _amount(resource, row["capacity"]),
                "allocated": _amount(resource, allocated),
                "free": _amount(resource, row["free"]),
                "largestFreeSlot": row["largestFreeSlot"],
                "identifiers": len(members[(pool_name, region, resource)]),
            }
        )
    return {"snapshot": doc.taken.isoformat(), "rows": out}
