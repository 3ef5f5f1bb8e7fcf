"""``kubectl computenet``: use the pool as if it were local, with the user's own kubeconfig.

Verbs: ``why`` (every identifier's verdict and the runners-up's scores), ``offers`` and ``accept``
(pin a suspended task to one offer), ``logs`` (the Job's pod logs, streamed from the member
through the operator's HTTPS endpoint), ``simulate`` (where tasks would go on the live or a saved
snapshot, dispatching nothing) and ``top`` (capacity, allocated and free per pool, model, region).

Exit codes, for scripts: 0 done, 1 an error (task not found, endpoint refused, ...), 2 bad usage.
"""
