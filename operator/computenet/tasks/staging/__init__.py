"""Staging a task's data, carried out by the operator: mover Jobs, init steps, replicas, progress.

The decisions are pure and table-tested: :mod:`.manifests` (the mover Job, the Secret copies, the
pods' data steps), :mod:`.transfers` (what a mover Job says), :mod:`.start` (the bound on a mover's
start), :mod:`.replicas` (a dataset's replicas, recorded and evicted), :mod:`.outputs` (what the
output pushes did, and their egress), :mod:`.sweep` (whose staging objects the orphan sweep removes).
:mod:`.stager` is the thin async shell the dispatcher and the follower call. docs/data.md tells the
whole flow.
"""
