"""The one line a ComputeTask's status condition shows: how many identifiers fit, and why not.

Rejections are grouped by their phrase, largest group first, e.g.
"0/5 identifiers fit: 3 insufficient nvidia.com/gpu (NVIDIA-H100-80GB-HBM3) on any single node,
2 price above 4.00/h". The full per-identifier breakdown stays in the decision.

A task of several variants (or a compute request, whose choices are models) is placed with the
one that scores best; the line names it ("placed on member-2 with variant mi300x ...") or, when none
fits, says what each variant lacks ("0/3 identifiers fit any variant: variant h100: 3 insufficient
...; variant mi300x: 3 no amd.com/gpu").

Constraints of the pod template that placement cannot evaluate are never silently dropped: the
line ends with them, e.g. "...; not evaluated by placement: podAntiAffinity, topologySpreadConstraints".
"""

from __future__ import annotations

from collections.abc import Sequence


def caveat(unevaluated: Sequence[str]) -> str:
    """The line's tail "not evaluated by placement: a, b", or "" when placement evaluated everything."""
    return f"not evaluated by placement: {', '.join(unevaluated)}" if unevaluated else ""


def summarize(
    fitting: int,
    total: int,
    groups: Sequence[tuple[int, str]],
    chosen: str | None,
    score: float,
    unevaluated: Sequence[str] = (),
) -> str:
    rejected = ", ".join(f"{count} {phrase}" for count, phrase in groups)
    if chosen is not None:
        line = f"placed on {chosen} (score {score:.1f}); {fitting}/{total} identifiers fit"
        line = f"{line}; rejected: {rejected}" if rejected else line
    elif total == 0:
        line = "0/0 identifiers fit: the pool has no identifiers"
    else:
        line = f"{fitting}/{total} identifiers fit: {rejected}"
    note = caveat(unevaluated)
    return f"{line}; {note}" if note else line


def summarize_variants(
    fitting: int,
    total: int,
    groups: Sequence[tuple[int, str]],
    per_variant: Sequence[tuple[str, Sequence[tuple[int, str]]]],
    chosen: str | None,
    label: str,
    score: float,
    unevaluated: Sequence[str] = (),
) -> str:
    """The line for a task of several variants: `groups` are identifiers no variant fits, `per_variant` each's own."""
    if chosen is not None:
        line = summarize(fitting, total, groups, f"{chosen} with {label}", score)
    elif total == 0:
        line = summarize(0, 0, (), None, 0.0)
    else:
        said = "; ".join(
            f"{name}: {', '.join(f'{count} {phrase}' for count, phrase in found) or 'fits'}"
            for name, found in per_variant
        )
        named = any(name.startswith("variant ") for name, _ in per_variant)
        fit = "any variant" if named else "with any model meeting the request"
        line = f"{fitting}/{total} identifiers fit {fit}: {said}"
    note = caveat(unevaluated)
    return f"{line}; {note}" if note else line
