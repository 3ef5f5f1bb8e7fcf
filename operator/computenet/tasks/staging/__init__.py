"""Staging a task's data, carried out by the operator: mover Jobs, init steps, replicas, progress.

The decisions are pure and table-tested: :mod:`.manifests` (the mover Job, the Secret copies, the
pods' data steps), :mod:`.transfers` (what a mover Job says), :mod:`.replicas` (a dataset's replicas,
recorded and evicted). :mod:`.stager` is the thin async shell the dispatcher calls. docs/data.md
tells the whole flow.
"""
