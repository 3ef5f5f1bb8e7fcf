"""Leader election on a hub Lease: one operator replica works, the others wait to take over.

`election` holds the decisions (pure, clock passed in), `lease` talks to the hub's
coordination.k8s.io/v1 Lease API and runs them, `guard` keeps the elector on its own thread and
ends the process the moment leadership is lost, `standby` answers health and metrics while a
replica waits.
"""
