"""The data's ETA and cost per identifier, as the verbs print them next to the compute price.

Rows carry the status fields as they are (``dataBytes``, ``dataTransferSeconds``, ``dataCost``,
``dataCurrency``; absent ETA or cost means unknown); this module turns them into two cells and adds
the two columns only when some row has data to move, so a task without data prints as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from computenet.cli.output import Column

ETA, COST = "dataEta", "dataCostText"
UNKNOWN = "?"


def eta(seconds: float) -> str:
    """A duration as kubectl prints ages: "0s", "<1s", "45s", "13m32s", "2h05m"."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return "<1s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def cells(row: Mapping[str, Any]) -> dict[str, str]:
    """The two cells of one row; {} for a row without data to move."""
    if row.get("dataBytes") is None:
        return {}
    seconds, cost = row.get("dataTransferSeconds"), row.get("dataCost")
    return {
        ETA: UNKNOWN if seconds is None else eta(float(seconds)),
        COST: UNKNOWN if cost is None else f"{float(cost):.2f} {row.get('dataCurrency') or ''}".strip(),
    }


def columns(rows: Sequence[Mapping[str, Any]], wide: bool = False) -> list[Column]:
    """DATA ETA and DATA COST, when any row has data to move; none otherwise."""
    if not any(row.get("dataBytes") is not None for row in rows):
        return []
    return [Column("DATA ETA", ETA, wide=wide), Column("DATA COST", COST, wide=wide)]
