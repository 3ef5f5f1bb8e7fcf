"""What becomes of an attempt whose identifier no longer leads to the member that runs it.

An identifier's connection can go while a task runs there: the identifier is deleted, its kubeconfig
Secret is deleted or broken, or its ``spec.connection`` now leads to another member. The connection
that carried the attempt is kept (``IdentifierSet.draining``) as long as it can still fence the
attempt's workload, so the work never runs in two places:

- deleted, or moved to another member, while the old member answers: a drain (the workload is
  removed through the kept connection first, then the attempt ends with ``IdentifierRemoved``);
- its Secret gone or broken: the lost-member path (the Secret may come back, as in a rotation, and
  the task goes on); when the grace period is over and the old member answers, its workload is
  removed first, then the attempt ends as lost;
- the old member cannot be reached (or a drain did not finish within the grace period): the
  lost-member path, and the kept connection removes the abandoned workload when the member answers
  again (fencing, ``is_stale``).
"""

from __future__ import annotations

from enum import StrEnum


class Leaving(StrEnum):
    """Why the current attempt's identifier cannot be used where the attempt runs."""

    DELETED = "deleted"
    """The identifier was deleted."""
    MOVED = "moved"
    """The identifier's connection now leads to another member than the one that runs the attempt."""
    UNUSABLE = "unusable"
    """No connection: its kubeconfig Secret is missing or broken."""
    UNREACHABLE = "unreachable"
    """Its connection is there, the member does not answer."""


class Step(StrEnum):
    """What the failover does for one active attempt."""

    DRAIN = "drain"
    """Remove the attempt's workloads through the kept connection, then end it (``Drained``)."""
    REMOVE_THEN_LOST = "remove-then-lost"
    """Remove the attempt's workloads through the kept connection, then say ``MemberLost`` (grace over)."""
    LOST = "lost"
    """Say ``MemberLost``: the lifecycle waits out the grace period, then applies the failover policy."""


def step_for(why: Leaving, kept_answers: bool, in_grace: bool) -> Step:
    """The step for an attempt whose identifier is unusable for the reason ``why``.

    ``kept_answers``: the connection that carried the attempt is kept and its member is reachable.
    ``in_grace``: the task's grace period (``spec.failover.gracePeriodSeconds``) since the loss began
    has not passed. A drain that could not finish within the grace period (the member refuses the
    deletes) falls back to the lost-member path; fencing removes the workload later.
    """
    if not kept_answers or why == Leaving.UNREACHABLE:
        return Step.LOST
    if why in (Leaving.DELETED, Leaving.MOVED):
        return Step.DRAIN if in_grace else Step.LOST
    return Step.LOST if in_grace else Step.REMOVE_THEN_LOST


def keep_connection(in_use: bool, answers: bool, synced: bool, must_go: int) -> bool:
    """Whether a kept connection of an identifier is still needed.

    ``in_use``: an active task's current attempt is on the identifier. ``answers`` and ``synced``:
    its member is reachable and its workload watch has listed. ``must_go``: workloads of the
    identifier its watch lists (as last seen, if the member stopped answering) that are stale
    (``is_stale``) or whose task is gone, not being deleted yet. Such a workload keeps the
    connection, reachable or not: it is removed when the member answers (fencing).
    """
    if in_use or must_go > 0:
        return True
    return answers and not synced
