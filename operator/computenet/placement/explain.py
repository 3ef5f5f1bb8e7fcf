"""The one line a ComputeTask's status condition shows: how many identifiers fit, and why not.

Rejections are grouped by their phrase, largest group first, e.g.
"0/5 identifiers fit: 3 insufficient nvidia.com/gpu (NVIDIA-H100-80GB-HBM3) on any single node,
2 price above 4.00/h". The full per-identifier breakdown stays in the decision.
"""

from __future__ import annotations

from collections.abc import Sequence


def summarize(fitting: int, total: int, groups: Sequence[tuple[int, str]], chosen: str | None, score: float) -> str:
    rejected = ", ".join(f"{count} {phrase}" for count, phrase in groups)
    if chosen is not None:
        line = f"placed on {chosen} (score {score:.1f}); {fitting}/{total} identifiers fit"
        return f"{line}; rejected: {rejected}" if rejected else line
    if total == 0:
        return "0/0 identifiers fit: the pool has no identifiers"
    return f"{fitting}/{total} identifiers fit: {rejected}"
