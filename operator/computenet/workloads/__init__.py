"""Workload kinds: what a task can run, and what each kind means to placement and to its follower.

Placement never sees a kind: it sees pod sets (role, pod template, count), derived by each kind's
own rule (``podsets``). How the remote object's status reads as a task's phase is ``status``.
Both are pure, like placement: no Kubernetes client, no kopf.
"""
